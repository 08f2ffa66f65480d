#!/usr/bin/env bash
# Instructions per warm check-token invocation, counted by callgrind in the function's process
# behind a local Runtime API: repeatable on a shared machine, where CPU time moves by ±20%.
# (instructions after LONG invocations - after SHORT) / (LONG - SHORT), for each case:
# the template's rules, 50 routes all granted, 50 rules with one granted, each with an HS256
# token, and the template's rules with an ES256 one; then the cold start, exec to the second
# answer, with each algorithm.
#
#   scripts/warm-instructions.sh [BINARY]    (default: the release check-token cargo builds)
#
# Needs valgrind (Debian: apt-get install valgrind) and the warm_invocations example
# (`make bench` builds both the binary and the example).
set -euo pipefail

target=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')
binary=$(realpath "${1:-$target/release/check-token}")
driver="$target/release/examples/warm_invocations"
SHORT=${SHORT:-200}
LONG=${LONG:-1200}

command -v valgrind >/dev/null || { echo "valgrind is missing: apt-get install valgrind"; exit 1; }
[ -x "$binary" ] || { echo "no $binary: cargo build --release -p check-token"; exit 1; }
[ -x "$driver" ] || { echo "no $driver: cargo build --release -p check-token --example warm_invocations"; exit 1; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# Instructions over N invocations with RULES. The Runtime API ends the function with SIGKILL,
# which callgrind cannot report; so valgrind runs as the wrapper's child, outlives the kill,
# finds the Runtime API gone, exits, and writes its counts.
count() {
  local n=$1 rules=$2 out="$work/out.$1.${SIGNING:-HS256}"
  printf '#!/bin/sh\nvalgrind --tool=callgrind --callgrind-out-file=%s %s\n' "$out" "$binary" >"$work/wrap"
  chmod +x "$work/wrap"
  CHECK_TOKEN_BIN="$work/wrap" ROUTE_RULES="$rules" "$driver" "$n" >/dev/null 2>&1
  for _ in $(seq 60); do
    grep -q '^totals:' "$out" 2>/dev/null && break
    sleep 0.5
  done
  awk '/^totals:/ {print $2}' "$out"
}

fifty() { # 49 routes GET /resourceN/{id} for role $1, and GET /hello for readers
  for i in $(seq 0 48); do printf 'GET /resource%s/{id} %s; ' "$i" "$1"; done
  printf 'GET /hello reader'
}

template="GET /hello *; GET /admin admin"
for case in "HS256|the template's rules|$template" \
            "HS256|50 routes, all granted|$(fifty reader)" \
            "HS256|50 routes, one granted|$(fifty admin)" \
            "ES256|the template's rules|$template"; do
  export SIGNING=${case%%|*}
  rest=${case#*|} name=${rest%%|*} rules=${rest#*|}
  short=$(count "$SHORT" "$rules")
  long=$(count "$LONG" "$rules")
  printf '%s %-24s %s instructions per warm invocation\n' "$SIGNING" "$name:" $(((long - short) / (LONG - SHORT)))
done
for SIGNING in HS256 ES256; do
  export SIGNING
  printf '%s %-24s %s instructions, exec to the second answer\n' "$SIGNING" "cold start:" "$(count 1 "$template")"
done
