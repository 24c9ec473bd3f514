# The two commands a newcomer needs: `make run` and `make test`. Everything installs itself.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
NODE_STAMP := node_modules/.installed
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)

.PHONY: run test unit lint format package package-prod cfn-lint scan openapi deploy remove bench bench-smoke reconcile clean install chromium reset package-deploy token

$(STAMP): requirements.txt requirements-dev.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

$(NODE_STAMP): package.json package-lock.json
	npm ci --legacy-peer-deps --no-audit --no-fund --loglevel=error
	touch $@

install: $(STAMP) $(NODE_STAMP)

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

## make reset: forget the local stack's data (.local-data/, or $$LOCAL_DATA_DIR): the next `make run` starts empty
reset: $(STAMP)
	$(PY) -m local.data reset

## make test: every test (unit, per-function, property, concurrency, integration), then package + cfn-lint + scan
test: install chromium
	$(PY) -m pytest -q -p no:cacheprovider
	$(MAKE) --no-print-directory scan cfn-lint

unit: $(STAMP)
	$(PY) -m pytest -q -m "not integration and not concurrency"

lint: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

format: $(STAMP)
	$(PY) -m ruff format .
	$(PY) -m ruff check --fix .

openapi: $(STAMP)
	$(PY) -m local.openapi > openapi.json.tmp && mv openapi.json.tmp openapi.json

## make reconcile: one reconciliation run (counters, stranded waitlist) against $${DYNAMODB_ENDPOINT:-http://127.0.0.1:8000}
reconcile: $(STAMP)
	$(PY) -m local.reconcile

## make package: osls package → .serverless/ (offline, no credentials); bytecode when a python3.12 is found
package: install
	npx osls package --stage $${STAGE:-dev}

PACKAGE_DIR ?= .serverless
## make package-deploy: the package `make deploy` ships, in $$PACKAGE_DIR (.serverless/): needs python3.12 (bytecode), then checks requirements and architecture
package-deploy: install
	BYTECODE_REQUIRED=true npx osls package --stage $${STAGE:-dev} --package $(PACKAGE_DIR)
	$(PY) -m local.deploy_check $(PACKAGE_DIR)

cfn-lint: package
	$(VENV)/bin/cfn-lint -i W3005 -- .serverless/cloudformation-template-update-stack.json

# The stricter `prod` profile (serverless.yml params), packaged apart so that both can be checked.
# Before `package`: every osls package run empties .serverless/ first.
PROD_TEMPLATE := .serverless-prod/cloudformation-template-update-stack.json
package-prod: install
	npx osls package --stage prod --package .serverless-prod

SCAN_VENV := .venv-scan
SCAN_STAMP := $(SCAN_VENV)/.installed
$(SCAN_STAMP): requirements-scan.txt
	test -x $(SCAN_VENV)/bin/python || $(PYTHON) -m venv $(SCAN_VENV)
	$(SCAN_VENV)/bin/python -m pip install --quiet --disable-pip-version-check -r requirements-scan.txt
	touch $@

## make scan: Checkov (.checkov.yaml) on the packaged templates of both profiles (`make package`'s and prod's): 0 failed checks
scan: package-prod package $(SCAN_STAMP)
	test -s $(PROD_TEMPLATE) && test -s .serverless/cloudformation-template-update-stack.json
	$(VENV)/bin/cfn-lint -i W3005 -- $(PROD_TEMPLATE)
	$(SCAN_VENV)/bin/checkov --config-file .checkov.yaml \
		-f .serverless/cloudformation-template-update-stack.json -f $(PROD_TEMPLATE)

## make deploy: make package-deploy, then osls deploy of exactly that package (needs AWS credentials)
deploy: package-deploy
	npx osls deploy --stage $${STAGE:-dev} --package $(PACKAGE_DIR)

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

clean:
	rm -rf .serverless .serverless-prod .pytest_cache .hypothesis
