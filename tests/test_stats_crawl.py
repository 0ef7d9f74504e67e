"""Statistics end to end: a real crawl of the demo portal (127.0.0.1) stores each report's
figures with its version, `nianbao check` raises one `inconsistent` finding per report version
whose tables do not add up, figures have history, `nianbao stats` shows them, and an older
store gets them from its raw pages (`nianbao stats --rebuild`, `nianbao reextract`)."""

from __future__ import annotations

import json

import pytest

from nianbao.demo.site import with_body
from nianbao.demo.stats_site import PREFIX
from nianbao.demo.stats_tables import INCONSISTENT_2021, SAMPLE_2019, SAMPLE_2021
from nianbao.monitor.notify import KIND_LABELS
from nianbao.storage import FINDING_KINDS
from tests.conftest import crawl, query, run_nianbao

REPORT_2022 = "202301/t20230120_22.html"
REPORT_2021 = "202201/t20220125_21.html"
REPORT_2019 = "202001/t20200120_19.html"
REPORT_2017 = "201803/t20180320_17.html"
FIGURES_COLUMNS = [
    "report_id", "agency_id", "year", "format", "requests_new", "requests_new_natural_persons",
    "requests_carried_over", "granted", "partly_granted", "refused", "unable_to_provide",
    "not_processed", "other_handling", "handled_total", "carried_forward",
    "reconsideration_total", "reconsideration_corrected", "litigation_direct_total",
    "litigation_after_reconsideration_total", "regulations_current",
    "normative_documents_current",
]


def report_id(db, suffix: str) -> int:
    rows = query(db, "SELECT id FROM reports WHERE url LIKE ?", [f"%{suffix}"])
    assert len(rows) == 1, suffix
    return rows[0]["id"]


def table_figures(db, rid: int, version: int | None = None) -> dict:
    rows = query(db, "SELECT s.* FROM report_stats s JOIN reports r ON r.id = s.report_id "
                     "WHERE s.report_id = ? AND s.version = coalesce(?, r.current_version) "
                     "AND s.source = 'table'", [rid, version])
    return {(r["table_key"], r["row_key"], r["column_key"]): r["value"] for r in rows}


@pytest.fixture
def crawled(portal, demo_config, db_path):
    crawl(demo_config, db_path, "--agency", "demo-stats")
    return db_path


def test_a_crawl_stores_every_figure_with_its_version(crawled):
    db = crawled
    for suffix, expected in ((REPORT_2021, SAMPLE_2021), (REPORT_2019, SAMPLE_2019),
                             (REPORT_2022, INCONSISTENT_2021)):
        got = table_figures(db, report_id(db, suffix))
        assert {k: got.get(k, "absent") for k in expected} == expected, suffix
        assert {k: v for k, v in got.items() if k not in expected and v is not None} == {}
    rows = query(db, "SELECT DISTINCT version, source FROM report_stats WHERE report_id = ?",
                 [report_id(db, REPORT_2017)])
    assert rows == [{"version": 1, "source": "text"}]
    prose = query(db, "SELECT row_key, value, raw FROM report_stats WHERE report_id = ? ORDER BY row_key",
                  [report_id(db, REPORT_2017)])
    assert prose == [
        {"row_key": "disclosed_on_request", "value": 21, "raw": "依申请公开总数为21条"},
        {"row_key": "proactive_disclosed", "value": 1356, "raw": "主动公开政府信息1356条"},
        {"row_key": "requests_received", "value": 23, "raw": "受理政府信息公开申请23件"},
    ]
    checks = {r["check_key"]: r["result"] for r in query(
        db, "SELECT check_key, result FROM report_checks WHERE report_id = ?", [report_id(db, REPORT_2022)])}
    assert checks["requests_balance"] == "fail" and checks["review_litigation_sum"] == "pass"
    assert not query(db, "SELECT 1 FROM report_checks WHERE result = 'fail' AND report_id <> ?",
                     [report_id(db, REPORT_2022)])
    assert not query(db, "SELECT 1 FROM report_checks WHERE report_id = ?", [report_id(db, REPORT_2017)])


def test_report_figures_view(crawled):
    db = crawled
    rows = query(db, "SELECT * FROM report_figures ORDER BY year")
    assert list(rows[0]) == FIGURES_COLUMNS
    by_year = {r["year"]: r for r in rows}
    assert {y: r["format"] for y, r in by_year.items()} == {2017: "text", 2019: "2019", 2021: "2021", 2022: "2021"}
    assert by_year[2021] == {
        "report_id": report_id(db, REPORT_2021), "agency_id": "demo-stats", "year": 2021,
        "format": "2021", "requests_new": 50, "requests_new_natural_persons": 41,
        "requests_carried_over": 2, "granted": 24, "partly_granted": 5, "refused": 3,
        "unable_to_provide": 11, "not_processed": 4, "other_handling": 1, "handled_total": 48,
        "carried_forward": 4, "reconsideration_total": 3, "reconsideration_corrected": 1,
        "litigation_direct_total": 2, "litigation_after_reconsideration_total": 0,
        "regulations_current": 12, "normative_documents_current": 48}
    assert (by_year[2019]["regulations_current"], by_year[2019]["normative_documents_current"],
            by_year[2019]["other_handling"], by_year[2019]["refused"]) == (3, 41, 0, 1)
    assert by_year[2017]["requests_new"] == 23 and by_year[2017]["granted"] is None


