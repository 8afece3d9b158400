# The two commands a newcomer types: `make run` and `make test`. Everything they need is installed here.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
LAUNCH := $(PY) -W ignore -m infrastructure.local
STACK  := RAG_STACK=dev $(LAUNCH)
# The test stack: its own state (.stack/test/) and ports (infrastructure/local/profiles.py). RAG_STACK=test sets
# every store variable itself, whatever the environment or .env says, so `make test` never touches `make run`'s stack.
TEST_STACK := RAG_STACK=test $(LAUNCH)
HOST   ?= 127.0.0.1
PORT   ?= 8000

.PHONY: run test venv browser-deps bench-load stack-up stack-down stack-status test-stack-up test-stack-down test-stack-status init bench eval \
        clean-stack clean-test-stack compose-check lock

## make run: venv, the local stack the app needs, init_stores, then serve on $(HOST):$(PORT) with one job worker
## beside the server (stopped with it). With Milvus Lite (one process's file) no worker starts: it says so.
run: venv
	$(STACK) up --app
	$(PY) manage.py init_stores
	@$(PY) manage.py jobs_worker --own-process-group & worker=$$!; \
	trap 'kill $$worker 2>/dev/null; wait $$worker 2>/dev/null' EXIT; trap 'exit 130' INT TERM; \
	$(PY) manage.py runserver $(HOST):$(PORT)

## make test: venv, the whole test stack (Postgres, Milvus standalone + Lite, Neo4j), then the whole suite on it.
## It leaves the stack of `make run` alone (both can run at once). A subset: make test PYTEST_ARGS="-k foo"
## The Compose v2 CLI that compose-check needs is built once (cached in .stack/tools/), in the background while
## the test stack starts; then the compose files are validated, then the suite runs.
test: venv browser-deps
	@mkdir -p .stack/tools
	@$(PY) -m infrastructure.compose_check --build > .stack/tools/compose-build.log 2>&1 & build=$$!; \
	$(TEST_STACK) up; status=$$?; \
	wait $$build || { cat .stack/tools/compose-build.log; exit 1; }; \
	cat .stack/tools/compose-build.log; exit $$status
	$(PY) -m infrastructure.compose_check
	$(TEST_STACK) exec $(PY) -m pytest --durations=25 $(PYTEST_ARGS)

## make compose-check: validate docker-compose.yml alone, with the dev and with the prod override, using the real
## Docker Compose v2 CLI (built from the Go module proxy into .stack/tools/ the first time; no Docker engine needed)
compose-check: venv
	$(PY) -m infrastructure.compose_check

## make lock: rewrite requirements.lock (every package of requirements.txt and its dependencies, exact versions with
## hashes: what the image installs) with pip-tools in a venv of its own. Run it after changing requirements.txt.
LOCK_VENV := .stack/tools/pip-tools
lock:
	@test -x $(LOCK_VENV)/bin/pip-compile || { $(PYTHON) -m venv $(LOCK_VENV) && $(LOCK_VENV)/bin/pip install -q pip-tools==7.6.2; }
	$(LOCK_VENV)/bin/pip-compile --quiet --generate-hashes --allow-unsafe --strip-extras --no-emit-index-url --no-emit-find-links \
	    --output-file requirements.lock requirements.txt

## The browser test's system tools (tests/e2e, docs/testing.md): Debian's chromium, chromium-driver and nginx, installed
## with apt-get only when missing (through sudo when not root); and caddy, which checks the compose proxy's Caddyfile
## (tests/test_container_image.py).
BROWSER_TOOLS := chromium:chromium chromedriver:chromium-driver nginx:nginx-light caddy:caddy
browser-deps:
	@missing=""; for pair in $(BROWSER_TOOLS); do tool=$${pair%%:*}; package=$${pair#*:}; \
	  command -v $$tool >/dev/null 2>&1 || test -x /usr/sbin/$$tool || missing="$$missing $$package"; done; \
	if [ -n "$$missing" ]; then \
	  sudo=""; [ "$$(id -u)" = 0 ] || sudo=sudo; \
	  echo "installing$$missing (apt-get) for the browser test"; \
	  $$sudo apt-get update -q && DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -q --no-install-recommends $$missing; \
	fi

venv: $(VENV)/.installed

$(VENV)/.installed: requirements.txt requirements-dev.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements-dev.txt
	@touch $@

stack-up: venv
	$(STACK) up

stack-down: venv
	$(STACK) down

stack-status: venv
	$(STACK) status

test-stack-up: venv
	$(TEST_STACK) up

test-stack-down: venv
	$(TEST_STACK) down

test-stack-status: venv
	$(TEST_STACK) status

init: venv
	$(PY) manage.py init_stores

## make bench: the benchmarks against the raw clients (not part of `make test`); BENCH_ARGS=--quick for a short run
bench: venv stack-up
	$(PY) -m bench $(BENCH_ARGS)
	$(PY) -m bench.load $(LOAD_ARGS)

## make bench-load: only the load run (8 clients, 25 s, gunicorn with 2 workers, the Django docs corpus); LOAD_ARGS=...
bench-load: venv stack-up
	$(PY) -m bench.load $(LOAD_ARGS)

## make eval: retrieval quality on the dev eval sets (corpora fetched and ingested first: see docs/evaluation.md);
## EVAL_SETS=... to choose the sets, EVAL_ARGS=--json etc.
EVAL_SETS ?= eval/sets/django.dev.jsonl eval/sets/pytest.dev.jsonl
eval: venv
	$(PY) manage.py evaluate $(EVAL_SETS) $(EVAL_ARGS)

## Remove the local stack's data, the test stack's included (stops both first).
clean-stack: stack-down test-stack-down
	rm -rf .stack

## Remove the test stack's data only (stops it first).
clean-test-stack: test-stack-down
	rm -rf .stack/test
