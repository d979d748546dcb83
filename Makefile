# The two commands a newcomer needs: `make run` and `make test` (see README.md).
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

# Debian packages the real parts need: Dovecot for the local mail provider, Chromium for the browser tests.
SYSTEM_PACKAGES := dovecot-imapd chromium

.PHONY: run test format venv system-packages clean

run: $(STAMP) system-packages
	DEBUG=1 $(PY) manage.py migrate --noinput
	DEBUG=1 $(PY) manage.py createcachetable
	DEBUG=1 GMAIL_PUBSUB_TOPIC=$${GMAIL_PUBSUB_TOPIC-projects/local-mail/topics/gmail} $(PY) manage.py run_demo

test: $(STAMP) system-packages
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy channels_app config localprovider
	$(PY) -m pytest $(PYTEST_ARGS)

format: $(STAMP)
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

venv: $(STAMP)

# requirements-dev.txt: what production runs (requirements.txt) plus Local mail and the test tools, which
# `make run` and `make test` both need. Reinstall whenever either file changes. A fresh Debian has no venv
# module for its Python until python3-venv is installed.
$(STAMP): requirements.txt requirements-dev.txt
	@if [ ! -x $(PY) ]; then \
	  $(PYTHON) -m venv $(VENV) 2>/dev/null || { \
	    echo "Installing python3-venv (Debian ships Python without it)"; \
	    rm -rf $(VENV); \
	    if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq python3-venv; \
	    else sudo apt-get update -qq && sudo apt-get install -y -qq python3-venv; fi; \
	    $(PYTHON) -m venv $(VENV); }; \
	fi
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $(STAMP)

# Installs what is missing when we are root on Debian; elsewhere says what is missing
# (the tests that need it then skip, except under CI=true where they fail).
system-packages:
	@missing=""; for p in $(SYSTEM_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "Installing Debian packages:$$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	  else echo "Missing Debian packages:$$missing (run make as root to install them)"; fi; \
	fi

clean:
	rm -rf $(VENV) db.sqlite3 .testbed test-artifacts
