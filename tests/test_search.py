"""Full-text search of reports for Chinese: reports_fts (FTS5, trigram), its triggers, m013_search.

Real stores written through the Store API, searched with SQL as Datasette's ?_search= does
(the table and phrase quoting it uses) and through Datasette itself.
"""

from __future__ import annotations

import asyncio
import urllib.parse

import pytest

from nianbao.storage import AgencyRecord, ReportFetch, Store, utc_now
from nianbao.storage.migrations import MIGRATIONS
from sqlite_utils import Database

AGENCY = AgencyRecord("hf-czj", "合肥市财政局", "department", "安徽省合肥市", 2015, ())
# A second agency differing in every surface detail: a government, another province, traditional
# characters never stored, numbers and Latin in the text, a table row.
OTHER = AgencyRecord("zz-gov", "郑州市人民政府", "government", "河南省郑州市", 2010, ())

TEXT_A = ("一、总体情况\n2019年，本局全年主动公开政府信息1234条，收到政府信息公开申请15件。\n"
          "二、行政复议情况\n全年未发生行政复议案件。")
TEXT_B = ("根据《条例》要求，现将本府2020年度报告公布如下。\n"
          "项目 | 本年新制作 | 本年新公开\n规章 | 3 | 2\n"
          "附件：统计表（PDF）中列明依申请公开办理结果共计56件，网站访问量1.2万次。")


def fetch(agency: str, url: str, title: str, text: str, year: int = 2019) -> ReportFetch:
    return ReportFetch(agency_id=agency, url=url, title=title, text=text, kind="annual_report",
                       year=year, published_date=f"{year + 1}-01-20",
                       raw_page=("<html>" + text + "</html>").encode(), raw_encoding="utf-8",
                       fetched_at=utc_now(), crawl_id=None)


def search(store: Store, phrase: str) -> list[int]:
    """Report ids matching a phrase, as Datasette's ?_search= asks (each term quoted)."""
    quoted = '"' + phrase.replace('"', '""') + '"'
    return sorted(row[0] for row in store.db.execute(
        "SELECT rowid FROM reports_fts WHERE reports_fts MATCH ?", [quoted]).fetchall())


def integrity(store: Store) -> None:
    # For an external-content table, rank 1 also compares the index with the reports table.
    store.db.execute("INSERT INTO reports_fts (reports_fts, rank) VALUES ('integrity-check', 1)")


@pytest.fixture
def store(tmp_path):
    with Store(tmp_path / "nianbao.db") as opened:
        opened.agencies.sync([AGENCY, OTHER])
        yield opened


def test_three_characters_match_anywhere_in_chinese_text(store):
    store.history.record_report(fetch("hf-czj", "https://czj.hefei.gov.cn/1.html",
                                      "合肥市财政局2019年政府信息公开工作年度报告", TEXT_A))
    store.history.record_report(fetch("zz-gov", "http://www.zhengzhou.gov.cn/ndbg/2.htm",
                                      "郑州市人民政府2020年政府信息公开工作年度报告", TEXT_B, 2020))
    ids = {row["agency_id"]: row["id"] for row in store.db.query("SELECT id, agency_id FROM reports")}
    assert search(store, "行政复议") == [ids["hf-czj"]]
    assert search(store, "依申请公开") == [ids["zz-gov"]]  # text from the attachment's table
    assert search(store, "政府信息公开工作年度报告") == sorted(ids.values())  # titles
    assert search(store, "1234条") == [ids["hf-czj"]]
    assert search(store, "1.2万次") == [ids["zz-gov"]]
    assert search(store, "本年新制作") == [ids["zz-gov"]]
    assert search(store, "审计署") == []
    # 2 characters: trigram cannot match (the canned query search_short scans instead)
    assert search(store, "复议") == []
    integrity(store)


