# 个人工作平台 — the two commands that matter: `make demo` and `make test`.
PY      ?= python3
VENV    := .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed-$(shell cat pyproject.toml examples/*/pyproject.toml 2>/dev/null | cksum | cut -d' ' -f1)
PORT    ?= 5000

.PHONY: install system venv translations lint typecheck contracts test pytest demo bench clean

install: system venv translations

system:
	bash scripts/install-system.sh

venv: $(STAMP)
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	rm -f $(VENV)/.installed-*
	touch $@

translations: venv
	$(BIN)/python scripts/i18n.py check
	for d in portal/translations portlets/*/translations; do \
	  [ -d "$$d" ] && $(BIN)/pybabel compile -q -f -d "$$d" || true; done

lint: venv
	$(BIN)/ruff check .

typecheck: venv
	$(BIN)/mypy

contracts: venv
	$(BIN)/lint-imports

pytest: venv
	bash scripts/services.sh
	mkdir -p test-output
	$(BIN)/pytest -p no:cacheprovider

test: install lint typecheck contracts pytest

demo: install
	$(BIN)/portal db upgrade
	$(BIN)/portal demo-data --if-empty
	$(BIN)/portal serve --port $(PORT)

bench: install
	bash scripts/services.sh
	$(BIN)/python bench/homepage.py

clean:
	rm -rf $(VENV) instance test-output .pytest_cache .mypy_cache .ruff_cache *.egg-info
