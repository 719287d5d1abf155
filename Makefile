# oms-bridge developer commands (GNU make). `make demo` and `make test` set up what they need.
SHELL := bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help
.DELETE_ON_ERROR:
MAKEFLAGS += --no-builtin-rules

# The project's Python is the Lambda runtime's, 3.13, when there is one. Under pyenv the shim only
# answers for the selected versions, so 3.13 is also looked up among pyenv's installed ones.
find_python = for c in python3.13 \
	"env PYENV_VERSION=$$(pyenv versions --bare 2>/dev/null | grep -E '^3\.13(\.[0-9]+)?$$' | tail -n1) python3.13" \
	python3; do $$c -c 'import sys; print(sys.executable)' 2>/dev/null && break; done; true
ifeq ($(origin PYTHON),undefined)
PYTHON := $(shell $(find_python))
endif
# The SAM CLI runs on any Python >= 3.9, in a venv of its own (it pins its own boto3 and pydantic).
ifeq ($(origin SAM_PYTHON),undefined)
SAM_PYTHON := $(shell for c in python3.11 python3; do $$c -c 'import sys; print(sys.executable)' 2>/dev/null && break; done; true)
endif

VENV := .venv
VENV_PY := $(VENV)/bin/python
VENV_STAMP := $(VENV)/.installed
SAM_VENV := .venv-sam
SAM := $(SAM_VENV)/bin/sam
SAM_STAMP := $(SAM_VENV)/.installed
# `sam validate` works offline; it only needs some region. No telemetry from CI or laptops.
SAM_REGION ?= us-east-1
SAM_ENV := SAM_CLI_TELEMETRY=0 AWS_DEFAULT_REGION=$(SAM_REGION)
# Two workers for the two cores these machines have; each test file on one worker, so a module's
# sandbox (some place a dozen orders first) is set up once.
PYTEST_ARGS ?= -n 2 --dist loadfile

.PHONY: help bootstrap demo test test-all lint validate build package lock clean distclean

help:
	@echo "make demo      the whole order life cycle end to end in the local sandbox"
	@echo "make test      lint, validate the template, then the test suite (the slow runs left out)"
	@echo "make test-all  make test, and the slow reliability runs (500-order chaos, long fuzzing)"
	@echo "make lint      ruff check + mypy"
	@echo "make validate  sam validate and sam validate --lint (offline)"
	@echo "make build     sam build (needs Python 3.13)"
	@echo "make package  sam build, then sam package to a local S3 and check the artefacts (offline)"
	@echo "make lock      regenerate requirements/*.txt from requirements/*.in"
	@echo "make clean     remove build output and caches (distclean: also the venvs)"

bootstrap: $(VENV_STAMP) $(SAM_STAMP)

# (Re)installed whenever the lock file changes; a venv whose interpreter is gone is rebuilt.
$(VENV_STAMP): requirements/dev.txt
	@test -n "$(PYTHON)" || { echo "error: no python3.13 or python3 found" >&2; exit 1; }
	@$(VENV_PY) -c '' 2>/dev/null || { rm -rf $(VENV) && $(PYTHON) -m venv $(VENV); }
	@$(VENV_PY) -c 'import sys; sys.version_info[:2] == (3, 13) or print( \
		"warning: .venv runs Python %d.%d, not the Lambda runtime 3.13" % sys.version_info[:2], file=sys.stderr)'
	$(VENV_PY) -m pip install --disable-pip-version-check -q -r requirements/dev.txt
	@touch $@

$(SAM_STAMP): requirements/sam.txt
	@test -n "$(SAM_PYTHON)" || { echo "error: no python3 found for the SAM CLI" >&2; exit 1; }
	@$(SAM_VENV)/bin/python -c '' 2>/dev/null || { rm -rf $(SAM_VENV) && $(SAM_PYTHON) -m venv $(SAM_VENV); }
	$(SAM_VENV)/bin/python -m pip install --disable-pip-version-check -q -r requirements/sam.txt
	@touch $@

demo: $(VENV_STAMP)
	$(VENV_PY) -m sandbox demo

