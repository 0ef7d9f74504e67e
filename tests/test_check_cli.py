"""`nianbao check` run as a child process on real SQLite files, and end to end after a real
crawl of the demo portal."""

from __future__ import annotations

import json
import sqlite3

import pytest
import yaml

from nianbao.storage import Store
from tests.conftest import crawl, run_nianbao
from tests.test_coverage import add_report, agency, good_crawl

AGENCIES = [agency("dept", "department", 2019), agency("gov", "government", 2019, "01-15")]


@pytest.fixture
def config(tmp_path):
    path = tmp_path / "agencies.yaml"
    path.write_text(yaml.safe_dump({"agencies": [
        {"id": a.id, "name": a.name, "kind": a.kind, "start_year": a.start_year,
         "sources": list(a.sources), **({"deadline": a.deadline} if a.deadline else {})}
        for a in AGENCIES]}, allow_unicode=True), encoding="utf-8")
    return path


@pytest.fixture
def db(tmp_path):
    path = tmp_path / "nianbao.db"
    with Store(path) as store:
        store.agencies.sync(AGENCIES)
        add_report(store, "dept", 2019, "2020-01-31")  # on the deadline day: on time
        add_report(store, "dept", 2020, None, seen="2021-02-01T02:00:00Z")  # first seen: late
        add_report(store, "gov", 2019, "2020-01-16")  # late by its own deadline (01-15)
        add_report(store, "gov", 2020, "2020-12-30", title_year=2021, text_year=2020,
                   year_basis="text")
        # complete crawls: one after dept's 2020 deadline that did not see its report yet
        # (so "first seen late" is a fact), and one now (so missing reports are verified)
        good_crawl(store, ["dept", "gov"], at="2021-02-01T00:00:00Z")
        good_crawl(store, ["dept", "gov"])
    return path


def check(config, db, *args):
    return run_nianbao("check", "--config", str(config), "--db", str(db), *args)


def findings(db) -> list[tuple[str, str]]:
    connection = sqlite3.connect(db)
    try:
        return connection.execute(
            "SELECT kind, dedup_key FROM findings WHERE dedup_key IS NOT NULL ORDER BY id").fetchall()
    finally:
        connection.close()


def test_json_rows(config, db):
    result = check(config, db, "--json", "--as-of", "2022-01-31")
    assert result.returncode == 0, result.stderr
    rows = json.loads(result.stdout)
    by_key = {(r["agency_id"], r["year"]): r for r in rows}
    assert sorted(by_key) == [("dept", 2019), ("dept", 2020), ("dept", 2021),
                              ("gov", 2019), ("gov", 2020), ("gov", 2021)]
    assert {k: r["status"] for k, r in by_key.items()} == {
        ("dept", 2019): "on_time", ("dept", 2020): "late", ("dept", 2021): "not_due",
        ("gov", 2019): "late", ("gov", 2020): "on_time", ("gov", 2021): "missing"}
    for row in rows:
        assert {"agency_id", "year", "status", "deadline", "report_id", "published_date",
                "report_status", "year_basis", "title_year"} <= row.keys()
    assert by_key[("dept", 2020)]["published_date"] == "2021-02-01"
    assert by_key[("dept", 2020)]["published_basis"] == "first_seen"
    assert by_key[("gov", 2021)]["deadline"] == "2022-01-15"
    assert by_key[("gov", 2021)]["report_id"] is None
    assert (by_key[("gov", 2020)]["year_basis"], by_key[("gov", 2020)]["title_year"]) == ("text", 2021)


def test_matrix_for_people(config, db):
    result = check(config, db, "--as-of", "2022-01-31")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "Coverage as of 2022-01-31"
    assert lines[1].split() == ["agency", "2019", "2020", "2021"]
    assert lines[2].split()[:4] == ["dept", "✓", "!", "·"]
    assert lines[3].split()[:4] == ["gov", "!", "✓†", "✗"]
    assert "✓ on time 2   ! late 2   ✗ missing 1   · not due yet 1" in result.stdout
    assert "† the report's year was read from its text" in result.stdout
    assert "\x1b[" not in result.stdout  # no colour codes when piped
    assert "New findings recorded: 2 late, 1 missing" in result.stdout


def test_findings_recorded_once_and_only_for_a_day_that_has_come(config, db):
    assert check(config, db, "--as-of", "2099-01-01", "--json").returncode == 0
    assert check(config, db, "--no-record").returncode == 0
    assert findings(db) == []
    for _ in range(3):
        result = check(config, db, "--as-of", "2022-01-31", "--json")
        assert result.returncode == 0, result.stderr
    assert sorted(findings(db)) == [("late", "late:dept:2020"), ("late", "late:gov:2019"),
                                    ("missing", "missing:gov:2021")]
    again = check(config, db, "--as-of", "2022-01-31")
    assert "New findings" not in again.stdout


def test_one_agency(config, db):
    rows = json.loads(check(config, db, "--json", "--agency", "gov", "--no-record").stdout)
    assert {r["agency_id"] for r in rows} == {"gov"}


