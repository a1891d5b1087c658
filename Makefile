# Tandem: `make run` and `make test` do all the set-up on a fresh Debian machine.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
UV := $(VENV)/bin/uv
UV_VERSION := 0.13.9
# Debian packages the project needs: chromium for the browser tests, fonts so pages render legibly.
APT_PACKAGES := chromium fonts-dejavu-core janus
HOST ?= 127.0.0.1
PORT ?= 8000
# The demo runs without a second factor for staff (documented in the README); production never does.
# E-mailed links (reminders, invitations) and the printed log-ins name the address actually served.
# The notify worker appends the audit chain's signed head to audit-anchors.log (audit_anchor) every 15 minutes.
# Video: `make run` starts Janus on loopback with the configuration janus_config writes into .janus/ (its
# secrets generated there once, never committed).
JANUS_PORT ?= 8088
JANUS_ADMIN_PORT ?= 7088
JANUS_DIR := $(CURDIR)/.janus
JANUS_ENV := JANUS_URL=http://127.0.0.1:$(JANUS_PORT)/janus JANUS_ADMIN_URL=http://127.0.0.1:$(JANUS_ADMIN_PORT)/admin \
  VIDEO_FALLBACK_PHONE="+31 20 555 0100"
DEMO_ENV := DEBUG=1 TANDEM_STAFF_MFA_REQUIRED=0 PORTAL_BASE_URL=http://$(HOST):$(PORT) \
  AUDIT_ANCHOR_PATH=$(CURDIR)/audit-anchors.log

.PHONY: run demo-video test test-fast test-browser lint typecheck check system-deps deps dev-deps assets migrate seed clean bench bench-http bench-growth

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

$(VENV)/.deps-run: requirements.lock pyproject.toml | $(PY)
	$(UV) pip install --quiet --python $(PY) -r requirements.lock
	$(UV) pip install --quiet --python $(PY) --no-deps -e .
	touch $@

$(VENV)/.deps-dev: requirements-dev.lock pyproject.toml | $(PY)
	$(UV) pip install --quiet --python $(PY) -r requirements-dev.lock
	$(UV) pip install --quiet --python $(PY) --no-deps -e .
	touch $@ $(VENV)/.deps-run

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

deps: $(VENV)/.deps-run node_modules/.installed
dev-deps: $(VENV)/.deps-dev node_modules/.installed system-deps

# Installs the Debian packages when one is missing (needs root, or sudo).
system-deps:
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "Installing Debian packages:$$missing"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing; \
	fi

migrate: deps
	$(DEMO_ENV) $(PY) manage.py migrate --no-input
	$(DEMO_ENV) $(PY) manage.py createcachetable

seed: migrate
	$(DEMO_ENV) $(PY) manage.py load_instruments
	$(DEMO_ENV) $(PY) manage.py seed_demo

# The reminder and planning workers run beside the server and stop with it (Ctrl-C). The planner has
# its own worker so that a long solve never delays a reminder.
run: seed system-deps
	@$(DEMO_ENV) $(JANUS_ENV) $(PY) manage.py janus_config --out $(JANUS_DIR) --secrets-file $(JANUS_DIR)/secrets.env >/dev/null
	@echo "Serving Tandem on http://$(HOST):$(PORT)/ with the reminder and planning workers and Janus (video, on 127.0.0.1:$(JANUS_PORT)) beside it (Ctrl-C stops all)"
	@echo "A demo video session to join as 'therapist' and as 'client': $(PY) manage.py demo_video_session (with the same environment: make demo-video)"
	@set -a; . $(JANUS_DIR)/secrets.env; set +a; \
	janus -C $(JANUS_DIR)/janus.jcfg -F $(JANUS_DIR) >$(JANUS_DIR)/janus.log 2>&1 & janus=$$!; \
	$(DEMO_ENV) $(JANUS_ENV) $(PY) manage.py notify_worker & notify=$$!; \
	$(DEMO_ENV) $(PY) manage.py planning_worker & planning=$$!; \
	trap 'kill $$notify $$planning $$janus 2>/dev/null; wait $$notify $$planning $$janus' EXIT INT TERM; \
	$(DEMO_ENV) $(JANUS_ENV) $(PY) manage.py runserver $(HOST):$(PORT)

# Books a video session starting in a minute for the demo therapist and the demo couple (needs `make run`).
demo-video: deps
	@set -a; . $(JANUS_DIR)/secrets.env; set +a; $(DEMO_ENV) $(JANUS_ENV) $(PY) manage.py demo_video_session

# The suite without a browser runs on TEST_WORKERS processes (pytest-xdist; each has its own test database
# and, with CACHE_URL on Redis, its own Redis database); the browser journeys run after it in one process,
# since their live servers and chromium would only fight for the same two cores.
TEST_WORKERS ?= 2
test: test-fast test-browser
test-fast: dev-deps
	$(PY) -m pytest -n $(TEST_WORKERS) -m "not browser" --ignore=tests/browser $(PYTEST_ARGS)
test-browser: dev-deps
	$(PY) -m pytest -m browser tests/browser $(PYTEST_ARGS)

# lint-imports checks the layer contracts in pyproject.toml (see docs/architecture.md).
lint: dev-deps
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports

typecheck: dev-deps
	$(VENV)/bin/mypy tandem bench tests

# Production-mode checks: no deploy warnings, no missing migrations.
check: dev-deps
	$(PY) manage.py makemigrations --check --dry-run
	DEBUG=0 SECRET_KEY=$$(head -c 48 /dev/urandom | base64) AUDIT_HMAC_KEY=$$(head -c 48 /dev/urandom | base64) \
	  TANDEM_FIELD_KEYS=$$(head -c 32 /dev/urandom | base64 | tr '+/' '-_') \
	  ALLOWED_HOSTS=clinic.example.org $(PY) manage.py check --deploy --fail-level WARNING

bench: dev-deps
	$(PY) bench/pages.py $(BENCH_ARGS)
	$(PY) bench/availability.py

# Under load: gunicorn (2 workers) and 10 concurrent clients, 60 s per page (bench/http.py --help).
bench-http: dev-deps
	$(PY) bench/http.py $(BENCH_HTTP_ARGS)

bench-growth: dev-deps
	$(PY) bench/pages.py --growth $(BENCH_ARGS)

clean:
	rm -rf $(VENV) node_modules staticfiles .janus db.sqlite3 db.sqlite3-wal db.sqlite3-shm audit-anchors.log