# pytest exits 5 when it collected nothing: a broken run here, never a pass.
pytest = $(VENV_PY) -m pytest $(PYTEST_ARGS) $(1) || { rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "error: pytest collected no tests" >&2; fi; exit $$rc; }

# pyproject.toml leaves out the tests marked slow; test-all is `make test`, then those.
test: lint validate browser-deps
	@$(call pytest,)

test-all: test
	@$(call pytest,-m slow)

lint: $(VENV_STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy

validate: $(SAM_STAMP)
	$(SAM_ENV) $(SAM) validate --template template.yaml --region $(SAM_REGION)
	$(SAM_ENV) $(SAM) validate --template template.yaml --region $(SAM_REGION) --lint

# sam build runs pip with the runtime's interpreter (python3.13) found on PATH: the project venv's.
# Then the build ships bytecode: Lambda's code is read-only, so without it every cold start compiles
# the layer again; unchecked-hash, because the deployment zip's timestamps must not invalidate it.
build: $(VENV_STAMP) $(SAM_STAMP)
	PATH="$(abspath $(VENV))/bin:$$PATH" $(SAM_ENV) $(SAM) build --template template.yaml
	$(VENV_PY) -m compileall -q -j 0 --invalidation-mode unchecked-hash .aws-sam/build

# sam package against a local S3 (moto on 127.0.0.1, a free port, dummy credentials): proves the
# artefact set is complete without an AWS account. tools/package.py says what it checks; the
# packaged template is left in .aws-sam/packaged.yaml.
package: build
	$(VENV_PY) tools/package.py $(SAM)

lock:
	requirements/lock.sh "$(PYTHON)" "$(SAM_PYTHON)"

clean:
	rm -rf .aws-sam .cache artifacts .pytest_cache .mypy_cache .ruff_cache
	find . -name __pycache__ -type d -not -path './.venv*' -prune -exec rm -rf {} +

distclean: clean
	rm -rf $(VENV) $(SAM_VENV)

# ----- Browser test prerequisites (tests/browser/test_storefront_browser.py) ---------------------------
# The OS's headless Chromium (never a browser download) and node >= 20.19 with npm for the storefront
# bundle (vite 7). Chromium is installed with apt-get when it is missing and this user may (root, or
# sudo without a password); otherwise everything else still runs and the browser test fails, naming
# the command that installs it.
.PHONY: browser-deps node
browser-deps: storefront/dist/omsbridge-storefront.js
	@command -v chromium >/dev/null || { \
		if [ "$$(id -u)" = 0 ]; then sudo=; elif sudo -n true 2>/dev/null; then sudo=sudo; else sudo=no; fi; \
		fix="$$([ "$$(id -u)" = 0 ] || echo 'sudo ')apt-get update && $$([ "$$(id -u)" = 0 ] || echo 'sudo ')apt-get install -y chromium"; \
		if [ "$$sudo" != no ] && command -v apt-get >/dev/null; then \
			echo "Chromium is missing (the browser test drives it): installing the chromium package with apt-get"; \
			{ $$sudo apt-get update -qq && $$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; } \
				|| echo "warning: apt-get could not install Chromium; the browser test will fail until: $$fix" >&2; \
		else \
			echo "warning: Chromium is missing and apt-get is not allowed here; the browser test will fail until: $$fix" >&2; \
		fi; }

# The storefront's packages, again whenever its lock file changes (npm ci rewrites the stamp).
storefront/node_modules/.package-lock.json: storefront/package-lock.json | node
	cd storefront && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error

# The bundle the browser test serves, rebuilt when what it is built from changes.
storefront/dist/omsbridge-storefront.js: $(wildcard storefront/src/*) storefront/package.json storefront/vite.config.js \
		storefront/node_modules/.package-lock.json
	cd storefront && npm run --silent build -- --logLevel warn

node:
	@node -e 'const [a,b]=process.versions.node.split(".").map(Number); process.exit(a>20||(a===20&&b>=19)?0:1)' \
		|| { echo "error: the storefront build needs node >= 20.19 and npm" >&2; exit 1; }
	@command -v npm >/dev/null || { echo "error: npm is missing" >&2; exit 1; }