def test_index_follows_new_versions_and_reextractions(store):
    url = "https://czj.hefei.gov.cn/1.html"
    title = "合肥市财政局2019年政府信息公开工作年度报告"
    store.history.record_report(fetch("hf-czj", url, title, TEXT_A))
    [report_id] = [row[0] for row in store.db.execute("SELECT id FROM reports")]
    changed = TEXT_A.replace("1234条", "4321条").replace("行政复议", "行政诉讼")
    store.history.record_report(fetch("hf-czj", url, title, changed))
    assert search(store, "1234条") == [] and search(store, "行政复议") == []
    assert search(store, "4321条") == [report_id] and search(store, "行政诉讼") == [report_id]
    # the same text again only moves last_seen: the index is not rewritten (its rows stay)
    before = store.db.execute("SELECT count(*) FROM reports_fts_data").fetchone()[0]
    store.history.record_report(fetch("hf-czj", url, title, changed))
    assert store.db.execute("SELECT count(*) FROM reports_fts_data").fetchone()[0] == before
    integrity(store)
    # every table that refers to a report, then the reports (the delete trigger's turn)
    referring = [name for (name,) in store.db.execute(
        "SELECT m.name FROM sqlite_master m, pragma_foreign_key_list(m.name) f "
        "WHERE m.type = 'table' AND f.\"table\" = 'reports' GROUP BY m.name")]
    for name in referring:
        store.db.execute(f"DELETE FROM [{name}]")
    store.db.execute("DELETE FROM reports")
    assert search(store, "4321条") == []
    integrity(store)


def test_migration_indexes_an_existing_store(tmp_path):
    """A store written before m013 (every earlier step applied) is indexed when opened."""
    path = tmp_path / "old.db"
    db = Database(path)
    MIGRATIONS.apply(db, stop_before="m013_search")
    assert "reports_fts" not in db.table_names()
    db["agencies"].insert({"id": "hf-czj", "name": "合肥市财政局", "kind": "department",
                           "region": "安徽省合肥市", "start_year": 2015, "sources": "[]",
                           "updated_at": "2020-01-01T00:00:00Z"})
    db["reports"].insert({"id": 7, "agency_id": "hf-czj", "year": 2019, "kind": "annual_report",
                          "title": "合肥市财政局2019年度报告", "url": "https://x/1.html",
                          "status": "live", "first_seen": "2020-01-02T00:00:00Z",
                          "last_seen": "2020-01-02T00:00:00Z", "text": TEXT_A,
                          "current_version": 1, "content_hash": "x"})
    db.close()
    with Store(path) as store:
        assert "m013_search" in store.applied_migrations
        assert search(store, "行政复议") == [7]
        integrity(store)


def test_datasette_search_on_the_reports_table(store, tmp_path):
    pytest.importorskip("datasette.app")
    from nianbao.web.app import make_datasette

    store.history.record_report(fetch("hf-czj", "https://czj.hefei.gov.cn/1.html",
                                      "合肥市财政局2019年政府信息公开工作年度报告", TEXT_A))
    store.history.record_report(fetch("zz-gov", "http://www.zhengzhou.gov.cn/ndbg/2.htm",
                                      "郑州市人民政府2020年政府信息公开工作年度报告", TEXT_B, 2020))

    async def run() -> dict:
        ds = make_datasette(store.path)
        out = {}
        for name, path in {
            "three": "/nianbao/reports.json?_shape=array&_search=" + urllib.parse.quote("行政复议"),
            "phrase": "/nianbao/reports.json?_shape=array&_search=" + urllib.parse.quote("依申请公开"),
            "two": "/nianbao/reports.json?_shape=array&_search=" + urllib.parse.quote("复议"),
            "short": "/nianbao/search_short.json?_shape=array&q=" + urllib.parse.quote("复议"),
            "canned": "/nianbao/search.json?_shape=array&q=" + urllib.parse.quote("行政复议"),
        }.items():
            response = await ds.client.get(path)
            assert response.status_code == 200, (path, response.text[:300])
            out[name] = response.json()
        return out

    results = asyncio.run(run())
    assert [r["agency_id"] for r in results["three"]] == ["hf-czj"]
    assert [r["agency_id"] for r in results["phrase"]] == ["zz-gov"]
    assert results["two"] == []
    assert [r["agency_id"] for r in results["short"]] == ["hf-czj"]
    assert "复议" in results["short"][0]["context"]
    [hit] = results["canned"]
    assert hit["agency_id"] == "hf-czj" and "\x02行政复议\x03" in hit["passage"]
