# Both targets create .venv and install what they need on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test bench clean

demo: $(STAMP)
	$(BIN)/python -m nianbao.demo

test: $(STAMP)
	$(BIN)/python -m pytest

bench: $(STAMP)
	$(BIN)/python -m nianbao.bench

$(STAMP): pyproject.toml
	# antiword reads .doc/.wps attachments (docs/documents.md); installed only when missing
	command -v antiword >/dev/null 2>&1 || { command -v apt-get >/dev/null 2>&1 && \
		(apt-get update -qq && apt-get install -y -qq antiword) || \
		echo "antiword not installed: .doc/.wps files will be stored as 'unsupported'"; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test,datasette]'
	touch $(STAMP)

clean:
	rm -rf $(VENV) demo-output *.egg-info
