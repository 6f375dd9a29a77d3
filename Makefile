# The README's two commands are `make run` and `make test`; everything else supports them.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cat requirements.txt requirements-dev.txt | cksum | cut -d' ' -f1)
# A real OpenStack Ironic for the bare-metal tests. It pins many libraries of its own, so it
# lives in its own virtual environment; tests find it through PORTAL_IRONIC_VENV.
IRONIC_VENV := .venv-ironic
IRONIC_STAMP := $(IRONIC_VENV)/.installed-$(shell cksum < requirements-ironic.txt | cut -d' ' -f1)

# The second test leg: PostgreSQL and Redis on loopback unless told otherwise.
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/postgres
TEST_BROKER_URL ?= redis://127.0.0.1:6379/15

.PHONY: install run test test-embedded test-services lint bench

$(STAMP): requirements.txt requirements-dev.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements-dev.txt
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

$(IRONIC_STAMP): requirements-ironic.txt
	test -x $(IRONIC_VENV)/bin/python || $(PYTHON) -m venv $(IRONIC_VENV)
	$(IRONIC_VENV)/bin/python -m pip install -q --upgrade pip
	$(IRONIC_VENV)/bin/python -m pip install -q -r requirements-ironic.txt
	rm -f $(IRONIC_VENV)/.installed-*
	touch $(IRONIC_STAMP)

install: $(STAMP) $(IRONIC_STAMP)

# The demo on the embedded default: SQLite under var/, tasks in process, a local AWS simulator.
run: install
	DEBUG=1 PORTAL_DEMO=1 $(PY) manage.py migrate --noinput
	DEBUG=1 PORTAL_DEMO=1 $(PY) manage.py demo 127.0.0.1:8000

# The whole suite twice: on the embedded default, then on PostgreSQL with Redis as the broker.
test: install test-embedded test-services

test-embedded: install
	$(PY) -m pytest -m "not celery_worker"

test-services: install
	@if $(PY) tests/services.py "$(TEST_DATABASE_URL)" "$(TEST_BROKER_URL)"; then \
		DATABASE_URL="$(TEST_DATABASE_URL)" CELERY_BROKER_URL="$(TEST_BROKER_URL)" \
			$(PY) -m pytest; \
	elif [ -n "$$CI" ]; then \
		echo "CI needs PostgreSQL and Redis for the second test leg."; exit 1; \
	else \
		echo "Second test leg NOT run: PostgreSQL or Redis is not reachable (see above)."; \
	fi

lint: install
	$(VENV)/bin/ruff check .
	DEBUG=1 $(PY) manage.py check
	DEBUG=1 $(PY) manage.py makemigrations --check --dry-run
	DEBUG=1 $(PY) manage.py spectacular --validate --fail-on-warn --file /dev/null

bench: install
	$(PY) bench/sync.py
