# The two commands a newcomer needs: `make run` and `make test`. Everything installs itself.
# `make help` lists every target: the `## make <target>: <what it does>` line above each rule.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
NODE_STAMP := node_modules/.installed
LOCK := requirements-dev.lock
TIMED := local/timed.sh
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)

.PHONY: help run seed reset test unit lint format package package-prod package-deploy cfn-lint scan openapi fuzz deploy remove bench bench-smoke reconcile clean install lock check-node chromium token

## make help: this list
help:
	@sed -n 's/^## make \([^:]*\): \(.*\)/  make \1\t\2/p' $(MAKEFILE_LIST) | sed 's/\$$\$$/$$/g' | expand -t 24

# Hash-checked: every package and version comes from the lock (`make lock` regenerates it).
$(STAMP): $(LOCK)
	@local/require.sh python $(PYTHON)
	@test -x $(PY) || $(TIMED) "creating $(VENV) with $(PYTHON)" $(PYTHON) -m venv $(VENV)
	@$(TIMED) "installing Python packages from $(LOCK) (hash-checked; ~1-3 min the first time)" \
		$(PY) -m pip install --quiet --disable-pip-version-check --require-hashes -r $(LOCK)
	@touch $@

## make check-node: fails early, naming the Node version osls needs
check-node:
	@local/require.sh node

$(NODE_STAMP): package.json package-lock.json | check-node
	@$(TIMED) "installing node_modules from package-lock.json (~1 min the first time)" \
		npm ci --legacy-peer-deps --no-audit --no-fund --loglevel=error
	@touch $@

## make install: the virtualenv (from requirements-dev.lock) and node_modules, when missing or stale
install: check-node $(STAMP) $(NODE_STAMP)

## make lock: regenerate the hash locks (requirements-dev.lock, requirements-scan.lock) from requirements*.txt, after changing them
PIP_COMPILE = $(VENV)/bin/pip-compile --quiet --generate-hashes --allow-unsafe --strip-extras --no-emit-index-url \
	--no-emit-find-links --no-emit-trusted-host
lock: $(STAMP)
	@$(TIMED) "resolving requirements-dev.txt into $(LOCK) with pip-compile (a few minutes)" \
		$(PIP_COMPILE) --output-file $(LOCK) requirements-dev.txt
	@$(TIMED) "resolving requirements-scan.txt into requirements-scan.lock with pip-compile" \
		$(PIP_COMPILE) --output-file requirements-scan.lock requirements-scan.txt

# The browser test (tests/integration/test_docs_browser.py) drives Debian's chromium; installed as
# root, as CI runs, when it is not on PATH.
## make chromium: install Debian's chromium for the browser test when it is missing (apt-get, as root)
chromium:
	@command -v chromium >/dev/null || { \
		echo "chromium is missing: apt-get install -y chromium (needs root)"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium; }

## make run: the whole API on http://127.0.0.1:$${PORT:-3000} over an embedded DynamoDB
run: install
	$(PY) -m local.run

## make token USER=<id> [GROUPS=organizers,admins] [TTL=seconds]: a bearer token for `AUTH=on make run` (last line)
token: $(STAMP)
	@if [ "$(origin USER)" != "command line" ]; then \
		echo "usage: make token USER=<id> [GROUPS=organizers,admins] [TTL=seconds]" >&2; exit 2; fi
	@$(PY) -m local.auth --user "$(USER)" --groups "$(GROUPS)" --ttl "$(TTL)"

## make seed: demo data (3 events, 6 users, 7 registrations) into the running `make run`, through its API; idempotent
seed: $(STAMP)
	@$(PY) -m local.seed

## make reset: forget the local stack's data (.local-data/, or $$LOCAL_DATA_DIR): the next `make run` starts empty
reset: $(STAMP)
	$(PY) -m local.data reset

## make test: every test (unit, per-function, property, concurrency, integration), then package + cfn-lint + scan
test: install chromium
	@$(TIMED) "pytest: every test (~7 min on 2 cores)" $(PY) -m pytest -q -p no:cacheprovider
	@$(MAKE) --no-print-directory scan cfn-lint

## make unit: the tests without the integration and concurrency suites
unit: $(STAMP)
	$(PY) -m pytest -q -m "not integration and not concurrency"

## make lint: ruff check, ruff format --check and mypy (boto3's DynamoDB stubs included)
lint: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m mypy .

## make format: ruff format and ruff check --fix
format: $(STAMP)
	$(PY) -m ruff format .
	$(PY) -m ruff check --fix .

## make openapi: regenerate openapi.json (from the functions' resolvers) and shared/api/routes.json (from serverless.yml)
openapi: $(STAMP)
	$(PY) -m local.routes > shared/api/routes.json.tmp && mv shared/api/routes.json.tmp shared/api/routes.json
	$(PY) -m local.openapi > openapi.json.tmp && mv openapi.json.tmp openapi.json