def test_canned_query_compares_key_figures_across_agencies(crawled):
    """The metadata's canned query `key_figures_of_year`, run as Datasette would run it."""
    import yaml
    from pathlib import Path
    import nianbao.storage
    metadata = yaml.safe_load((Path(nianbao.storage.__file__).parent / "metadata.yml").read_text())
    sql = metadata["databases"]["nianbao"]["queries"]["key_figures_of_year"]["sql"]
    rows = query(crawled, sql, {"year": "2022", "region": ""})
    assert [(r["agency_id"], r["requests_new"], r["handled_total"]) for r in rows] == [
        ("demo-stats", 30, 29)]
    assert set(rows[0]["failed_checks"].split(", ")) == {
        "requests_balance", "handled_total_sum", "applicant_sum"}
    assert query(crawled, sql, {"year": "2022", "region": "不存在的省"}) == []


def test_check_raises_one_inconsistent_finding_per_report_version(crawled, demo_config):
    db = crawled
    assert "inconsistent" in FINDING_KINDS and "inconsistent" in KIND_LABELS
    for _ in range(2):
        result = run_nianbao("check", "--config", str(demo_config), "--db", str(db),
                             "--agency", "demo-stats", "--as-of", "2026-11-21")
        assert result.returncode == 0, result.stderr
    findings = query(db, "SELECT * FROM findings WHERE kind = 'inconsistent'")
    rid = report_id(db, REPORT_2022)
    assert [(f["report_id"], f["dedup_key"], f["year"]) for f in findings] == [
        (rid, f"inconsistent:{rid}:1", 2022)]
    details = json.loads(findings[0]["details"])
    failed = {c["check"]: c for c in details["checks"]}
    assert set(failed) == {"requests_balance", "handled_total_sum", "applicant_sum"}
    assert {"column": "total", "new": 30, "carried_over": 1, "handled_total": 29,
            "carried_forward": 1, "left": 31, "right": 30} in failed["requests_balance"]["failures"]
    assert "一、本年新收 + 二、上年结转" in failed["requests_balance"]["rule"]
    assert "do not add up" in details["summary"]


def test_figures_have_history(portal, crawled, demo_config):
    db = crawled
    path = f"{PREFIX}/{REPORT_2021}"
    portal.set_page(path, with_body(portal.page(path), "<td>1356</td>", "<td>1357</td>"))
    crawl(demo_config, db, "--agency", "demo-stats")
    rid = report_id(db, REPORT_2021)
    assert query(db, "SELECT current_version FROM reports WHERE id = ?", [rid])[0]["current_version"] == 2
    assert table_figures(db, rid, 1)[("disclosure", "licensing", "decisions")] == 1356
    assert table_figures(db, rid, 2)[("disclosure", "licensing", "decisions")] == 1357
    assert len(table_figures(db, rid, 1)) == len(table_figures(db, rid, 2))
    assert {r["version"] for r in query(db, "SELECT version FROM report_checks WHERE report_id = ?", [rid])} == {1, 2}


def test_stats_command(crawled):
    db = crawled
    result = run_nianbao("stats", "--db", str(db), "--year", "2021", "--json")
    assert result.returncode == 0, result.stderr
    rows = json.loads(result.stdout)
    assert [(r["agency_id"], r["requests_new"], r["failed_checks"]) for r in rows] == [("demo-stats", 50, [])]
    result = run_nianbao("stats", "--db", str(db), "--agency", "demo-stats")
    assert result.returncode == 0, result.stderr
    lines = [line.split() for line in result.stdout.splitlines()]
    assert ["2021", str(report_id(db, REPORT_2021)), "2021", "50", "24", "5", "3", "11", "4", "48", "4",
            "3", "2", "0", "12", "48", "ok"] in lines
    assert "failed requests_balance, handled_total_sum, applicant_sum" in result.stdout
    one = run_nianbao("stats", "--db", str(db), "--agency", "demo-stats", "--year", "2022")
    assert one.returncode == 0, one.stderr
    assert "check requests_balance: ✗ FAIL" in one.stdout and "1.属于国家秘密" in one.stdout
    detail = json.loads(run_nianbao("stats", "--db", str(db), "--agency", "demo-stats", "--year",
                                    "2019", "--json").stdout)
    assert detail[0]["format"] == "2019" and len(detail[0]["figures"]) > 150
    missing = run_nianbao("stats", "--db", str(db), "--agency", "nobody")
    assert missing.returncode == 2 and "nobody" in missing.stderr


