# Every target installs what it needs; nothing is assumed about the machine beyond Rust and Python 3.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# Tests never reach AWS: dummy credentials, no instance metadata lookups.
export AWS_ACCESS_KEY_ID ?= test
export AWS_SECRET_ACCESS_KEY ?= test
export AWS_REGION ?= us-east-1
export AWS_EC2_METADATA_DISABLED := true
export SAM_CLI_TELEMETRY := 0
# The project's tools come first on PATH (moto_server, cargo-lambda, zig, cfn-lint, sam).
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)

FUNCTIONS := check-token authenticate hello
# The stripped check-token package may not grow past this (7.05 MB: 5.5 MB of code, the unwind
# tables that let a panicking handler fail one invocation instead of ending the process, the
# metrics, and ES256 with its public JWKs, 38 KB; README, 'What the binaries are made of').
CHECK_TOKEN_MAX_BYTES := 7050000
# Where cargo builds, as cargo itself says (CARGO_TARGET_DIR, .cargo/config.toml or ./target).
TARGET_DIR = $(shell cargo metadata --format-version 1 --no-deps | $(PY) -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')

.PHONY: browser fuzz dev load scan test test-deployed lint template package size build build-bins bench venv clean

## make dev: the whole stack locally on http://127.0.0.1:3000 (Ctrl-C stops it): the template's
## REST API, or its HTTP API with `make dev API=http`; HS256 tokens, or ES256 ones with their
## key set and discovery document with `make dev SIGNING=ES256`; the HTTP API behind API Gateway's
## JWT authorizer instead of check-token with `make dev API=http AUTHORIZER=jwt SIGNING=ES256`.
API ?= rest
SIGNING ?= HS256
AUTHORIZER ?= lambda
dev: venv build-bins
	@API=$(API) SIGNING=$(SIGNING) AUTHORIZER=$(AUTHORIZER) bash scripts/dev.sh

## make test: formatting, lints, template checks, packaging, every unit, integration and
## end-to-end test. What CI runs.
## Compiling comes first; running the tests then has TEST_MINUTES (default 30; they take 3 to 10),
## so that a test that hangs fails the run with its name on screen instead of using up CI's hour.
TEST_MINUTES ?= 30
test: venv lint template scan build-bins package build browser
	cargo test --workspace --locked --no-run
	@# Off a terminal (CI), timeout runs the tests in their own process group and stops them all;
	@# at a terminal it stays in the foreground, so that Ctrl-C still reaches every test.
	@fg=; if [ -t 0 ]; then fg=--foreground; fi; rc=0; \
	  timeout $$fg --kill-after=30s $(TEST_MINUTES)m cargo test --workspace --locked || rc=$$?; \
	  if [ $$rc -eq 124 ] || [ $$rc -eq 137 ]; then echo "make test: the tests did not finish within $(TEST_MINUTES) minutes;" \
	    "a test hangs: libtest names it above ('has been running for over 60 seconds')"; fi; exit $$rc

## make test-deployed: the end-to-end checks against a deployed stack
## (API_URL=... EMAIL=... PASSWORD=... make test-deployed, as a user who is no admin; add API=http
## with the HttpApiUrl output, ADMIN_EMAIL=... ADMIN_PASSWORD=... for an admin, ORIGIN=... for the
## CORS checks of a stack deployed with AllowedOrigins; JWT_API_URL=... with the JwtHttpApiUrl output
## of a stack deployed with JwtAuthorizer=on).
test-deployed: build-bins venv
	API=$(API) cargo test --locked --test gateway -- --ignored a_deployed_stack_behaves_the_same
	cargo test --locked --test discovery -- --ignored a_deployed_stack_publishes_what_verifies_its_tokens

## make template: cfn-lint and sam validate --lint, both offline.
template: venv
	cfn-lint template.yaml monitoring.yaml jwt-api.yaml
	sam validate --lint

## make scan: checkov's security scan of template.yaml, offline. Every finding is fixed or skipped
## in the template, next to its resource, with a one-line reason (Metadata.checkov.skip);
## `tests/template_contract.py` refuses a skip without one.
CHECKOV_VENV := $(VENV)/checkov
CHECKOV_STAMP := $(CHECKOV_VENV)/.installed
scan: $(CHECKOV_STAMP)
	$(CHECKOV_VENV)/bin/checkov --file template.yaml --file monitoring.yaml --file jwt-api.yaml --framework cloudformation --skip-download \
	  --quiet --compact --output cli
$(CHECKOV_STAMP): requirements-checkov.txt
	@test -x $(CHECKOV_VENV)/bin/python || python3 -m venv $(CHECKOV_VENV)
	@$(CHECKOV_VENV)/bin/python -m pip install --quiet --disable-pip-version-check -r requirements-checkov.txt
	@touch $@

## make package: the Lambda packages (bootstrap binaries) for this machine's architecture, as
## cargo lambda builds them; needs no cross-compilation standard library.
package: venv
	cargo lambda build --release --locked $(addprefix --bin ,$(FUNCTIONS))
	@dir="$(TARGET_DIR)"; for f in $(FUNCTIONS); do test -x "$$dir/lambda/$$f/bootstrap" || { echo "no bootstrap for $$f in $$dir/lambda"; exit 1; }; \
	  printf '%-14s %s bytes\n' "$$f" "$$(stat -c %s "$$dir/lambda/$$f/bootstrap")"; done
	@# The authorizer's size budget (README, Performance): a dependency that breaks it shows here.
	@size=$$(stat -c %s "$(TARGET_DIR)/lambda/check-token/bootstrap"); test "$$size" -le $(CHECK_TOKEN_MAX_BYTES) || { \
	  echo "check-token is $$size bytes, over its budget of $(CHECK_TOKEN_MAX_BYTES): see README, 'What the binaries are made of'"; exit 1; }

## make size: each function's stripped Lambda package binary, in bytes (what make package prints).
size: package

## make build: what `sam deploy` ships: arm64 release builds through SAM and cargo-lambda (zig),
## in .aws-sam/build. Adds the arm64 standard library with rustup when it is missing.
build: venv
	@rustup target list --installed | grep -qx aarch64-unknown-linux-gnu || { \
	  echo "adding the arm64 standard library: rustup target add aarch64-unknown-linux-gnu"; \
	  rustup target add aarch64-unknown-linux-gnu; }
	sam build

lint:
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets --locked -- -D warnings
	@# No dependency that nothing uses.
	@command -v cargo-machete >/dev/null || cargo install --locked --quiet cargo-machete@0.9.2
	cargo machete
	@# The authorizer must stay free of the DynamoDB SDK.
	@if cargo tree -p check-token -e normal --prefix none --locked | grep -q '^aws-sdk-dynamodb'; then \
	  echo "check-token depends on aws-sdk-dynamodb: keep DynamoDB code out of the authorizer"; exit 1; fi
	@# authcore knows no Lambda event types; the admin CLI links no Lambda runtime.
	@if cargo tree -p authcore -e normal --prefix none --locked | grep -q '^aws_lambda_events'; then \
	  echo "authcore depends on aws_lambda_events: keep the authorizer's wire code in check-token"; exit 1; fi
	@if cargo tree -p authctl -e normal --prefix none --locked | grep -qE '^lambda_(http|runtime) '; then \
	  echo "authctl links a Lambda runtime: keep what it shares with the functions in library crates"; exit 1; fi

## make browser: Chromium and chromedriver for the browser test (Debian's chromium and
## chromium-driver), installed with apt-get when missing and allowed (root or passwordless sudo).
## CHROMIUM and CHROMEDRIVER point the test at others.
CHROMIUM ?= /usr/bin/chromium
CHROMEDRIVER ?= /usr/bin/chromedriver
export CHROMIUM CHROMEDRIVER
browser:
	@if [ -x "$(CHROMIUM)" ] && [ -x "$(CHROMEDRIVER)" ]; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ]; then sudo=""; elif sudo -n true 2>/dev/null; then sudo="sudo -n"; else \
	  echo "Chromium is missing for the browser test: sudo apt-get install chromium chromium-driver (or set CHROMIUM and CHROMEDRIVER)"; exit 1; fi; \
	command -v apt-get >/dev/null || { echo "Chromium is missing for the browser test and there is no apt-get: install Chromium and its chromedriver, then set CHROMIUM and CHROMEDRIVER"; exit 1; }; \
	echo "installing chromium and chromium-driver with apt-get for the browser test"; \
	$$sudo apt-get update -qq && $$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null

