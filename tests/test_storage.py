"""Tests of storage/: history by hash, removals, crawl summaries, WAL, migrations, metadata.

Every test uses its own tmp_path database (real SQLite) and closes it.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime
import json
import signal
import sqlite3
import textwrap
import time
import zlib
from pathlib import Path

import pytest
import yaml

from nianbao.storage import (
    MIGRATIONS,
    AgencyRecord,
    AgencySummary,
    Outcome,
    ReportFetch,
    StorageError,
    Store,
    UnknownAgency,
    UnknownCrawl,
    UnknownVersion,
    content_hash,
    normalize_text,
)
from tests.kill_writer import kill_writer_after

ROOT = Path(__file__).resolve().parents[1]
METADATA = ROOT / "storage" / "metadata.yml"

MOF = AgencyRecord("mof", "财政部", "department", None, 2008, ("https://www.mof.gov.cn/gkml/",))
BJ = AgencyRecord("bj", "北京市人民政府", "government", "北京市", 2009, ["https://www.beijing.gov.cn/"])
TEXT = "财政部2023年政府信息公开工作年度报告\n一、总体情况\n2023年，财政部坚持……\n二、主动公开政府信息情况\n"
PAGE = "<html><body><h1>年度报告</h1><p>一、总体情况</p></body></html>".encode("gb18030")


def fetch(**changes) -> ReportFetch:
    base = ReportFetch(
        agency_id="mof",
        url="https://www.mof.gov.cn/gkml/2024/report.htm",
        title="财政部2023年政府信息公开工作年度报告",
        text=TEXT,
        kind="annual_report",
        year=2023,
        published_date="2024-01-31",
        raw_page=PAGE,
        raw_encoding="gb18030",
        fetched_at="2024-02-01T08:00:00Z",
    )
    return dataclasses.replace(base, **changes)


@pytest.fixture
def store(tmp_path):
    s = Store(tmp_path / "data" / "nianbao.db")
    s.agencies.sync([MOF, BJ])
    yield s
    s.close()


def rows(store: Store, table: str, where: str = "1", params=()) -> list[dict]:
    return [dict(r) for r in store.db[table].rows_where(where, params, order_by="id")]


def count(store: Store, table: str) -> int:
    return store.db.execute(f"SELECT count(*) FROM [{table}]").fetchone()[0]


# -- text normalisation ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "a, b",
    [
        pytest.param("一、总体情况\n内容", "一、总体情况   \n内容  ", id="trailing-spaces"),
        pytest.param("一、总体情况\n内容", "\n\n一、总体情况\n\n\n内容\n\n", id="blank-lines"),
        pytest.param("一、总体情况\n内容", "一、总体情况\r\n内容\r\n", id="crlf"),
        pytest.param("一、总体情况\n内容", "\u3000\u3000一、总体情况\n\xa0内容", id="ideographic-nbsp"),
        pytest.param("总体 情况", "总体 \t  情况", id="inner-runs"),
        pytest.param("总体情况", "\ufeff总体\u200b情况", id="zero-width"),
    ],
)
def test_whitespace_changes_do_not_change_the_hash(a, b):
    assert normalize_text(a) == normalize_text(b)
    assert content_hash(a) == content_hash(b)


@pytest.mark.parametrize(
    "a, b",
    [
        pytest.param("收到申请100件", "收到申请101件", id="digit"),
        pytest.param("总体情况", "总 体情况", id="space-inside-word"),
        pytest.param("一\n二", "一二", id="joined-lines"),
    ],
)
def test_real_changes_change_the_hash(a, b):
    assert content_hash(a) != content_hash(b)


# -- records ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"kind": "annual"}, "kind"),
        ({"published_date": "2024/01/31"}, "published_date"),
        ({"published_date": "2024-02-30"}, "published_date"),
        ({"raw_page": "text"}, "raw_page"),
        ({"url": ""}, "url"),
    ],
)
def test_report_fetch_validates(changes, message):
    with pytest.raises(ValueError, match=message):
        fetch(**changes)


def test_records_coerce_lists_to_tuples():
    assert BJ.sources == ("https://www.beijing.gov.cn/",)
    assert fetch(attachments=["a.pdf"]).attachments == ("a.pdf",)
    with pytest.raises(ValueError, match="kind"):
        AgencyRecord("x", "X", "ministry", None, 2010, ())


# -- record_report ---------------------------------------------------------------------------


def test_first_sight_writes_report_version_1_and_one_new_finding(store):
    crawl = store.crawls.start(["mof"])
    outcome = store.history.record_report(fetch(crawl_id=crawl, attachments=("https://x/a.pdf",)))
    assert outcome == Outcome.NEW

    [report] = rows(store, "reports")
    assert report["status"] == "live"
    assert report["current_version"] == 1
    assert report["text"] == TEXT
    assert report["content_hash"] == content_hash(TEXT)
    assert report["first_seen"] == report["last_seen"] == "2024-02-01T08:00:00Z"
    assert report["last_crawl_id"] == crawl
    assert json.loads(report["attachments"]) == ["https://x/a.pdf"]

    [version] = rows(store, "versions")
    assert (version["report_id"], version["version"]) == (report["id"], 1)
    assert version["text"] == TEXT and version["raw_encoding"] == "gb18030"
    assert version["raw_page"] != PAGE and zlib.decompress(version["raw_page"]) == PAGE
    assert version["raw_size"] == len(PAGE)
    assert store.history.raw_page(version["id"]) == PAGE

    [finding] = rows(store, "findings")
    assert finding["kind"] == "new"
    assert (finding["agency_id"], finding["year"]) == ("mof", 2023)
    assert finding["report_id"] == report["id"]
    assert finding["crawl_id"] == crawl
    assert json.loads(finding["details"]) == {"title": fetch().title, "url": fetch().url}


def test_recrawl_of_unchanged_report_adds_nothing_but_updates_last_seen(store):
    store.history.record_report(fetch(year=None, published_date=None))
    crawl = store.crawls.start(["mof"])
    again = fetch(
        text="  " + TEXT.replace("\n", "  \n\n") + "\n\n",  # only whitespace differs
        fetched_at="2024-03-01T08:00:00Z",
        crawl_id=crawl,
    )
    assert store.history.record_report(again) == Outcome.UNCHANGED
    assert count(store, "versions") == 1
    assert [f["kind"] for f in rows(store, "findings")] == ["new"]
    [report] = rows(store, "reports")
    assert report["last_seen"] == "2024-03-01T08:00:00Z"
    assert report["first_seen"] == "2024-02-01T08:00:00Z"
    assert report["last_crawl_id"] == crawl
    assert (report["year"], report["published_date"]) == (2023, "2024-01-31")  # were NULL
    assert report["text"] == TEXT  # the stored text stays that of version 1

    # Known metadata is not overwritten by a later guess.
    assert store.history.record_report(fetch(year=2022, published_date="2024-02-02")) == Outcome.UNCHANGED
    [report] = rows(store, "reports")
    assert (report["year"], report["published_date"]) == (2023, "2024-01-31")


def test_changed_text_adds_version_and_one_changed_finding(store):
    store.history.record_report(fetch())
    new_text = TEXT.replace("坚持", "始终坚持") + "三、依申请公开情况\n"
    outcome = store.history.record_report(
        fetch(text=new_text, title="新标题", fetched_at="2024-05-01T00:00:00Z")
    )
    assert outcome == Outcome.CHANGED

    [report] = rows(store, "reports")
    assert report["current_version"] == 2
    assert report["text"] == new_text
    assert report["content_hash"] == content_hash(new_text)
    assert report["title"] == "新标题"
    versions = rows(store, "versions")
    assert [v["version"] for v in versions] == [1, 2]
    assert versions[0]["text"] == TEXT and versions[1]["text"] == new_text

    findings = rows(store, "findings")
    assert [f["kind"] for f in findings] == ["new", "changed"]
    details = json.loads(findings[1]["details"])
    assert (details["from_version"], details["to_version"]) == (1, 2)
    assert (details["lines_added"], details["lines_removed"]) == (2, 1)
    assert "+2023年，财政部始终坚持……" in details["diff"]
    assert details["diff_truncated"] is False


def test_changed_finding_diff_is_capped(store):
    store.history.record_report(fetch(text="\n".join(f"第{i}行" for i in range(2000))))
    store.history.record_report(fetch(text="\n".join(f"第{i}行 改" for i in range(2000))))
    details = json.loads(rows(store, "findings")[-1]["details"])
    assert (details["lines_added"], details["lines_removed"]) == (2000, 2000)
    assert details["diff_truncated"] is True
    assert len(details["diff"]) <= 4000


# -- removal and restoration -----------------------------------------------------------------


def test_mark_removed_once(store):
    store.history.record_report(fetch())
    crawl = store.crawls.start(["mof"])
    assert store.history.mark_removed(
        agency_id="mof", url=fetch().url, http_status=404, crawl_id=crawl, at="2024-06-01T00:00:00Z"
    )
    [report] = rows(store, "reports")
    assert (report["status"], report["removed_at"]) == ("removed", "2024-06-01T00:00:00Z")
    removed = rows(store, "findings", "kind = 'removed'")
    assert len(removed) == 1 and removed[0]["crawl_id"] == crawl
    assert json.loads(removed[0]["details"])["http_status"] == 404
    assert store.history.known_reports("mof") == []

    # Again: already removed, nothing written.
    changes = store.db.conn.total_changes
    assert not store.history.mark_removed(agency_id="mof", url=fetch().url, http_status=410)
    assert store.db.conn.total_changes == changes
    assert count(store, "findings") == 2


def test_mark_removed_unknown_url_writes_nothing(store):
    store.history.record_report(fetch())
    changes = store.db.conn.total_changes
    assert not store.history.mark_removed(agency_id="mof", url="https://nowhere/x.htm", http_status=404)
    assert not store.history.mark_removed(agency_id="bj", url=fetch().url, http_status=404)
    assert store.db.conn.total_changes == changes


def test_removed_report_seen_again_is_restored(store):
    store.history.record_report(fetch())
    store.history.mark_removed(agency_id="mof", url=fetch().url, http_status=410, at="2024-06-01T00:00:00Z")
    assert store.history.record_report(fetch(fetched_at="2024-07-01T00:00:00Z")) == Outcome.RESTORED
    [report] = rows(store, "reports")
    assert (report["status"], report["removed_at"], report["current_version"]) == ("live", None, 1)
    assert [f["kind"] for f in rows(store, "findings")] == ["new", "removed", "restored"]
    restored = json.loads(rows(store, "findings")[-1]["details"])
    assert restored["removed_at"] == "2024-06-01T00:00:00Z" and restored["text_changed"] is False
    assert count(store, "versions") == 1


def test_restored_with_new_text_also_records_the_change(store):
    store.history.record_report(fetch())
    store.history.mark_removed(agency_id="mof", url=fetch().url, http_status=404)
    assert store.history.record_report(fetch(text=TEXT + "四、其他\n")) == Outcome.RESTORED
    assert [f["kind"] for f in rows(store, "findings")] == ["new", "removed", "changed", "restored"]
    assert [v["version"] for v in rows(store, "versions")] == [1, 2]
    assert store.history.integrity_problems() == []


def test_known_reports_lists_live_reports_of_the_agency(store):
    store.history.record_report(fetch())
    store.history.record_report(fetch(url="https://www.mof.gov.cn/gone.htm"))
    store.history.record_report(fetch(url="https://www.mof.gov.cn/other.htm", kind="other", year=None,
                              published_date=None))
    store.history.record_report(fetch(agency_id="bj", url="https://www.beijing.gov.cn/r.htm"))
    store.history.mark_removed(agency_id="mof", url="https://www.mof.gov.cn/gone.htm", http_status=404)
    known = store.history.known_reports("mof")
    assert [r["url"] for r in known] == [fetch().url, "https://www.mof.gov.cn/other.htm"]
    assert {"url", "title", "published_date", "kind", "year"} <= set(known[0])
    assert known[1]["kind"] == "other" and known[1]["year"] is None


# -- references and transactions -------------------------------------------------------------


def test_unknown_agency_or_crawl_is_a_readable_error_and_writes_nothing(store):
    with pytest.raises(UnknownAgency, match="sync_agencies"):
        store.history.record_report(fetch(agency_id="nobody"))
    with pytest.raises(UnknownCrawl):
        store.history.record_report(fetch(crawl_id=99))
    with pytest.raises(StorageError, match="does not exist"):
        store.crawls.log_fetch(crawl_id=99, agency_id="mof", url="https://x", status=200, error=None)
    assert count(store, "reports") == count(store, "fetch_log") == count(store, "findings") == 0


def test_record_report_is_one_transaction(store, monkeypatch):
    def boom(*args, **kwargs):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr("nianbao.storage.history.insert_finding", boom)
    with pytest.raises(RuntimeError):
        store.history.record_report(fetch())
    assert count(store, "reports") == count(store, "versions") == 0
    monkeypatch.undo()
    store.history.record_report(fetch())
    monkeypatch.setattr("nianbao.storage.history.insert_finding", boom)
    with pytest.raises(RuntimeError):
        store.history.record_report(fetch(text="全新内容"))
    [report] = rows(store, "reports")
    assert report["current_version"] == 1 and report["text"] == TEXT
    assert count(store, "versions") == 1
    with pytest.raises(RuntimeError):
        store.history.mark_removed(agency_id="mof", url=fetch().url, http_status=404)
    assert rows(store, "reports")[0]["status"] == "live"


# -- agencies, crawls, fetch log -------------------------------------------------------------


def test_sync_agencies_upserts_and_prunes_only_agencies_without_data(store):
    [mof] = rows(store, "agencies", "id = 'mof'")
    assert json.loads(mof["sources"]) == list(MOF.sources)
    store.history.record_report(fetch())

    store.db.execute("UPDATE agencies SET updated_at = 'old'")
    renamed = dataclasses.replace(MOF, name="中华人民共和国财政部")
    sh = AgencyRecord("sh", "上海市人民政府", "government", "上海市", 2009, ())
    store.agencies.sync([renamed])  # a partial sync deletes nothing
    assert {a["id"] for a in rows(store, "agencies")} == {"mof", "bj"}
    store.agencies.sync([renamed, sh], prune=True)  # bj is gone from the registry, no data
    agencies = {a["id"]: a for a in rows(store, "agencies")}
    assert set(agencies) == {"mof", "sh"}
    assert agencies["mof"]["name"] == "中华人民共和国财政部"
    assert agencies["mof"]["updated_at"] != "old"

    store.db.execute("UPDATE agencies SET updated_at = 'old'")
    store.agencies.sync([sh], prune=True)  # mof has a report: kept
    agencies = {a["id"]: a for a in rows(store, "agencies")}
    assert set(agencies) == {"mof", "sh"}
    assert agencies["sh"]["updated_at"] == "old"  # unchanged row not touched

    store.agencies.sync([BJ])
    assert {a["id"] for a in rows(store, "agencies")} == {"mof", "sh", "bj"}
    with pytest.raises(ValueError, match="duplicate agency ids: bj"):
        store.agencies.sync([BJ, BJ])


def test_crawl_lifecycle_and_summary(store):
    old = store.crawls.start(["mof"])
    store.history.record_report(fetch(crawl_id=old))
    store.crawls.log_fetch(crawl_id=old, agency_id="mof", url="https://x/old", status=500,
                    error="HTTP 500")

    crawl = store.crawls.start(["mof", "bj"], at="2024-08-01T00:00:00Z")
    store.crawls.log_fetch(crawl_id=crawl, agency_id=None, url="https://www.mof.gov.cn/robots.txt",
                    status=404, error=None, purpose="robots")
    store.crawls.log_fetch(crawl_id=crawl, agency_id="mof", url="https://x/ok", status=200, error=None,
                    duration_ms=12, size_bytes=3456, purpose="listing")
    store.crawls.log_fetch(crawl_id=crawl, agency_id="mof", url="https://x/404", status=404,
                    error="HTTP 404", purpose="report")
    store.crawls.log_fetch(crawl_id=crawl, agency_id="mof", url="https://x/dns", status=None,
                    error="DNS lookup failed", purpose="listing")
    store.history.record_report(fetch(crawl_id=crawl))  # unchanged, still found
    store.history.record_report(fetch(crawl_id=crawl, url="https://x/2.htm"))  # new
    store.history.record_report(fetch(crawl_id=crawl, url="https://x/2.htm", text="变了"))  # changed
    store.history.mark_removed(agency_id="mof", url="https://x/2.htm", http_status=404, crawl_id=crawl)
    stats = {"item_scraped_count": 3, "start_time": datetime.datetime(2024, 8, 1)}
    store.crawls.finish(crawl, finish_reason="finished", stats=stats)

    assert store.crawls.summary(crawl) == [
        AgencySummary("mof", "财政部", reports_found=2, new=1, changed=1, removed=1, restored=0,
                      fetch_errors=2),
        AgencySummary("bj", "北京市人民政府", 0, 0, 0, 0, 0, 0),
    ]
    [row] = rows(store, "crawls", "id = ?", [crawl])
    assert row["finish_reason"] == "finished" and row["finished_at"]
    assert json.loads(row["stats"]) == {**stats, "start_time": "2024-08-01 00:00:00"}
    assert json.loads(row["agency_ids"]) == ["mof", "bj"]

    with pytest.raises(UnknownCrawl):
        store.crawls.summary(999)
    with pytest.raises(UnknownCrawl):
        store.crawls.finish(999, finish_reason="finished", stats={})


def test_views(store):
    first = store.crawls.start(["mof"])
    store.crawls.log_fetch(crawl_id=first, agency_id="mof", url="https://x/a", status=503,
                    error="HTTP 503")
    store.history.record_report(fetch())
    store.history.record_report(fetch(url="https://x/notice.htm", kind="other"))
    last = store.crawls.start(["mof"])
    store.crawls.log_fetch(crawl_id=last, agency_id="mof", url="https://x/b", status=None, error="timeout")
    store.crawls.log_fetch(crawl_id=last, agency_id="mof", url="https://x/c", status=200, error=None)

    annual = [dict(r) for r in store.db["annual_reports"].rows]
    assert [r["url"] for r in annual] == [fetch().url]
    assert "text" not in annual[0] and annual[0]["agency_name"] == "财政部"
    errors = [dict(r) for r in store.db["latest_fetch_errors"].rows]
    assert [(e["url"], e["error"]) for e in errors] == [("https://x/b", "timeout")]


def test_log_fetch_throughput(store, capsys):
    crawl = store.crawls.start(["mof"])
    n = 5000
    start = time.perf_counter()
    for i in range(n):
        store.crawls.log_fetch(crawl_id=crawl, agency_id="mof", url=f"https://www.mof.gov.cn/p/{i}.htm",
                        status=200 if i % 10 else 404, error=None if i % 10 else "HTTP 404",
                        duration_ms=35, size_bytes=20_000, purpose="listing")
    rate = n / (time.perf_counter() - start)
    with capsys.disabled():
        print(f"\nlog_fetch: {n} rows committed one by one, {rate:,.0f} rows/s")
    assert count(store, "fetch_log") == n
    assert rate > 1000


# -- connection, concurrency, migrations -----------------------------------------------------


def test_pragmas(store):
    pragma = lambda name: store.db.execute(f"PRAGMA {name}").fetchone()[0]  # noqa: E731
    assert pragma("journal_mode") == "wal"
    assert pragma("synchronous") == 1  # NORMAL
    assert pragma("foreign_keys") == 1
    assert pragma("busy_timeout") >= 5000


def test_a_second_connection_reads_while_the_first_writes(store):
    store.history.record_report(fetch())
    reader = sqlite3.connect(store.path, timeout=1)
    try:
        with store.db.atomic():
            store.history.record_report(fetch(url="https://x/2.htm"))
            # The writer holds an open write transaction; the reader is not blocked and sees
            # the last committed state.
            assert reader.execute("SELECT count(*) FROM reports").fetchone()[0] == 1
            assert reader.execute("SELECT count(*) FROM annual_reports").fetchone()[0] == 1
        assert reader.execute("SELECT count(*) FROM reports").fetchone()[0] == 2

        # A reader in the middle of a read transaction does not block the writer either.
        reader.execute("BEGIN")
        assert reader.execute("SELECT count(*) FROM versions").fetchone()[0] == 2
        store.history.record_report(fetch(url="https://x/3.htm"))
        assert reader.execute("SELECT count(*) FROM versions").fetchone()[0] == 2  # snapshot
        reader.execute("COMMIT")
        assert reader.execute("SELECT count(*) FROM versions").fetchone()[0] == 3
    finally:
        reader.close()


def test_reopening_applies_no_migration(tmp_path):
    path = tmp_path / "nianbao.db"
    with Store(path) as first:
        assert first.applied_migrations == [m.name for m in MIGRATIONS._migrations]
        applied = [dict(r) for r in first.db["_sqlite_migrations"].rows]
        first.agencies.sync([MOF])
        first.history.record_report(fetch())
    with Store(path) as second:
        assert second.applied_migrations == []
        assert MIGRATIONS.pending(second.db) == []
        assert [dict(r) for r in second.db["_sqlite_migrations"].rows] == applied
        assert count(second, "reports") == 1


def test_raw_page_of_unknown_version(store):
    with pytest.raises(UnknownVersion):
        store.history.raw_page(12345)


# -- metadata --------------------------------------------------------------------------------


def test_metadata_describes_every_table_view_and_column(tmp_path):
    metadata = yaml.safe_load(METADATA.read_text(encoding="utf-8"))
    assert metadata["title"] and metadata["description"] and metadata["license"]
    described = metadata["databases"]["nianbao"]["tables"]
    with Store(tmp_path / "nianbao.db") as store:
        actual = {
            name: store.db[name].columns_dict
            for name in store.db.table_names() + store.db.view_names()
        }
    assert sorted(described) == sorted(actual), "metadata.yml tables/views differ from schema"
    for name, columns in actual.items():
        entry = described[name]
        assert entry.get("description"), f"{name} has no description"
        assert sorted(entry.get("columns", {})) == sorted(columns), f"{name}: columns differ"
        assert all(entry["columns"].values()), f"{name}: empty column description"


def test_datasette_loads_metadata_and_runs_canned_queries(tmp_path):
    datasette_app = pytest.importorskip("datasette.app")
    path = tmp_path / "nianbao.db"
    with Store(path) as store:
        store.agencies.sync([MOF, BJ])
        crawl = store.crawls.start(["mof", "bj"])
        store.history.record_report(fetch(crawl_id=crawl))
        store.crawls.log_fetch(crawl_id=crawl, agency_id="bj", url="https://x", status=None,
                        error="timeout")
    metadata = yaml.safe_load(METADATA.read_text(encoding="utf-8"))
    queries = metadata["databases"]["nianbao"]["queries"]
    params = {"agency_id": "mof", "kind": "", "year": "2024", "report_id": "1"}

    async def run() -> dict[str, list]:
        ds = datasette_app.Datasette([str(path)], metadata=metadata)
        await ds.invoke_startup()
        results = {}
        for name, query in queries.items():
            wanted = {k: v for k, v in params.items() if f":{k}" in query["sql"]}
            response = await ds.client.get(f"/nianbao/{name}.json",
                                           params={**wanted, "_shape": "array"})
            assert response.status_code == 200, (name, response.text)
            results[name] = response.json()
        response = await ds.client.get("/nianbao/annual_reports.json")
        assert response.status_code == 200
        return results

    results = asyncio.run(run())
    assert [r["url"] for r in results["reports_of_agency"]] == [fetch().url]
    assert [r["kind"] for r in results["latest_findings"]] == ["new"]
    assert [r["error"] for r in results["fetch_errors_last_crawl"]] == ["timeout"]
    assert [r["id"] for r in results["agencies_without_annual_report"]] == ["bj", "mof"]
    assert [r["version"] for r in results["report_history"]] == [1]


# -- crash safety ----------------------------------------------------------------------------

WRITER = textwrap.dedent(
    """
    import os, random, sys
    sys.path.insert(0, {root!r})
    from nianbao.storage import AgencyRecord, ReportFetch, Store, utc_now

    store = Store({path!r})
    store.agencies.sync([AgencyRecord("a", "A", "department", None, 2010, ())])
    crawl = store.crawls.start(["a"])
    rnd = random.Random({seed})
    print("ready", flush=True)
    while True:
        n = rnd.randrange(25)
        text = "\\n".join(f"第{{k}}段 {{rnd.randrange(3)}}" for k in range(40))
        store.history.record_report(ReportFetch(
            agency_id="a", url=f"https://a.gov.cn/{{n}}.htm", title=f"报告{{n}}", text=text,
            kind="annual_report", year=2020 + n % 5, published_date=None,
            raw_page=os.urandom(rnd.randrange(1000, 200_000)), raw_encoding="utf-8",
            fetched_at=utc_now(), crawl_id=crawl))
        if rnd.random() < 0.1:
            store.history.mark_removed(agency_id="a", url=f"https://a.gov.cn/{{rnd.randrange(25)}}.htm",
                               http_status=404, crawl_id=crawl)
        store.crawls.log_fetch(crawl_id=crawl, agency_id="a", url="https://a.gov.cn/", status=200,
                        error=None)
    """
)


def test_sigkill_during_record_report_leaves_a_consistent_store(tmp_path):
    path = tmp_path / "nianbao.db"
    for seed, delay in enumerate((0.3, 0.55, 0.8)):
        script = WRITER.format(root=str(ROOT), path=str(path), seed=seed)
        assert kill_writer_after(script, delay) == -signal.SIGKILL

        with Store(path) as store:
            assert store.applied_migrations == []
            assert store.history.integrity_problems() == []
            reports = rows(store, "reports")
            assert reports, "the writer recorded nothing before it was killed"
            for report in reports:
                versions = rows(store, "versions", "report_id = ?", [report["id"]])
                numbers = [v["version"] for v in versions]
                assert numbers == list(range(1, report["current_version"] + 1))
                assert versions[-1]["text"] == report["text"]
                assert versions[-1]["content_hash"] == content_hash(report["text"])
                findings = rows(store, "findings", "report_id = ?", [report["id"]])
                kinds = [f["kind"] for f in findings]
                assert kinds.count("new") == 1
                assert kinds.count("changed") == report["current_version"] - 1
                assert kinds.count("removed") - kinds.count("restored") == (
                    1 if report["status"] == "removed" else 0)


def test_writer_waits_for_another_process_lock_instead_of_failing(store, tmp_path):
    """record_report reads then writes; another connection holding the write lock meanwhile
    must make it wait (busy_timeout), not fail with 'database is locked'."""
    import threading

    store.history.record_report(fetch())
    other = sqlite3.connect(store.path, timeout=10, check_same_thread=False)
    other.execute("BEGIN IMMEDIATE")
    other.execute("UPDATE crawls SET finish_reason = finish_reason")
    release = threading.Timer(0.5, other.commit)
    release.start()
    try:
        started = time.monotonic()
        assert store.history.record_report(fetch(text="改过的正文。\n第二段。")) == "changed"
        assert time.monotonic() - started >= 0.3  # it waited for the lock
    finally:
        release.join()
        other.close()
