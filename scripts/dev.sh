#!/usr/bin/env bash
# make dev: the whole stack locally, like API Gateway, without Docker or an AWS account.
# API=rest (the default) serves the template's REST API; API=http its HTTP API.
# SIGNING=HS256 (the default) signs with a shared secret; SIGNING=ES256 with a P-256 key, and
# the stack then serves its key set and discovery document under /.well-known/.
# AUTHORIZER=lambda (the default) guards the routes with check-token; AUTHORIZER=jwt (with API=http
# and SIGNING=ES256) with API Gateway's JWT authorizer, as the template's JwtAuthorizer=on does.
# A DynamoDB-compatible server (moto, unless AWS_ENDPOINT_URL_DYNAMODB points at one already),
# the tables, a demo user, a local signing key and lockout key in .env, the local gateway, and the
# sign-in page (web/) on its own origin, which the gateway's AllowedOrigins allows.
# Ctrl-C stops everything it started.
set -euo pipefail
cd "$(dirname "$0")/.."

# The binaries are wherever cargo builds (CARGO_TARGET_DIR, .cargo/config.toml or ./target).
if [ -z "${DEV_BIN_DIR:-}" ]; then
  DEV_BIN_DIR="$(cargo metadata --format-version 1 --no-deps |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')/debug"
fi
BIN=$DEV_BIN_DIR
API=${API:-rest}
case "$API" in
  rest|http) ;;
  *) echo "dev: API=$API: use API=rest (the REST API) or API=http (the HTTP API)" >&2; exit 2 ;;
esac
SIGNING=${SIGNING:-HS256}
case "$SIGNING" in
  HS256|ES256) ;;
  *) echo "dev: SIGNING=$SIGNING: use SIGNING=HS256 or SIGNING=ES256" >&2; exit 2 ;;
esac
AUTHORIZER=${AUTHORIZER:-lambda}
case "$AUTHORIZER:$API:$SIGNING" in
  lambda:*|jwt:http:ES256) ;;
  jwt:*) echo "dev: AUTHORIZER=jwt needs API=http SIGNING=ES256 (API Gateway's JWT authorizer is the HTTP API's, and checks public keys)" >&2; exit 2 ;;
  *) echo "dev: AUTHORIZER=$AUTHORIZER: use AUTHORIZER=lambda or AUTHORIZER=jwt" >&2; exit 2 ;;
esac
PORT=${DEV_PORT:-3000}
# The sign-in page (web/) is served on its own origin, which the local stack allows.
WEB_PORT=${DEV_WEB_PORT:-8000}
ENV_FILE=${DEV_ENV_FILE:-.env}
DEMO_EMAIL=${DEV_DEMO_EMAIL:-demo@example.com}
ADMIN_EMAIL=${DEV_ADMIN_EMAIL:-admin@example.com}
VENV_BIN="$PWD/.venv/bin"
for tool in "$BIN/authctl" "$BIN/local-gateway" "$BIN/local-moto" "$BIN/check-token" "$BIN/authenticate" "$BIN/hello"; do
  [ -x "$tool" ] || { echo "dev: $tool is missing: run 'make dev' (it builds them)" >&2; exit 1; }
done

