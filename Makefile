# 个人工作平台 — the two commands that matter: `make demo` and `make test`.
#
# Everything runs from .venv/bin/..., so nothing needs activating. `make test` installs
# everything from nothing (Debian packages, virtualenv, catalogues), starts PostgreSQL and
# Redis when they are down, then runs ruff, mypy, the import contract and pytest.

PY    ?= python3
VENV  := .venv
BIN   := $(VENV)/bin
STAMP := $(VENV)/.installed

# One step after the other, even under `make -j`: the steps share the virtualenv.
.NOTPARALLEL:
.PHONY: install system services venv translations lint typecheck contracts test pytest \
        demo demo-ldap bench bench-instructions bench-login bench-oidc bench-live bench-layout bench-todo \
        bench-kpi bench-workflow bench-affairs bench-sync bench-trace clean

## Installation ---------------------------------------------------------------------------

install: system venv translations

# Debian packages (slapd, nginx, chromium, wrk, ...); a no-op when they are all there.
system:
	bash scripts/install-system.sh

# PostgreSQL on 127.0.0.1:5432 and Redis on 127.0.0.1:6379: started when down, fail if not.
services:
	bash scripts/services.sh ensure

venv: $(STAMP)

# Reinstalled only when pyproject.toml is newer than the stamp.
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $@

# Compile the message catalogues of the core and of every portlet that ships some.
translations: venv
	@for dir in portal/translations portlets/*/translations sso/*/translations \
	           connectors/translations connectors/*/translations; do \
	  [ -d "$$dir" ] || continue; \
	  find "$$dir" -name '*.po' | grep -q . || continue; \
	  echo "$(BIN)/pybabel compile -f -d $$dir"; \
	  $(BIN)/pybabel compile -f -d "$$dir" || exit 1; \
	done

## Checks ---------------------------------------------------------------------------------

lint: venv
	$(BIN)/ruff check .

typecheck: venv
	$(BIN)/mypy

contracts: venv
	$(BIN)/lint-imports

pytest: venv translations
	mkdir -p test-output
	$(BIN)/pytest -p no:cacheprovider --junitxml=test-output/junit.xml

test: install
	@$(MAKE) --no-print-directory services lint typecheck contracts pytest

## Running --------------------------------------------------------------------------------

demo: install
	$(BIN)/portal db upgrade
	$(BIN)/portal demo-data --if-empty
	$(BIN)/portal serve --port $${PORT:-5000}

# The demo signing in against a private slapd loaded with the demo organisation.
demo-ldap: install
	$(BIN)/portal db upgrade
	$(BIN)/portal demo-data --if-empty
	$(BIN)/python scripts/demo_ldap.py --port $${PORT:-5000}

# Prints figures (requests/s, latency, worker memory); never fails on a timing.
bench: install services
	$(BIN)/python bench/homepage.py

# The same ratios as instructions a served request, under callgrind (steady on a noisy machine).
bench-instructions: install services
	$(BIN)/python bench/homepage_instructions.py

# LDAP sign-ins/s and p95 against a bare Flask floor (same run); never fails on a timing.
bench-login: install services
	$(BIN)/python bench/login.py

# The OpenID Connect token endpoint (code exchange, refresh) against a bare-Flask floor.
bench-oidc: install services
	$(BIN)/python bench/oidc_token.py

# Effective layouts for 10,000 users with their own arrangement; saving a move over HTTP.
bench-layout: install services
	$(BIN)/python bench/layout.py

# A change -> its notice on an open event stream, p50/p95, with 50 notifications/s behind.
bench-live: install services
	$(BIN)/python bench/live.py

# The unified to-do of 500 items (p95 ≤ 50 ms) and archive search over 100,000 documents
# (p95 ≤ 100 ms), on SQLite and PostgreSQL; never fails on a timing.
bench-todo: install services
	$(BIN)/python bench/todo.py

# Indicators over 1,000,000 customers: recompute (daily snapshots, stars) and portlet p95.
bench-kpi: install services
	$(BIN)/python bench/kpi.py

# The workflow engine's open tasks and actions (500 open tasks), SQLite and PostgreSQL.
bench-workflow: install services
	$(BIN)/python bench/workflow.py --pg

# Meeting-room booking under contention and the calendar/iCalendar export, on PostgreSQL.
bench-affairs: install services
	$(BIN)/python bench/affairs.py

# The change events of the sync engine with their notices (apply, dispatch, end to end).
bench-sync: install services
	$(BIN)/python bench/sync.py

# Customer trace on PostgreSQL: search over 1,000,000 customers (p95 ≤ 30 ms) and a customer
# page with five years of purchases (p95 ≤ 50 ms), as an inspector and an admin.
bench-trace: install services
	$(BIN)/python bench/trace.py

clean:
	rm -rf $(VENV) test-output .pytest_cache .mypy_cache .ruff_cache .import_linter_cache \
	  *.egg-info build dist
	find . -path ./.git -prune -o -name __pycache__ -type d -prune -exec rm -rf {} +
