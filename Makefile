# Fleetwise Ops. `make demo` runs the whole portal on this machine; `make test` is what CI runs.
SHELL := /bin/bash
export PATH := $(HOME)/.local/bin:$(PATH)
export UV_PYTHON := $(shell .ci/find-python)
UV := uv
RUN := $(UV) run --frozen

DEMO_REDIS_PORT ?= 6390
DEMO_FLEET_SIZE ?= 25
DEMO_OTLP_PORT ?= 4318
# The demo's processes export telemetry to the Procfile's `otel` receiver unless told otherwise
# (PORTAL_TELEMETRY=auto picks OTLP when this is set; docs/telemetry.md).
OTEL_EXPORTER_OTLP_ENDPOINT ?= http://127.0.0.1:$(DEMO_OTLP_PORT)

.PHONY: bootstrap bootstrap-browser demo demo-init test lint typecheck pytest bench collectstatic clean

bootstrap:
	@.ci/bootstrap

bootstrap-browser:
	@.ci/bootstrap --browser

## demo: install everything, migrate, load demo data and start every process of the Procfile.
demo: export PORTAL_ENVIRONMENT := demo
demo: export DEMO_REDIS_PORT := $(DEMO_REDIS_PORT)
demo: export CELERY_BROKER_URL := redis://127.0.0.1:$(DEMO_REDIS_PORT)/0
demo: export DEMO_OTLP_PORT := $(DEMO_OTLP_PORT)
demo: export OTEL_EXPORTER_OTLP_ENDPOINT := $(OTEL_EXPORTER_OTLP_ENDPOINT)
demo: bootstrap demo-init
	@echo
	@echo "  Fleetwise Ops is starting: open http://127.0.0.1:8000/"
	@echo "  Sign in with the demo superuser: user 'demo', password 'demo' (demo only)."
	@echo "  Azure emulator: https://127.0.0.1:8443 (CA and demo.json in var/emulator/). Ctrl-C stops everything."
	@echo "  Telemetry: spans and log records the portal exported at http://127.0.0.1:$(DEMO_OTLP_PORT)/ (files in var/telemetry/)."
	@echo
	$(RUN) honcho start -f Procfile

demo-init: export PORTAL_ENVIRONMENT := demo
demo-init:
	$(RUN) python -m azure_emulator init --state-dir var/emulator --fleet-size $(DEMO_FLEET_SIZE)
	$(RUN) python manage.py migrate --noinput
	$(RUN) python manage.py load_demo

## test: lint, types, Django checks, the whole pytest suite (starts its own Redis and emulator), then
## the tests marked postgres again on a throw-away PostgreSQL cluster (tests/postgres.py).
test: export PORTAL_ENVIRONMENT := test
test: bootstrap-browser lint typecheck
	$(RUN) python manage.py check --settings tests.settings
	$(RUN) python manage.py makemigrations --check --dry-run --settings tests.settings
	$(RUN) pytest
	PORTAL_TEST_DATABASE=postgres $(RUN) pytest -m postgres

lint:
	$(RUN) ruff check .
	$(RUN) ruff format --check .

typecheck:
	$(RUN) mypy .

bench: bootstrap
	$(RUN) python -m bench

collectstatic:
	$(RUN) python manage.py collectstatic --noinput

clean:
	rm -rf var/portal.sqlite3* var/test-*.sqlite3* var/emulator var/mail var/teams var/telemetry
