"""Extraction changes are not report changes (storage/history.py re-extractions, `nianbao
reextract`, the crawl's catch-up in crawler/pipelines.py).

A store made by the previous extractor is built for real: crawl a portal, then rewrite each
version's text as an older extractor produced it and lower its extractor_version (as every
version stored before m007 has 1). Re-extraction, by the command or by the next crawl, must
then bring the texts (and dates) up to date with no `changed` finding, keeping the old texts
as history, and leave the store's invariants intact. The two stores differ in every surface
detail: the demo portal with header-navigation debris in its old texts and a migrated meta
date, re-extracted by the command; a site of its own with a split TRS article, a Hanweb page
whose visit counter changes the bytes of every fetch and a PDF, with a footer and a repost
disclaimer in its old texts, re-extracted by the crawl alone.
"""

from __future__ import annotations

import dataclasses
import json
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from nianbao.crawler.extract import EXTRACTOR_VERSION
from nianbao.demo.site import hanweb_article, paragraphs, report_text, trs_article
from nianbao.storage import Outcome, Reextraction, ReportFetch, Store, content_hash
from tests.conftest import crawl, run_nianbao
from tests.local_sites import LocalSite


def nav_debris(text: str) -> str:
    """The old extractor of the demo's store: header navigation kept above the body."""
    return "首页 | 简 | 繁 | EN | 登录\n网站首页 政务公开 互动交流 办事服务\n" + text


def footer_and_disclaimer(text: str) -> str:
    """The old extractor of the second store: the footer and a repost disclaimer kept."""
    return text + "\n主办单位：如东县人民政府　网站标识码：3206230001\n文章为作者独立观点，不代表本网站立场。"


def query(db: Path, sql: str, params=()) -> list[dict]:
    connection = sqlite3.connect(db)
    connection.row_factory = sqlite3.Row
    try:
        return [dict(r) for r in connection.execute(sql, params)]
    finally:
        connection.close()


def make_old(db: Path, rewrite: Callable[[str], str], *, migrated: dict[str, str] | None = None) -> dict[int, dict]:
    """Turn a store into one the previous extractor made; return each report's current state
    (text, date, basis) as this extractor made it, by report id.

    Every version gets extractor_version 1 and, when it has text, `rewrite(text)`; reports
    look as m007 left old rows (basis 'page', no issuer). migrated: url suffix -> a date the
    old extractor took from a migrated meta tag.
    """
    current = {r["id"]: r for r in query(db, "SELECT * FROM reports")}
    connection = sqlite3.connect(db)
    with connection:
        for report in current.values():
            if not report["text"]:  # a document: its version is identified by its bytes
                connection.execute("UPDATE versions SET extractor_version = 1 WHERE report_id = ?",
                                   (report["id"],))
                continue
            old = rewrite(report["text"])
            connection.execute(
                "UPDATE versions SET text = ?, content_hash = ?, extractor_version = 1, "
                "listing_title = NULL, listing_date = NULL WHERE report_id = ? AND version = ?",
                (old, content_hash(old), report["id"], report["current_version"]))
            date = next((d for suffix, d in (migrated or {}).items() if report["url"].endswith(suffix)),
                        report["published_date"])
            connection.execute(
                "UPDATE reports SET text = ?, content_hash = ?, published_date = ?, "
                "published_basis = CASE WHEN ? IS NULL THEN NULL ELSE 'page' END, "
                "date_evidence = '[]', issuer = NULL, counts_for = agency_id WHERE id = ?",
                (old, content_hash(old), date, date, report["id"]))
    connection.close()
    return current


def changed_findings(db: Path) -> int:
    return query(db, "SELECT count(*) AS n FROM findings WHERE kind = 'changed'")[0]["n"]


def assert_reextracted(db: Path, before: dict[int, dict], *, by_crawl: bool) -> None:
    """Every report with a text has it back as this extractor makes it, as a version with
    source 'reextract' reading the crawl version's raw page; the old text is kept."""
    after = {r["id"]: r for r in query(db, "SELECT * FROM reports")}
    with Store(db) as store:
        assert store.history.integrity_problems() == []
        for report_id, report in before.items():
            now = after[report_id]
            assert (now["text"], now["published_date"]) == (report["text"], report["published_date"])
            versions = query(db, "SELECT * FROM versions WHERE report_id = ? ORDER BY version",
                             (report_id,))
            if not report["text"]:  # a document: nothing to re-extract, its version is current
                assert versions[-1]["extractor_version"] == EXTRACTOR_VERSION
                continue
            crawled, redone = versions[-2], versions[-1]
            assert crawled["source"] == "crawl" and crawled["extractor_version"] == 1
            assert crawled["text"] != redone["text"]  # the old text is history
            assert (redone["source"], redone["extractor_version"], redone["raw_version_id"]) == (
                "reextract", EXTRACTOR_VERSION, crawled["id"])
            assert (redone["crawl_id"] is not None) is by_crawl
            assert store.history.raw_page(redone["id"]) == store.history.raw_page(crawled["id"])


# -- (a) the demo portal, re-extracted by the command --------------------------------------------