pids=()
cleanup() {
  trap - EXIT INT TERM
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# The local signing, lockout and refresh keys: each generated once, kept out of git (.gitignore).
(umask 077; touch "$ENV_FILE")
for key in JWT_SECRET LOCKOUT_KEY REFRESH_KEY; do
  if ! grep -q "^$key=" "$ENV_FILE"; then
    echo "$key=$("$BIN/authctl" secret generate)" >> "$ENV_FILE"
    echo "dev: wrote a new $key to $ENV_FILE"
  fi
done
# The ES256 key, a PEM in single quotes (several lines).
if ! grep -q "^JWT_ES256_KEY=" "$ENV_FILE"; then
  echo "JWT_ES256_KEY='$("$BIN/authctl" signing-key generate --algorithm ES256)'" >> "$ENV_FILE"
  echo "dev: wrote a new JWT_ES256_KEY to $ENV_FILE"
fi
set -a; . "$ENV_FILE"; set +a
URL="http://127.0.0.1:$PORT"
# The template's parameters for this run: the page's origin is added below.
overrides=(--parameter-overrides "SigningAlgorithm=$SIGNING")
if [ "$SIGNING" = ES256 ]; then
  export JWT_SECRET="$JWT_ES256_KEY"
  # The issuer is the URL that serves /.well-known/openid-configuration: this gateway.
  overrides+=(--parameter-overrides "JwtIssuer=$URL")
fi
[ "$AUTHORIZER" = jwt ] && overrides+=(--parameter-overrides "JwtAuthorizer=on" --authorizer jwt)
unset JWT_ES256_KEY

export AWS_ACCESS_KEY_ID=${AWS_ACCESS_KEY_ID:-test} AWS_SECRET_ACCESS_KEY=${AWS_SECRET_ACCESS_KEY:-test}
export AWS_REGION=${AWS_REGION:-us-east-1} AWS_EC2_METADATA_DISABLED=true
if [ -z "${AWS_ENDPOINT_URL_DYNAMODB:-}" ]; then
  [ -x "$VENV_BIN/moto_server" ] || { echo "dev: moto_server is missing: run 'make venv'" >&2; exit 1; }
  # The tests' launcher (testkit's local-moto): a free port, ready once it answers HTTP, and
  # stopped when this script's end closes its standard input.
  coproc MOTO { exec "$BIN/local-moto"; }
  pids+=("$MOTO_PID")
  read -r -t 60 endpoint <&"${MOTO[0]}" || { echo "dev: moto_server did not start" >&2; exit 1; }
  export AWS_ENDPOINT_URL_DYNAMODB="$endpoint"
  # moto is slower than DynamoDB: more than the deployed one-second budget per call.
  export DYNAMODB_TIMEOUT_MS=${DYNAMODB_TIMEOUT_MS:-5000}
  echo "dev: moto_server (DynamoDB) on $AWS_ENDPOINT_URL_DYNAMODB"
else
  echo "dev: using the DynamoDB at $AWS_ENDPOINT_URL_DYNAMODB"
fi

# Locally, the template's tables are named after their logical ids.
export USERS_TABLE=UsersTable ATTEMPTS_TABLE=AttemptsTable SESSIONS_TABLE=SessionsTable
"$BIN/authctl" table create >/dev/null
# A reader, who may call /hello, and an admin, who may call /admin too (ROUTE_RULES).
demo_user() { # EMAIL NAME ROLE: prints a fresh password
  local password
  password=$("$BIN/authctl" secret generate | cut -c1-16)
  if "$BIN/authctl" user list | grep -q "\"email\":\"$1\""; then
    echo "$password" | "$BIN/authctl" user passwd "$1" >/dev/null
  else
    echo "$password" | "$BIN/authctl" user add "$1" --name "$2" --role "$3" >/dev/null
  fi
  echo "$password"
}
DEMO_PASSWORD=$(demo_user "$DEMO_EMAIL" "Demo User" reader)
ADMIN_PASSWORD=$(demo_user "$ADMIN_EMAIL" "Demo Admin" admin)

PAGE_ORIGIN="http://127.0.0.1:$WEB_PORT"
# The page's configuration names this API; its server's CSP lets it connect there only.
# DEV_WEB_DIR: where the page is served from (a copy of web/ in the tests).
WEB_DIR=${DEV_WEB_DIR:-web}
echo "{\"api\": \"$URL\"}" > "$WEB_DIR/config.json"
"$VENV_BIN/python" scripts/serve_page.py "$WEB_PORT" "$WEB_DIR" >/dev/null 2>&1 &
pids+=($!)
cat <<MSG

Serving the template's ${API^^} API (make dev API=$([ "$API" = rest ] && echo http || echo rest) serves the other one)$([ "$AUTHORIZER" = jwt ] && echo ", its routes guarded by API Gateway's JWT authorizer (no check-token)").
Demo user: $DEMO_EMAIL
Password:  $DEMO_PASSWORD
Admin user: $ADMIN_EMAIL (may also call /admin)
Admin password: $ADMIN_PASSWORD

Try, in another terminal:
  TOKEN=\$(curl -s -X POST $URL/token -H 'content-type: application/json' -d '{"email":"$DEMO_EMAIL","password":"$DEMO_PASSWORD"}' | sed -E 's/.*"access_token":"([^"]+)".*/\1/')
  curl -s $URL/hello -H "Authorization: Bearer \$TOKEN"
  curl -s -i $URL/hello
  curl -s -i $URL/admin -H "Authorization: Bearer \$TOKEN"     # 403: only admins may call it

Or sign in from a browser: $PAGE_ORIGIN/
$([ "$SIGNING" = ES256 ] && echo "
Tokens are ES256 (make dev SIGNING=HS256 for a shared secret); anyone can verify them with
  curl -s $URL/.well-known/openid-configuration
  curl -s $URL/.well-known/jwks.json")

MSG
# The functions' metrics (the EMF lines among their logs), summed every DEV_METRICS_SUMMARY
# seconds (default 30; 0: never), as an operator would see them on the dashboard.
"$BIN/local-gateway" --api "$API" --bin-dir "$BIN" --port "$PORT" \
  --parameter-overrides "AllowedOrigins=$PAGE_ORIGIN" "${overrides[@]}" \
  --metrics-summary "${DEV_METRICS_SUMMARY:-30}" &
pids+=($!)
wait "${pids[-1]}"
