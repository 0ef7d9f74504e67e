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

# Debian packages: antiword reads .doc/.wps attachments (docs/documents.md; without it they are
# stored as 'unsupported'); chromium and its driver for the browser tests of `nianbao serve`
# (tests/test_web.py), CJK fonts so Chinese shows in their screenshots. Installed only when
# missing (as root, as CI runs); without them those tests are skipped, never downloaded.
DEBIAN_TEST_PACKAGES := antiword chromium chromium-driver fonts-noto-cjk

$(STAMP): pyproject.toml
	@missing=""; for pkg in $(DEBIAN_TEST_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$pkg 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$pkg"; \
	done; \
	if [ -n "$$missing" ] && [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  echo "installing Debian packages:$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
	elif [ -n "$$missing" ]; then echo "not installed (.doc files unread, browser tests skipped):$$missing"; fi
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