def test_an_older_store_gets_its_figures_from_its_raw_pages(crawled, demo_config):
    db = crawled
    before = query(db, "SELECT * FROM report_stats ORDER BY report_id, table_key, row_key, column_key")
    checks = query(db, "SELECT * FROM report_checks ORDER BY report_id, check_key")
    assert len(before) > 600
    import sqlite3
    with sqlite3.connect(db) as connection:  # a store from before the statistics existed
        connection.execute("DELETE FROM report_stats")
        connection.execute("DELETE FROM report_checks")
    result = run_nianbao("stats", "--db", str(db), "--rebuild")
    assert result.returncode == 0, result.stderr
    assert "4 stored page(s)" in result.stdout and "1 new inconsistent finding(s)" in result.stdout
    assert query(db, "SELECT * FROM report_stats ORDER BY report_id, table_key, row_key, column_key") == before
    assert query(db, "SELECT * FROM report_checks ORDER BY report_id, check_key") == checks
    # nianbao reextract: the stored pages of an older extractor read again, figures included
    with sqlite3.connect(db) as connection:
        connection.execute("DELETE FROM report_stats")
        connection.execute("DELETE FROM report_checks")
        connection.execute("UPDATE versions SET extractor_version = 3")
    result = run_nianbao("reextract", "--config", str(demo_config), "--db", str(db), "--agency", "demo-stats")
    assert result.returncode == 0, result.stderr
    assert query(db, "SELECT * FROM report_stats ORDER BY report_id, table_key, row_key, column_key") == before
    assert query(db, "SELECT count(*) n FROM versions")[0]["n"] == 4  # the same texts: no version


def test_the_store_writes_figures_with_versions_and_fills_a_version_stored_without(tmp_path):
    """store.history: figures go with the version a fetch becomes; the same text fetched again
    fills a version stored before figures existed, and never rewrites figures it has."""
    import dataclasses

    from nianbao.crawler.stats import read_stats
    from nianbao.demo.stats_tables import report_body
    from nianbao.storage import Outcome, ReportFetch, Store
    from tests.test_coverage import agency

    html = f"<html><body><div id='zoom'>{report_body(SAMPLE_2021, '2021', '局', 2021)}</div></body></html>"
    stats = read_stats([html], "")
    base = ReportFetch(agency_id="zone", url="https://zone.example.gov.cn/ndbg/1.html",
                       title="2021年政府信息公开工作年度报告", text="一、总体情况", kind="annual_report",
                       year=2021, published_date="2022-01-20", raw_page=html.encode(),
                       raw_encoding="utf-8", fetched_at="2022-02-01T00:00:00Z")
    with Store(tmp_path / "nianbao.db") as store:
        store.agencies.sync([agency("zone", "government", 2019)])
        assert store.history.record_report(base) == Outcome.NEW  # an older crawler: no figures
        assert store.stats.figures(1) == []
        again = dataclasses.replace(base, figures=stats.figures, checks=stats.checks,
                                    fetched_at="2022-03-01T00:00:00Z")
        assert store.history.record_report(again) == Outcome.UNCHANGED
        assert len(store.stats.figures(1, 1)) == len(stats.figures) == 200
        assert {c["check_key"] for c in store.stats.checks(1)} == {
            "requests_balance", "handled_total_sum", "applicant_sum", "review_litigation_sum",
            "non_negative", "prose_request_total"}
        other = dataclasses.replace(again, figures=stats.figures[:3], fetched_at="2022-04-01T00:00:00Z")
        store.history.record_report(other)
        assert len(store.stats.figures(1, 1)) == 200
        changed = dataclasses.replace(again, text="一、总体情况（修订）", figures=stats.figures[:3],
                                      checks=(), fetched_at="2022-05-01T00:00:00Z")
        assert store.history.record_report(changed) == Outcome.CHANGED
        assert len(store.stats.figures(1, 2)) == 3 and len(store.stats.figures(1, 1)) == 200
        assert store.history.integrity_problems() == []


def test_report_xlsx_has_a_statistics_sheet(crawled, demo_config, tmp_path):
    """`nianbao report --xlsx`: the 统计数据 sheet holds each report's key figures, and the
    report whose figures do not add up has its failed checks named and marked."""
    from openpyxl import load_workbook

    out = tmp_path / "report.xlsx"
    result = run_nianbao("report", "--config", str(demo_config), "--db", str(crawled),
                         "--agency", "demo-stats", "--xlsx", str(out))
    assert result.returncode == 0, result.stderr[-2000:]
    sheet = load_workbook(out)["统计数据"]
    header = [c.value for c in sheet[1]]
    rows = {r[2]: dict(zip(header, r)) for r in sheet.iter_rows(min_row=2, values_only=True)}
    assert set(rows) == {2017, 2019, 2021, 2022}
    assert (rows[2021]["本年新收申请"], rows[2021]["办理总计"], rows[2021]["格式"]) == (50, 48, "2021")
    assert rows[2021]["未通过的校验"] is None
    assert set(rows[2022]["未通过的校验"].split(", ")) == {
        "requests_balance", "handled_total_sum", "applicant_sum"}
    column = header.index("未通过的校验") + 1
    fills = {sheet.cell(r, 3).value: sheet.cell(r, column).fill.start_color.rgb
             for r in range(2, sheet.max_row + 1)}
    assert fills[2022].endswith("FFC7CE") and not fills[2021].endswith("FFC7CE")
