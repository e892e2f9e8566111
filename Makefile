# Vänringen: `make run` to try it, `make test` to check it.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install test-tools run test bench lint translations clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

# Test tools from npm (package.json): Prism and Twilio's OpenAPI spec for tests/twilio_mock.py.
# Without npm the Twilio mock tests are skipped (and fail in CI). npm ci leaves the files'
# dates from the tarballs, hence the touch.
PRISM := node_modules/.bin/prism
$(PRISM): package-lock.json
	@if command -v npm >/dev/null 2>&1; then \
		SCARF_ANALYTICS=false npm ci --ignore-scripts --no-audit --no-fund && touch $@; \
	else \
		echo "npm not found: tests against the Twilio mock will be skipped (needs Node >= 18.20.1)"; \
	fi

test-tools: $(PRISM)

# The scheduler (the Procfile's clock) runs beside the web server and stops with it.
run: install
	$(BIN)/vanringen db upgrade
	$(BIN)/vanringen demo-data --if-empty
	$(BIN)/vanringen scheduler & trap 'kill $$! 2>/dev/null' EXIT; \
		$(BIN)/vanringen run --host 127.0.0.1 --port 5000

test: install test-tools
	$(BIN)/pytest

# The benchmarks (PostgreSQL on 127.0.0.1 for some) and Locust, the `bench` extra; what they
# share is in benchmarks/support/.
BENCH_STAMP := $(VENV)/.installed-bench
$(BENCH_STAMP): $(STAMP)
	$(BIN)/pip install -q -e '.[dev,bench]'
	touch $(BENCH_STAMP)

bench: $(BENCH_STAMP)
	@for script in benchmarks/*.py; do echo "== $$script"; $(BIN)/python $$script || exit 1; done

lint: install
	$(BIN)/ruff check .

# After changing texts: extract, update the English catalogue (or start it), translate the
# new entries in vanringen/translations/en/LC_MESSAGES/messages.po, then run this again to
# compile. tests/test_i18n.py fails while any text is untranslated or fuzzy.
I18N := vanringen/translations
translations: install
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext --add-location=file \
		--project=Vänringen -o $(I18N)/messages.pot .
	if test -f $(I18N)/en/LC_MESSAGES/messages.po; then \
		$(BIN)/pybabel update -i $(I18N)/messages.pot -d $(I18N) --ignore-obsolete; \
	else \
		$(BIN)/pybabel init -i $(I18N)/messages.pot -d $(I18N) -l en; \
	fi
	$(BIN)/pybabel compile -d $(I18N) --statistics

clean:
	rm -rf $(VENV) instance *.egg-info node_modules
