"""Moves and report columns at the store: which fetch is the same report at a new URL, which
is not; what a move writes; how a column's failures are counted (real SQLite files)."""

from __future__ import annotations

import dataclasses

import pytest

from nianbao.crawler.discovery import Link, judge_link
from nianbao.demo.site import report_text
from nianbao.storage import Outcome, ReportFetch, Store
from nianbao.storage.models import AgencyRecord

AGENCY = AgencyRecord("slj", "示例县水利局", "department", None, 2015, ("http://slj.example.cn/",))
OTHER = AgencyRecord("jtj", "示例县交通局", "department", None, 2015, ("http://jtj.example.cn/",))
TEXT = report_text("示例县水利局", 2022)


def fetch(url: str, text: str = TEXT, **changes) -> ReportFetch:
    base = ReportFetch(agency_id="slj", url=url, title="示例县水利局2022年政府信息公开工作年度报告",
                       text=text, kind="annual_report", year=2022, published_date="2023-01-20",
                       raw_page=text.encode("utf-8"), raw_encoding="utf-8",
                       fetched_at="2023-02-01T08:00:00Z")
    return dataclasses.replace(base, **changes)


@pytest.fixture
def store(tmp_path):
    with Store(tmp_path / "nianbao.db") as s:
        s.agencies.sync([AGENCY, OTHER])
        yield s


def findings(store, kind):
    return rows(store, "SELECT * FROM findings WHERE kind = ?", (kind,))


def rows(store, sql, params=()):
    cursor = store.db.execute(sql, params)
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row)) for row in cursor.fetchall()]


def crawl(store) -> int:
    return store.crawls.start(["slj", "jtj"])


def test_same_text_at_a_new_url_moves_the_report(store):
    first = crawl(store)
    assert store.history.record_report(fetch("http://slj.example.cn/a.html", crawl_id=first)) == Outcome.NEW
    second = crawl(store)
    moved = fetch("http://slj.example.cn/new/b.html", crawl_id=second, published_date="2023-05-05",
                  fetched_at="2023-06-01T08:00:00Z")
    assert store.history.record_report(moved) == Outcome.MOVED
    [report] = rows(store, "SELECT * FROM reports")
    assert report["url"] == "http://slj.example.cn/new/b.html"
    assert report["published_date"] == "2023-01-20"  # the original date, not the new page's
    assert report["first_seen"] == "2023-02-01T08:00:00Z" and report["current_version"] == 1
    assert len(findings(store, "moved")) == 1 and len(findings(store, "new")) == 1
    urls = store.db.execute("SELECT url, left_at, matched_by FROM report_urls ORDER BY id").fetchall()
    assert [tuple(u) for u in urls] == [("http://slj.example.cn/a.html", "2023-06-01T08:00:00Z", "first"),
                                        ("http://slj.example.cn/new/b.html", None, "content_hash")]
    # the old URL answering again with the same text is the same report: no finding
    again = fetch("http://slj.example.cn/a.html", crawl_id=crawl(store), fetched_at="2023-07-01T08:00:00Z")
    assert store.history.record_report(again) == Outcome.UNCHANGED
    assert store.db.execute("SELECT count(*) FROM reports").fetchone()[0] == 1
    assert len(findings(store, "moved")) == 1
    assert store.history.integrity_problems() == []


def test_no_move_when_the_report_was_seen_at_its_url_in_this_crawl(store):
    """A copy of a report in another column (both URLs live) is not a move: the report was
    already seen at its own URL in this crawl."""
    crawl_id = crawl(store)
    store.history.record_report(fetch("http://slj.example.cn/a.html", crawl_id=crawl_id))
    later = crawl(store)
    store.history.record_report(fetch("http://slj.example.cn/a.html", crawl_id=later))
    assert store.history.record_report(fetch("http://slj.example.cn/copy.html", crawl_id=later)) == Outcome.NEW
    assert not findings(store, "moved")


@pytest.mark.parametrize("case", ["short_text", "other_agency", "other_year_similar", "not_gone"])
def test_what_is_never_a_move(store, case):
    first = crawl(store)
    short = "详见附件。"
    store.history.record_report(fetch("http://slj.example.cn/a.html", crawl_id=first,
                                      text=short if case == "short_text" else TEXT))
    second = crawl(store)
    if case != "not_gone":
        store.held.note_gone(agency_id="slj", url="http://slj.example.cn/a.html", reason="http_404",
                             http_status=404, crawl_id=second)
    new = {
        "short_text": fetch("http://slj.example.cn/b.html", text=short, crawl_id=second),
        "other_agency": fetch("http://jtj.example.cn/a.html", agency_id="jtj", crawl_id=second),
        "other_year_similar": fetch("http://slj.example.cn/b.html", text=TEXT.replace("2022", "2023"),
                                    year=2023, crawl_id=second),
        # nearly the same text, same year, but its old URL never answered as gone
        "not_gone": fetch("http://slj.example.cn/b.html", text=TEXT + "\n本报告已更正。", crawl_id=second),
    }[case]
    assert store.history.record_report(new) == Outcome.NEW
    assert not findings(store, "moved")


