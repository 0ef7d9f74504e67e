"""bench/national.py at a tiny size: the harness runs end to end and reports every
measurement in the shape `make bench` reads (no timing is asserted)."""

from __future__ import annotations

import pytest

from nianbao.bench import national

KEYS = {"measurement", "target", "unit", "runs", "median", "min", "max", "peak_rss_mb", "met",
        "detail"}


@pytest.mark.timeout(600)
def test_national_bench_smoke(tmp_path):
    results = national.run(tmp_path, agencies=200, years=4, repeats=1)
    names = [r["measurement"] for r in results]
    assert names[0] == "build the synthetic store"
    assert {"check", "check --json", "check --jsonl", "registry load (cached)"} <= set(names)
    for result in results:
        assert set(result) == KEYS, result["measurement"]
        assert result["runs"] and result["min"] <= result["median"] <= result["max"]
    check = next(r for r in results if r["measurement"] == "check")
    assert check["peak_rss_mb"] > 0 and isinstance(check["met"], bool)
    # the store is reused by a second run with the same sizes: no second build
    again = national.run(tmp_path, agencies=200, years=4, repeats=1)
    assert "build the synthetic store" not in [r["measurement"] for r in again]