## make fuzz: schemathesis (--checks all, every phase) on openapi.json against a local stack it starts and stops; FUZZ_SEED, FUZZ_EXAMPLES (100)
fuzz: install
	$(PY) -m local.fuzz

## make reconcile: one reconciliation run (counters, stranded waitlist) against $${DYNAMODB_ENDPOINT:-http://127.0.0.1:$${DYNAMODB_PORT:-8000}}
reconcile: $(STAMP)
	$(PY) -m local.reconcile

## make package: osls package → .serverless/ (offline, no credentials); bytecode when a python3.12 is found
package: install
	@$(TIMED) "osls package --stage $${STAGE:-dev}" npx osls package --stage $${STAGE:-dev}

PACKAGE_DIR ?= .serverless
## make package-deploy: the package `make deploy` ships, in $$PACKAGE_DIR (.serverless/): needs python3.12 (bytecode), then checks requirements and architecture
package-deploy: install
	@$(TIMED) "osls package for deploy --stage $${STAGE:-dev} (bytecode required)" \
		env BYTECODE_REQUIRED=true npx osls package --stage $${STAGE:-dev} --package $(PACKAGE_DIR)
	$(PY) -m local.deploy_check $(PACKAGE_DIR)

## make cfn-lint: package, then cfn-lint on the CloudFormation template
cfn-lint: package
	@$(TIMED) "cfn-lint on the packaged template (W3005 ignored: per-function roles)" \
		$(VENV)/bin/cfn-lint -i W3005 -- .serverless/cloudformation-template-update-stack.json
	@echo "cfn-lint: .serverless/cloudformation-template-update-stack.json passed: $$($(PY) -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["Resources"]))' .serverless/cloudformation-template-update-stack.json) resources, no errors or warnings (W3005 ignored)"

# The stricter `prod` profile (serverless.yml params), packaged apart so that both can be checked.
# Before `package`: every osls package run empties .serverless/ first.
PROD_TEMPLATE := .serverless-prod/cloudformation-template-update-stack.json
## make package-prod: osls package of the stricter `prod` profile into .serverless-prod/ (for make scan)
package-prod: install
	@$(TIMED) "osls package --stage prod (for make scan)" npx osls package --stage prod --package .serverless-prod

SCAN_VENV := .venv-scan
SCAN_STAMP := $(SCAN_VENV)/.installed
SCAN_LOCK := requirements-scan.lock
$(SCAN_STAMP): $(SCAN_LOCK)
	@test -x $(SCAN_VENV)/bin/python || $(TIMED) "creating $(SCAN_VENV) with $(PYTHON)" $(PYTHON) -m venv $(SCAN_VENV)
	@$(TIMED) "installing Checkov from $(SCAN_LOCK) (hash-checked)" \
		$(SCAN_VENV)/bin/python -m pip install --quiet --disable-pip-version-check --require-hashes -r $(SCAN_LOCK)
	@touch $@

## make scan: Checkov (.checkov.yaml) on the packaged templates of both profiles (`make package`'s and prod's): 0 failed checks
scan: package-prod package $(SCAN_STAMP)
	test -s $(PROD_TEMPLATE) && test -s .serverless/cloudformation-template-update-stack.json
	$(VENV)/bin/cfn-lint -i W3005 -- $(PROD_TEMPLATE)
	$(SCAN_VENV)/bin/checkov --config-file .checkov.yaml \
		-f .serverless/cloudformation-template-update-stack.json -f $(PROD_TEMPLATE)

## make deploy: make package-deploy, then osls deploy of exactly that package (needs AWS credentials)
deploy: package-deploy
	npx osls deploy --stage $${STAGE:-dev} --package $(PACKAGE_DIR)

## make remove: osls remove --stage $${STAGE:-dev} (tables are retained)
remove: install
	npx osls remove --stage $${STAGE:-dev}

BENCH_STAMP := $(VENV)/.bench-installed
$(BENCH_STAMP): $(STAMP) bench/requirements.txt
	$(PY) -m pip install --quiet --disable-pip-version-check -r bench/requirements.txt
	touch $@

## make bench: every benchmark (cold start, warm latency, round trips, load, hot event, package), rewrites bench/RESULTS.md
bench: install $(BENCH_STAMP)
	$(PY) -m bench

## make bench-smoke: the same benchmarks with tiny counts (< 60 s), no timing asserted, RESULTS.md untouched
bench-smoke: install $(BENCH_STAMP)
	$(PY) -m bench --smoke > /dev/null

## make clean: remove build output and test caches (not .venv or node_modules)
clean:
	rm -rf .serverless .serverless-prod .pytest_cache .hypothesis