def test_similar_text_moves_when_the_old_url_is_gone_and_removed_reports_come_back(store):
    first = crawl(store)
    store.history.record_report(fetch("http://slj.example.cn/a.html", crawl_id=first))
    store.history.mark_removed(agency_id="slj", url="http://slj.example.cn/a.html", http_status=404,
                               crawl_id=first)
    second = crawl(store)
    edited = TEXT.replace("无。", "无。本报告电子版可在门户网站下载。")
    outcome = store.history.record_report(fetch("http://slj.example.cn/zwgk/b.shtml", text=edited,
                                                crawl_id=second, fetched_at="2023-06-01T08:00:00Z"))
    assert outcome == Outcome.RESTORED
    [moved] = findings(store, "moved")
    assert '"matched_by": "similarity"' in moved["details"] and '"text_changed": true' in moved["details"]
    assert len(findings(store, "restored")) == 1 and not findings(store, "changed")
    [report] = rows(store, "SELECT * FROM reports")
    assert report["status"] == "live" and report["current_version"] == 2
    assert store.history.integrity_problems() == []


def test_a_column_fails_once_per_crawl_and_a_good_read_resets_it(store):
    one, two, three = crawl(store), crawl(store), crawl(store)
    assert store.columns.record_found("slj", "http://slj.example.cn/", "http://slj.example.cn/ndbg/",
                                      score=15, reason="test", crawl_id=one) is None
    column = store.columns.current("slj", "http://slj.example.cn/")
    assert store.columns.record_failure(column["id"], crawl_id=two, reason="HTTP 404") == 1
    assert store.columns.record_failure(column["id"], crawl_id=two, reason="HTTP 404") == 1  # same crawl
    store.columns.record_ok(column["id"], crawl_id=three)
    assert store.columns.current("slj", "http://slj.example.cn/")["failures"] == 0
    # the same column found again: no finding; another one: one column_moved, old row kept
    assert store.columns.record_found("slj", "http://slj.example.cn/", "http://slj.example.cn/ndbg/",
                                      score=15, reason="again", crawl_id=three) is None
    finding = store.columns.record_found("slj", "http://slj.example.cn/", "http://slj.example.cn/zwgk/nb/",
                                         score=13, reason="moved", crawl_id=three)
    assert finding is not None and len(findings(store, "column_moved")) == 1
    old, new = store.columns.history("slj")
    assert old["status"] == "replaced" and old["replaced_by"] == new["id"] and new["status"] == "ok"


@pytest.mark.parametrize("text,url,expected", [
    ("政府信息公开年报", "http://a.cn/xxgk/list_12.html", "column"),
    ("政府信息公開年報", "http://a.cn/col/col88/", "column"),  # traditional
    ("年度报告", "http://a.cn/zwgk/zfxxgknb/", "column"),
    ("", "http://a.cn/xxgk/ndbg/index.html", "column"),  # an image link: the URL alone
    ("政府信息公开工作要点", "http://a.cn/xxgk/ndbg/gzyd/", None),
    ("企业年度报告公示", "http://a.cn/qynb/", None),
    ("2023年政府信息公开工作年度报告", "http://a.cn/xxgk/ndbg/t2024_1.html", None),  # one report
    ("政务公开", "http://a.cn/zwgk/", "follow"),
    ("信息公开目录", "http://a.cn/col/col3/", "follow"),
    ("新闻动态", "http://a.cn/xwdt/", None),
])
def test_which_links_discovery_takes(text, url, expected):
    candidate = judge_link(Link(url, text))
    got = None if candidate is None else "follow" if candidate.follow else "column"
    assert got == expected


def test_link_text_beats_url():
    by_text = judge_link(Link("http://a.cn/col/col3321/", "政府信息公开年报"))
    by_url = judge_link(Link("http://a.cn/xxgk/ndbg/", "栏目"))
    assert by_text.score > by_url.score > 0


def test_only_annual_reports_make_a_column():
    """A column of 工作要点落实情况报告 (report-like links that are not annual reports) is no
    report column; a dedicated module's '2023年度' entries are."""
    from nianbao.crawler.discovery import reports_listed
    from nianbao.crawler.listings import Entry, Listing

    plans = Listing(entries=[Entry("http://a.cn/1.html", "示例市2020年政务公开工作要点落实情况报告"),
                             Entry("http://a.cn/2.html", "示例县水利局2024年政务公开工作要点")])
    reports = Listing(entries=[Entry("http://a.cn/3.html", "2023年度", is_report=True),
                               Entry("http://a.cn/4.html", "示例县水利局2022年政府信息公开工作年度报告"),
                               Entry("http://a.cn/col/", "政府信息公开年报")])
    assert reports_listed(plans, "http://a.cn/col/") == 0
    assert reports_listed(reports, "http://a.cn/col/") == 2
