"""The Atom feed of findings: rows of a real store in, Atom out, read back with xml.etree
(the structure RFC 4287 requires) and feedparser (as feed readers read it), for every kind."""

from __future__ import annotations

import datetime as dt
from xml.etree import ElementTree as ET

import feedparser
import pytest

from nianbao.monitor.feeds import ATOM_NS, entry_id, feed_id, findings_feed
from nianbao.monitor.finding_text import KIND_LABELS
from tests.test_alerts import PUBLIC, every_kind, store  # noqa: F401  (fixture)

A = f"{{{ATOM_NS}}}"


def rows(store, agency_id=None):  # noqa: F811
    where = "WHERE f.agency_id = ?" if agency_id else ""
    return [dict(r) for r in store.db.query(
        f"""SELECT f.*, a.name AS agency_name, r.url AS report_url, r.title AS report_title
            FROM findings f LEFT JOIN agencies a ON a.id = f.agency_id
            LEFT JOIN reports r ON r.id = f.report_id {where} ORDER BY f.id""",
        [agency_id] if agency_id else [])]


def test_feed_of_every_kind_is_valid_atom_with_stable_ids(store):  # noqa: F811
    ids = every_kind(store)
    xml = findings_feed(rows(store), public_url=PUBLIC)
    root = ET.fromstring(xml.encode("utf-8"))
    assert root.tag == f"{A}feed"
    assert root.findtext(f"{A}id") == feed_id() == "tag:nianbao,2008:findings"
    assert root.findtext(f"{A}title") and root.find(f"{A}author/{A}name").text == "nianbao"
    assert root.find(f"{A}link[@rel='self']").get("href") == f"{PUBLIC}/nianbao/findings.atom"
    entries = root.findall(f"{A}entry")
    assert len(entries) == len(ids) == len(KIND_LABELS)
    # newest first; the feed's updated is the newest entry's
    assert [e.findtext(f"{A}id") for e in entries] == [entry_id(i) for i in sorted(ids.values(), reverse=True)]
    updated = [dt.datetime.fromisoformat(e.findtext(f"{A}updated")) for e in entries]
    assert dt.datetime.fromisoformat(root.findtext(f"{A}updated")) == max(updated)
    by_kind = {e.find(f"{A}category").get("term"): e for e in entries}
    assert set(by_kind) == set(KIND_LABELS)
    stored_times = {r["id"]: r["detected_at"] for r in rows(store)}
    for kind, entry in by_kind.items():
        for required in ("id", "title", "updated", "summary", "content"):
            assert entry.findtext(f"{A}{required}"), (kind, required)
        assert entry.find(f"{A}category").get("label") == KIND_LABELS[kind]
        assert entry.findtext(f"{A}title").startswith(KIND_LABELS[kind] + " — ")
        when = entry.findtext(f"{A}updated")
        stored = stored_times[ids[kind]].replace("Z", "+00:00")
        assert when.endswith("+08:00") and dt.datetime.fromisoformat(when) == dt.datetime.fromisoformat(stored)
        assert entry.find(f"{A}link[@rel='alternate']").get("href") == (
            f"{PUBLIC}/nianbao/findings/{ids[kind]}")
        assert "北京时间" in entry.findtext(f"{A}content")
    assert by_kind["new"].find(f"{A}link[@rel='related']").get("href") == (
        "http://bz-mzj.gov.cn/2020/annual_report0.html")
    assert "截止日期：2021-03-31" in by_kind["missing"].findtext(f"{A}content")
    assert "连续3次抓取失败" in by_kind["site_failing"].findtext(f"{A}summary")
    # the same rows give the same document: ids and times do not move
    assert findings_feed(rows(store), public_url=PUBLIC) == xml


def test_feed_reads_in_a_feed_reader(store):  # noqa: F811
    every_kind(store)
    parsed = feedparser.parse(findings_feed(rows(store), public_url=PUBLIC))
    assert not parsed.bozo, parsed.bozo_exception
    assert parsed.version == "atom10"
    assert len(parsed.entries) == len(KIND_LABELS)
    for entry in parsed.entries:
        assert entry.id.startswith("tag:nianbao,2008:finding/")
        assert entry.updated_parsed and entry.title and entry.summary
        assert entry.link.startswith(f"{PUBLIC}/nianbao/findings/")


def test_one_agency_feed_and_a_feed_without_public_url(store):  # noqa: F811
    every_kind(store)
    own = rows(store, "nj-tjj")
    xml = findings_feed(own, agency_id="nj-tjj", agency_name="南京市统计局")
    root = ET.fromstring(xml.encode("utf-8"))
    assert root.findtext(f"{A}id") == "tag:nianbao,2008:findings/agency/nj-tjj"
    assert "南京市统计局" in root.findtext(f"{A}title")
    assert root.find(f"{A}link[@rel='self']") is None  # nowhere to point without public_url
    [entry] = root.findall(f"{A}entry")
    assert entry.find(f"{A}category").get("term") == "site_failing"
    assert entry.find(f"{A}link") is None  # no report, no public page: no link
    assert "{" not in entry.findtext(f"{A}content")  # in words


def test_an_empty_feed_is_valid_with_the_given_time():
    now = dt.datetime(2026, 12, 1, 16, 0, tzinfo=dt.UTC)
    root = ET.fromstring(findings_feed([], now=now).encode("utf-8"))
    assert root.findtext(f"{A}updated") == "2026-12-02T00:00:00+08:00"
    assert root.findall(f"{A}entry") == []
    assert not feedparser.parse(findings_feed([], now=now)).bozo


@pytest.mark.parametrize("title", ["<script>alert(1)</script> & 报告", "\u2028年报]]>"])
def test_markup_in_a_title_is_text(store, title):  # noqa: F811
    from tests.test_alerts import add_report

    add_report(store, "bz-mzj", 2020, title=title)
    xml = findings_feed(rows(store), public_url=PUBLIC)
    entry = ET.fromstring(xml.encode("utf-8")).find(f"{A}entry")
    assert title in entry.findtext(f"{A}summary")


def test_feed_sql_on_a_read_only_connection(store):  # noqa: F811
    import sqlite3

    from nianbao.monitor.feeds import FEED_SQL
    from tests.test_alerts import add_report

    ids = every_kind(store)
    add_report(store, "hf-zf", 2020, kind="other", title="2021年政务公开工作要点")
    connection = sqlite3.connect(f"file:{store.path}?mode=ro", uri=True)
    connection.row_factory = sqlite3.Row
    try:
        every = [dict(r) for r in connection.execute(FEED_SQL, {"agency_id": None, "limit": 100})]
        two = [dict(r) for r in connection.execute(FEED_SQL, {"agency_id": None, "limit": 2})]
        own = [dict(r) for r in connection.execute(FEED_SQL, {"agency_id": "hf-zf", "limit": 100})]
    finally:
        connection.close()
    assert sorted(r["id"] for r in every) == sorted(ids.values())  # the work plan's `new` is left out
    assert [r["id"] for r in two] == sorted(ids.values(), reverse=True)[:2]
    assert {r["kind"] for r in own} == {"missing", "column_moved", "inconsistent"}
    root = ET.fromstring(findings_feed(every, public_url=PUBLIC).encode("utf-8"))
    assert len(root.findall(f"{A}entry")) == len(ids)
