# Both targets create .venv and install what they need on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test bench clean constraints

demo: $(STAMP)
	$(BIN)/python -m nianbao.demo

test: $(STAMP)
	$(BIN)/python -m pytest

bench: $(STAMP)
	$(BIN)/python -m nianbao.bench

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test,datasette]'
	touch $(STAMP)

# The versions tested together, for the service install (deploy/README.md): regenerate after
# `make test` passes with new versions.
constraints: $(STAMP)
	{ echo "# Versions tested together (make constraints, from a venv where make test passed)."; \
	  echo "# Service install: pip install -c deploy/constraints.txt ."; \
	  $(BIN)/python -m pip freeze --exclude-editable --all 2>/dev/null \
	    | grep -v -i -E '^(nianbao|pip|setuptools|wheel)([=@ ]|$$)'; } > deploy/constraints.txt

clean:
	rm -rf $(VENV) demo-output *.egg-info