def test_reextract_command_then_recrawl_of_a_store_made_by_the_previous_extractor(
        portal, demo_config, db_path):
    crawl(demo_config, db_path)
    assert changed_findings(db_path) == 0
    findings = query(db_path, "SELECT count(*) AS n FROM findings")[0]["n"]
    before = make_old(db_path, nav_debris, migrated={"t20160320_2001.html": "2022-04-24"})
    assert query(db_path, "SELECT published_date FROM reports WHERE url LIKE '%t20160320_2001.html'"
                 ) == [{"published_date": "2022-04-24"}]

    # one agency first: only its reports are re-extracted
    result = run_nianbao("reextract", "--config", str(demo_config), "--db", str(db_path),
                         "--agency", "demo-hanweb")
    assert result.returncode == 0, result.stderr
    hanweb = {r["id"] for r in query(db_path, "SELECT id FROM reports WHERE agency_id = 'demo-hanweb'")}
    assert f"{len(hanweb)} stored page(s)" in result.stdout
    old_left = {r["id"] for r in query(db_path, "SELECT report_id AS id FROM versions v JOIN reports r "
                                       "ON r.id = v.report_id AND v.version = r.current_version "
                                       "WHERE v.extractor_version = 1")}
    assert old_left and not (old_left & hanweb)

    result = run_nianbao("reextract", "--config", str(demo_config), "--db", str(db_path))
    assert result.returncode == 0, result.stderr
    assert "0 failed" in result.stdout
    assert_reextracted(db_path, before, by_crawl=False)
    migrated = query(db_path, "SELECT published_date, published_basis, date_evidence FROM reports "
                     "WHERE url LIKE '%t20160320_2001.html'")[0]
    assert (migrated["published_date"], migrated["published_basis"]) == ("2016-03-20", "printed")
    assert {e["source"] for e in json.loads(migrated["date_evidence"])} >= {"printed", "meta"}
    # nothing to tell anybody: no finding at all
    assert query(db_path, "SELECT count(*) AS n FROM findings")[0]["n"] == findings

    versions = query(db_path, "SELECT count(*) AS n FROM versions")[0]["n"]
    crawl(demo_config, db_path)
    assert changed_findings(db_path) == 0
    assert query(db_path, "SELECT count(*) AS n FROM versions")[0]["n"] == versions
    last = query(db_path, "SELECT max(id) AS id FROM crawls")[0]["id"]
    assert {r["outcome"] for r in query(db_path, "SELECT outcome FROM sightings WHERE crawl_id = ?",
                                        (last,))} == {"unchanged"}
    again = run_nianbao("reextract", "--config", str(demo_config), "--db", str(db_path))
    assert again.returncode == 0 and "0 stored page(s)" in again.stdout


# -- (b) a site of its own, re-extracted by the crawl ---------------------------------------------

AGENCY = "如东县住房和城乡建设局"


def counter_page(count: int) -> str:
    """A Hanweb article whose visit counter is written into the page: new bytes every fetch."""
    page = hanweb_article(f"{AGENCY}2018年政府信息公开工作年度报告", "2019-01-25",
                          paragraphs(report_text(AGENCY, 2018)), site="如东县人民政府")
    return page.replace('<span id="c">1024</span>', f'<span id="c">{count}</span>')


def build_site(local: LocalSite) -> None:
    title = f"{AGENCY}2019年政府信息公开工作年度报告"
    first, second = report_text(AGENCY, 2019).split("四、", 1)
    for number, body in enumerate((paragraphs(first), paragraphs("四、" + second))):
        name = "t20200117_88" + (f"_{number}" if number else "")
        local.page(f"/zfxxgk/ndbg/202001/{name}.html", trs_article(
            title, "2020-01-17", body, site="如东县人民政府", pager=(2, number, "t20200117_88")))
    local.page("/zfxxgk/ndbg/201901/art_9_1.html", counter_page(1024))
    local.answers["/zfxxgk/ndbg/202101/P020210120_5.pdf"] = (
        200, {"Content-Type": "application/pdf"}, b"%PDF-1.4\n% 2020 report\n%%EOF\n")
    local.page("/zfxxgk/ndbg/index.html", f"""<html><head><meta charset="utf-8"><title>年报</title></head><body><ul>
<li><a href="./202101/P020210120_5.pdf">{AGENCY}2020年政府信息公开工作年度报告</a><span>2021-01-20</span></li>
<li><a href="./202001/t20200117_88.html">{title}</a><span>2020-01-17</span></li>
<li><a href="./201901/art_9_1.html">{AGENCY}2018年政府信息公开工作年度报告</a><span>2019-01-25</span></li>
</ul></body></html>""")


