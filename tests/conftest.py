"""Shared fixtures: the demo portal and the fault server on 127.0.0.1, temporary databases, crawl runner."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from nianbao.demo.portal import DemoPortal
from tests.faults import FaultServer

REPO = Path(__file__).resolve().parent.parent
FILES = Path(__file__).resolve().parent / "files"

# Crawls in tests re-fetch every known report and follow every listing page on each crawl,
# as the tests written before the re-check rotation and early paging stop expect; those two
# are tested with explicit settings (tests/test_incremental.py). Children inherit these.
os.environ.setdefault("NIANBAO_RECHECK_KNOWN_EVERY", "0s")
os.environ.setdefault("NIANBAO_FULL_PASS_EVERY", "0s")
# Extraction on the reactor thread: a worker process costs a second of start-up per crawl,
# and tests run hundreds of crawls (tests/test_incremental.py runs crawls with a worker).
os.environ.setdefault("NIANBAO_EXTRACT_WORKERS", "0")

# One loopback host: no politeness delays, short timeouts, quick retries.
FAST_SETTINGS = {
    "DOWNLOAD_DELAY": "0",
    "AUTOTHROTTLE_ENABLED": "False",
    "CONCURRENT_REQUESTS_PER_DOMAIN": "8",
    "DOWNLOAD_TIMEOUT": "5",  # generous: a loaded 2-core CI machine must not time out a loopback page
    "RETRY_TIMES": "1",
    "NIANBAO_RETRY_BACKOFF_BASE": "0.05",
    # Removals and suspect changes still need a later crawl to confirm them, but no wait.
    "NIANBAO_CONFIRM_REMOVAL_AFTER": "0s",
    "NIANBAO_CONFIRM_CHANGE_AFTER": "0s",
}


@pytest.fixture
def portal():
    with DemoPortal() as running:
        yield running


@pytest.fixture
def fault_server():
    """A small portal whose paths can be scripted to fail per attempt (tests/faults.py)."""
    with FaultServer() as running:
        yield running


@pytest.fixture
def demo_config(portal, tmp_path) -> Path:
    return portal.write_registry(tmp_path / "agencies.yaml")


@pytest.fixture
def db_path(tmp_path) -> Path:
    return tmp_path / "nianbao.db"


def run_nianbao(*args: str, env: dict | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    """Run the `nianbao` command in a child process (one Twisted reactor per crawl)."""
    return subprocess.run(
        [sys.executable, "-m", "nianbao", *args],
        cwd=REPO, env={**os.environ, **(env or {})}, capture_output=True, text=True,
        timeout=timeout,
    )


def crawl(config: Path, db: Path, *extra: str, settings: dict | None = None) -> subprocess.CompletedProcess:
    overrides = {**FAST_SETTINGS, "LOG_LEVEL": "INFO", **(settings or {})}
    flags = [f"-s{name}={value}" for name, value in overrides.items()]
    result = run_nianbao("crawl", "--config", str(config), "--db", str(db), *flags, *extra)
    assert result.returncode == 0, result.stderr[-3000:]
    return result


def query(db, sql: str, params=(), *, timeout: float = 10) -> list[dict]:
    """Rows of a read-only query on a store file, as dicts (the store is closed afterwards);
    timeout: how long to wait for a writer's lock, in seconds."""
    connection = sqlite3.connect(db, timeout=timeout)
    connection.row_factory = sqlite3.Row
    try:
        return [dict(row) for row in connection.execute(sql, params)]
    finally:
        connection.close()


@pytest.fixture(autouse=True, scope="session")
def _registry_cache(tmp_path_factory):
    """Compiled registries (config/registry_cache.py) of the tests go to a temporary
    directory, for this process and the nianbao processes it starts, not to ~/.cache."""
    os.environ["NIANBAO_CACHE_DIR"] = str(tmp_path_factory.mktemp("registry-cache"))
    yield


def pytest_collection_modifyitems(config, items):
    """Tests marked `soak` (the whole fault matrix: many minutes) run only with NIANBAO_SOAK=1."""
    if os.environ.get("NIANBAO_SOAK") == "1":
        return
    skip = pytest.mark.skip(reason="soak test: set NIANBAO_SOAK=1 to run it")
    for item in items:
        if "soak" in item.keywords:
            item.add_marker(skip)
