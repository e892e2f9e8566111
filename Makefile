# Vänringen: `make run` to try it, `make test` to check it.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install run test bench lint translations clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

run: install
	$(BIN)/vanringen db upgrade
	$(BIN)/vanringen demo-data --if-empty
	$(BIN)/vanringen run --host 127.0.0.1 --port 5000

test: install
	$(BIN)/pytest

bench: install
	@for script in benchmarks/*.py; do echo "== $$script"; $(BIN)/python $$script || exit 1; done

lint: install
	$(BIN)/ruff check .

# After changing texts: extract, update the English catalogue, translate, compile.
translations: install
	$(BIN)/pybabel extract -F babel.cfg -k _l -o vanringen/translations/messages.pot .
	$(BIN)/pybabel update -i vanringen/translations/messages.pot -d vanringen/translations
	$(BIN)/pybabel compile -d vanringen/translations

clean:
	rm -rf $(VENV) instance *.egg-info