def test_a_recrawl_reextracts_the_stored_pages_of_the_previous_extractor(tmp_path):
    db = tmp_path / "nianbao.db"
    with LocalSite() as local:
        build_site(local)
        config = tmp_path / "agencies.yaml"
        config.write_text(yaml.safe_dump({"agencies": [dict(
            id="rd-housing", name=AGENCY, kind="department", region="江苏省南通市如东县",
            start_year=2018, sources=[local.url("/zfxxgk/ndbg/index.html")])]},
            allow_unicode=True), encoding="utf-8")
        crawl(config, db)
        split = query(db, "SELECT text FROM reports WHERE url LIKE '%t20200117_88.html'")[0]["text"]
        assert "四、" in split and "一、" in split  # both parts were read and joined
        before = make_old(db, footer_and_disclaimer)
        local.page("/zfxxgk/ndbg/201901/art_9_1.html", counter_page(1025))  # new bytes, same text
        crawl(config, db)
    assert changed_findings(db) == 0
    assert_reextracted(db, before, by_crawl=True)
    outcomes = query(db, "SELECT outcome FROM sightings WHERE crawl_id = (SELECT max(id) FROM crawls)")
    assert {r["outcome"] for r in outcomes} == {"unchanged"} and len(outcomes) == 3


# -- (c) the store's rules -----------------------------------------------------------------------

PAGE = "<html><body><h1>年报</h1><p>一、总体情况</p></body></html>".encode()


@pytest.fixture
def store(tmp_path):
    from tests.test_coverage import agency
    with Store(tmp_path / "nianbao.db") as s:
        s.agencies.sync([agency("zone", "government", 2019), agency("city", "government", 2018)])
        yield s


def fetch(**changes) -> ReportFetch:
    return dataclasses.replace(ReportFetch(
        agency_id="zone", url="https://zone.example.gov.cn/ndbg/1.html",
        title="2019年政府信息公开工作年度报告", text="一、总体情况\n首页 EN 登录", kind="annual_report",
        year=2019, published_date="2020-03-20", raw_page=PAGE, raw_encoding="utf-8",
        fetched_at="2020-04-01T00:00:00Z", extractor_version=1), **changes)


def test_same_bytes_with_another_text_is_a_reextraction_not_a_change(store):
    assert store.history.record_report(fetch()) == Outcome.NEW
    newer = fetch(text="一、总体情况", extractor_version=2, fetched_at="2020-05-01T00:00:00Z")
    assert store.history.record_report(newer) == Outcome.UNCHANGED
    versions = store.db.execute("SELECT version, source, extractor_version, raw_version_id "
                                "FROM versions ORDER BY version").fetchall()
    assert [tuple(v) for v in versions] == [(1, "crawl", 1, None), (2, "reextract", 2, 1)]
    # an older extractor meeting the same bytes does not undo the newer text
    assert store.history.record_report(fetch(text="旧文本", extractor_version=1)) == Outcome.UNCHANGED
    assert store.db.execute("SELECT text FROM reports").fetchone()[0] == "一、总体情况"
    # new bytes are a change
    changed = fetch(text="一、总体情况（修订）", raw_page=PAGE + "<p>修订</p>".encode(), extractor_version=2)
    assert store.history.record_report(changed) == Outcome.CHANGED
    kinds = [r[0] for r in store.db.execute("SELECT kind FROM findings ORDER BY id")]
    assert kinds == ["new", "changed"]
    assert store.history.integrity_problems() == []


def test_a_fetch_naming_no_extractor_is_compared_as_given(store):
    store.history.record_report(fetch(extractor_version=None))
    assert store.history.record_report(fetch(text="另一文本", extractor_version=None)) == Outcome.CHANGED


def redo(store: Store, **changes) -> Reextraction:
    row = store.history.stored_pages()[0]
    return dataclasses.replace(Reextraction(
        report_id=row["report_id"], raw_version_id=row["raw_version_id"], title="南宁市2019年政府信息公开工作年度报告",
        text="一、总体情况", kind="annual_report", year=2019, published_date="2020-03-18",
        published_basis="printed", extractor_version=2, issuer="南宁市", counts_for="city",
        date_evidence=({"source": "printed", "date": "2020-03-18", "label": "发布日期"},)), **changes)


def test_record_reextraction(store):
    store.history.record_report(fetch())
    assert store.history.record_reextraction(redo(store)) == "reextracted"
    report = dict(zip(*(lambda c: ([d[0] for d in c.description], c.fetchone()))(
        store.db.execute("SELECT * FROM reports"))))
    assert (report["text"], report["published_date"], report["published_basis"], report["issuer"],
            report["counts_for"], report["current_version"]) == (
        "一、总体情况", "2020-03-18", "printed", "南宁市", "city", 2)
    # the same extractor again, or a page that is no longer current: nothing
    assert store.history.record_reextraction(redo(store)) == "stale"
    assert store.history.record_reextraction(redo(store, extractor_version=3, raw_version_id=999)) == "stale"
    # a newer extractor with the same text: the version says so, no new version
    assert store.history.record_reextraction(redo(store, extractor_version=3, issuer=None, counts_for=None)) == "same"
    assert store.db.execute("SELECT max(version), max(extractor_version) FROM versions").fetchone() == (2, 3)
    # no issuer named: the host's, whatever was asked
    assert store.db.execute("SELECT counts_for FROM reports").fetchone()[0] == "zone"
    assert store.db.execute("SELECT count(*) FROM findings WHERE kind = 'changed'").fetchone()[0] == 0
    assert store.history.integrity_problems() == []