# End-to-end tests drive the real binaries: build them first.
build-bins:
	cargo build --workspace --bins --locked

## make fuzz: every fuzz target for FUZZ_SECONDS each (default 60), with cargo-fuzz on the
## stable toolchain (RUSTC_BOOTSTRAP=1). Findings land in fuzz/artifacts/.
FUZZ_SECONDS ?= 60
FUZZ_TARGETS := verify_token bearer_header method_arn token_body authorizer_event
fuzz:
	@command -v cargo-fuzz >/dev/null || cargo install --locked cargo-fuzz@0.13.2
	@for t in $(FUZZ_TARGETS); do \
	  echo "== $$t ($(FUZZ_SECONDS) s)"; \
	  RUSTC_BOOTSTRAP=1 cargo fuzz run --fuzz-dir fuzz $$t -- -max_total_time=$(FUZZ_SECONDS) -max_len=9000 2>&1 | \
	    grep -E "^(Done|INFO: Running|==[0-9]+==|SUMMARY|thread)|stat::number_of_executed_units|panicked" || true; \
	  test -z "$$(ls fuzz/artifacts/$$t 2>/dev/null)" || { echo "findings in fuzz/artifacts/$$t"; exit 1; }; \
	done

## make bench: criterion benchmarks (authorizer per request, token verification, /token), the
## refusal-timing check, cold starts of the Lambda packages through a Runtime API, and the
## instructions of a warm authorizer invocation (callgrind: valgrind, apt-get install valgrind).
bench: venv package
	cargo bench --workspace --locked
	cargo build --release --locked -p check-token --bin check-token --example warm_invocations
	bash scripts/warm-instructions.sh

## make load: virtual users (goose) sign in, call /hello, refresh, sign out, for LOAD_SECONDS
## (default 30) through the local gateway, on the REST API and then the HTTP API, with
## LOAD_USERS users (default 16) and LOAD_INSTANCES instances per function (default 4). Prints
## each step's throughput and p50/p99; fails on any 5xx, lost or forked session, or refresh
## token accepted after sign-out.
LOAD_SECONDS ?= 30
LOAD_USERS ?= 16
LOAD_INSTANCES ?= 4
load: venv build-bins
	@for api in rest http; do \
	  cargo run --quiet --locked -p loadtest --bin load -- --api $$api --seconds $(LOAD_SECONDS) \
	    --users $(LOAD_USERS) --instances $(LOAD_INSTANCES) || exit $$?; \
	done

## make venv: the project's Python tools, in .venv (quiet and quick when already there).
venv: $(STAMP)
$(STAMP): requirements-dev.txt
	@test -x $(PY) || python3 -m venv $(VENV)
	@$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	@touch $@

clean:
	cargo clean
	rm -rf $(VENV)