@pytest.mark.parametrize("args, message", [
    pytest.param(("--agency", "nope"), "no agency with id 'nope'", id="unknown-agency"),
    pytest.param(("--config", "/nonexistent/agencies.yaml"), "file not found", id="no-config"),
])
def test_config_errors_exit_2(config, db, args, message):
    result = run_nianbao("check", "--config", str(config), "--db", str(db), *args)
    assert result.returncode == 2
    assert result.stderr.startswith("nianbao: config error:") and message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_bad_field_in_config_exits_2(tmp_path, db):
    bad = tmp_path / "bad.yaml"
    bad.write_text("agencies:\n  - {id: x, name: X, kind: ministry, start_year: 2019, "
                   "sources: ['https://x.gov.cn/']}\n", encoding="utf-8")
    result = run_nianbao("check", "--config", str(bad), "--db", str(db))
    assert result.returncode == 2 and "field 'kind'" in result.stderr


def test_check_after_a_crawl_of_the_demo_portal(portal, demo_config, db_path):
    crawl(demo_config, db_path)
    result = run_nianbao("check", "--config", str(demo_config), "--db", str(db_path),
                         "--json", "--as-of", "2026-11-21")
    assert result.returncode == 0, result.stderr
    status = {(r["agency_id"], r["year"]): r["status"] for r in json.loads(result.stdout)}
    expected = {
        ("demo-trs", 2012): "on_time",  # 2013-03-28
        ("demo-trs", 2013): "missing",
        ("demo-trs", 2016): "on_time",  # the PDF, listed 2017-03-31: on the deadline day
        ("demo-trs", 2017): "missing",
        ("demo-trs", 2019): "on_time",  # 2020-01-20, a government: due 2020-03-31
        ("demo-hanweb", 2018): "on_time",  # 2019-03-15: before 2019 every agency had to 31 March
        ("demo-hanweb", 2020): "on_time",  # 2021-01-25, a department: due 2021-01-31
        ("demo-hanweb", 2021): "late",  # 2022-02-15, a department: due 2022-01-31
        ("demo-gbk", 2019): "on_time",  # 2020-01-15
        ("demo-trad", 2019): "on_time",  # 2020-01-21
        ("demo-dead", 2019): "missing",
        ("demo-dead", 2025): "missing",
        ("demo-gkmlpt", 2019): "on_time",  # listed by the JSON API, page 2
        ("demo-gkmlpt", 2021): "on_time",  # 2022-01-20
        ("demo-zone", 2020): "on_time",
        ("demo-zone", 2022): "on_time",
        ("demo-xxgk", 2018): "on_time",  # on the query-string platform's page 2
        # the zone's column hosts the city's (demo-trs) and the region's 2021 reports, and the
        # zone has none of its own: each report counts for its issuer, so the zone's 2021 is
        # missing and the city's is on time (hosted_by demo-zone)
        ("demo-zone", 2021): "missing",
        ("demo-trs", 2021): "on_time",
        # the page prints 发布日期：2020-01-15 (on time for a department); its PubDate meta
        # 2022-04-24 is a site migration: the printed date wins
        ("demo-xxgk", 2019): "on_time",
        # the listing's titles carry pinyin ruby: normalised, they read as annual reports
        ("demo-ruby", 2019): "on_time",
        ("demo-ruby", 2020): "on_time",
        # found by discovery from the site's home page; 2026-01-19, a department: on time
        ("demo-redesign", 2025): "on_time",
        ("demo-redesign", 2023): "on_time",
    }
    assert {key: status.get(key) for key in expected} == expected
    assert ("demo-trs", 2020) in status and status[("demo-trs", 2020)] == "missing"  # 2020: only a 工作要点 report
    assert ("demo-trs", 2026) not in status
    missing = [key for kind, key in findings(db_path) if kind == "missing"]
    assert "missing:demo-trs:2013" in missing and len(missing) == len(set(missing))
    # the dead site was never crawled successfully: its rows are missing but unverified, and
    # no `missing` finding claims what nobody could see
    dead = {r["year"]: r for r in json.loads(result.stdout) if r["agency_id"] == "demo-dead"}
    assert dead[2019]["verified"] is False and dead[2019]["status"] == "missing"
    assert not any(key.startswith("missing:demo-dead") for key in missing)
    # the dead site: blind after SITE_FAILING_AFTER crawls in a row, reported once
    assert not any(kind == "site_failing" for kind, _ in findings(db_path))
    crawl(demo_config, db_path)
    crawl(demo_config, db_path)
    for _ in range(2):
        people = run_nianbao("check", "--config", str(demo_config), "--db", str(db_path),
                             "--as-of", "2026-11-21")
        assert people.returncode == 0, people.stderr
        assert "Site failing: demo-dead: listing pages failed in 3 crawls in a row" in people.stdout
    assert [key for kind, key in findings(db_path) if kind == "site_failing"] == [
        "site_failing:demo-dead:1"]
