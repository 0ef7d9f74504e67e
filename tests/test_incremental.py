"""Incremental crawls: conditional requests, unchanged bytes, the re-check rotation, early
paging stop, batched sightings and retention, on real crawls of loopback portals.

The worst defect is a false `changed` or `removed`: a 304 or an unchanged page must never
become one, and one changed report among many must still be found exactly.
"""

from __future__ import annotations

import html

import pytest

from nianbao.demo.site import paragraphs, report_text, trs_article
from tests.conftest import crawl, query
from tests.local_sites import LocalSite, write_registry

# Every known report re-fetched, every listing page followed: only conditional requests and
# byte comparison at work.
EVERY_CRAWL = {"NIANBAO_RECHECK_KNOWN_EVERY": "0s", "NIANBAO_FULL_PASS_EVERY": "0s"}


def _article(agency: str, year: int, extra: str = "") -> str:
    return trs_article(f"{agency}{year}年政府信息公开工作年度报告", f"{year + 1}-01-20",
                       paragraphs(report_text(agency, year) + extra))


def _gbk_article(agency: str, year: int, extra: str = "") -> bytes:
    """Another surface: a GBK page declared gb2312, a table layout, no TRS markers."""
    body = "".join(f"<tr><td>{html.escape(line)}</td></tr>" for line in
                   (report_text(agency, year) + extra).splitlines() if line.strip())
    page = (f"<html><head><meta http-equiv='Content-Type' content='text/html; charset=gb2312'>"
            f"<title>{agency}{year}年度政府信息公开工作年度报告</title></head><body>"
            f"<div class='nav'><a href='/'>首页</a> | <a href='/gk/'>政务公开</a></div>"
            f"<h2>{agency}{year}年度政府信息公开工作年度报告</h2><div class='date'>发布日期：{year + 1}-03-01</div>"
            f"<table class='bg'>{body}</table></body></html>")
    return page.encode("gbk")


def _findings(db) -> dict[str, int]:
    return {row["kind"]: row["n"] for row in query(db, "SELECT kind, count(*) AS n FROM findings GROUP BY kind")}


def _versions(db) -> int:
    return query(db, "SELECT count(*) AS n FROM versions")[0]["n"]


def test_one_changed_report_among_200_answered_by_304s(tmp_path):
    """ETag server: 199 reports answer 304 (no extraction, no version, no finding), the one
    edited is a version with a `changed` finding; nothing is removed or new."""
    with LocalSite(validators="etag") as site:
        links = []
        for i in range(200):
            year = 2000 + i % 25
            site.page(f"/r/{i}.html", _article(f"示例{i}号局", year))
            links.append((f"/r/{i}.html", f"示例{i}号局{year}年政府信息公开工作年度报告"))
        site.listing("/list/index.html", links)
        config = write_registry(tmp_path / "agencies.yaml",
                                {"id": "many", "sources": [site.url("/list/index.html")]})
        db = tmp_path / "nianbao.db"
        # Extraction in a worker process (NIANBAO_EXTRACT_WORKERS), as in production. On a
        # loaded 2-core test machine the crawl, its worker and this server compete for the
        # cores: loopback answers have been seen to wait > 5 s, so the production timeout.
        crawl(config, db, settings={**EVERY_CRAWL, "NIANBAO_EXTRACT_WORKERS": "1", "DOWNLOAD_TIMEOUT": "30"})
        assert _findings(db) == {"new": 200}, query(
            db, "SELECT url, status, error, purpose FROM fetch_log WHERE error IS NOT NULL OR status >= 400")
        assert len(query(db, "SELECT * FROM report_validators WHERE etag IS NOT NULL")) == 200

        site.page("/r/137.html", _article("示例137号局", 2012, "\n六、补充说明\n本报告于发布后更正了一处统计数据。"))
        # the re-crawl too: on a loaded test machine a loopback answer may wait > 5 s
        crawl(config, db, settings={**EVERY_CRAWL, "DOWNLOAD_TIMEOUT": "30"})

        assert _findings(db) == {"new": 200, "changed": 1}
        changed = query(db, "SELECT r.url FROM findings f JOIN reports r ON r.id = f.report_id "
                            "WHERE f.kind = 'changed'")
        assert changed == [{"url": site.url("/r/137.html")}]
        assert _versions(db) == 201
        assert len([path for path in site.not_modified if path.startswith("/r/")]) == 199
        assert "/list/index.html" in site.not_modified  # the listing too: read as its last fetch
        crawl_id = query(db, "SELECT max(id) AS id FROM crawls")[0]["id"]
        answers = {row["answer"]: row["n"] for row in query(
            db, "SELECT answer, count(*) AS n FROM sightings WHERE crawl_id = ? GROUP BY answer", (crawl_id,))}
        assert answers == {"not_modified": 199, None: 1}
        assert query(db, "SELECT count(*) AS n FROM reports WHERE last_crawl_id = ?", (crawl_id,))[0]["n"] == 200
        outcome = query(db, "SELECT outcome, listing_pages_skipped FROM crawl_agencies WHERE crawl_id = ?", (crawl_id,))
        assert outcome == [{"outcome": "ok", "listing_pages_skipped": 0}]


def test_gbk_site_without_etag_same_bytes_and_last_modified(tmp_path):
    """Second fixture, every surface different: GBK table pages, Last-Modified only, a flat
    <div> listing. Unchanged pages are 304s to If-Modified-Since; one page whose chrome
    changed (bytes differ, text the same) is extracted and is no version; one whose text
    changed is; a server that ignores validators answers the same bytes: no extraction."""
    with LocalSite(validators="last_modified") as site:
        rows = []
        for i in range(30):
            path = f"/gk/nb/{i:03d}.htm"
            site.answers[path] = (200, {"Content-Type": "text/html; charset=gb2312"}, _gbk_article(f"某{i}镇", 2010 + i % 12))
            site._edit_count += 1
            site._edits[path] = site._edit_count
            rows.append(f'<a href="{path}" title="某{i}镇{2010 + i % 12}年度政府信息公开工作年度报告">某{i}镇年报</a> 2021-02-0{1 + i % 9}<br>')
        site.page("/gk/nb/list.htm", "<html><head><meta charset='utf-8'></head><body><div class='lst'>"
                  + "".join(rows) + "</div></body></html>")
        config = write_registry(tmp_path / "agencies.yaml",
                                {"id": "gbk-town", "sources": [site.url("/gk/nb/list.htm")]})
        db = tmp_path / "nianbao.db"
        crawl(config, db, settings=EVERY_CRAWL)
        assert _findings(db) == {"new": 30}

        def edit(i: int, page: bytes) -> None:
            site._edit_count += 1
            site._edits[f"/gk/nb/{i:03d}.htm"] = site._edit_count
            site.answers[f"/gk/nb/{i:03d}.htm"] = (200, {"Content-Type": "text/html; charset=gb2312"}, page)

        edit(4, _gbk_article("某4镇", 2014).replace(b"class='nav'", b"class='nav2'"))  # chrome only
        edit(9, _gbk_article("某9镇", 2019, "\n七、其他需要报告的事项\n无。"))  # text
        crawl(config, db, settings=EVERY_CRAWL)
        assert _findings(db) == {"new": 30, "changed": 1}
        assert len([path for path in site.not_modified if path != "/gk/nb/list.htm"]) == 28
        assert _versions(db) == 31

        site.validators = None  # the server now ignores If-Modified-Since and sends no dates
        crawl(config, db, settings=EVERY_CRAWL)
        crawl_id = query(db, "SELECT max(id) AS id FROM crawls")[0]["id"]
        answers = {row["answer"]: row["n"] for row in query(
            db, "SELECT answer, count(*) AS n FROM sightings WHERE crawl_id = ? GROUP BY answer", (crawl_id,))}
        assert answers == {"same_bytes": 30}
        assert _findings(db) == {"new": 30, "changed": 1}
        texts = query(db, "SELECT text FROM reports")
        assert all("某" in row["text"] and "\ufffd" not in row["text"] for row in texts)


def test_a_304_clears_a_pending_removal_and_never_removes(tmp_path):
    with LocalSite(validators="etag") as site:
        for i in range(4):
            site.page(f"/nb/{i}.html", _article("示例县审计局", 2018 + i))
        site.listing("/nb/index.html", [(f"/nb/{i}.html", f"示例县审计局{2018 + i}年政府信息公开工作年度报告")
                                         for i in range(4)])
        config = write_registry(tmp_path / "agencies.yaml", {"id": "sjj", "sources": [site.url("/nb/index.html")]})
        db = tmp_path / "nianbao.db"
        crawl(config, db, settings=EVERY_CRAWL)
        kept = site.answers["/nb/2.html"]
        site.answers["/nb/2.html"] = (404, {"Content-Type": "text/html"}, b"<html>404</html>")
        crawl(config, db, settings=EVERY_CRAWL)
        assert len(query(db, "SELECT * FROM pending_findings WHERE resolved_at IS NULL")) == 1
        site.answers["/nb/2.html"] = kept
        crawl(config, db, settings=EVERY_CRAWL)
        assert site.not_modified.count("/nb/2.html") == 1
        assert query(db, "SELECT resolution FROM pending_findings") == [{"resolution": "cleared"}]
        assert _findings(db) == {"new": 4}
        assert query(db, "SELECT count(*) AS n FROM reports WHERE status = 'live'")[0]["n"] == 4


def test_rotation_rechecks_only_due_reports_and_fetches_new_ones(tmp_path):
    """NIANBAO_RECHECK_KNOWN_EVERY: a report checked within the interval is not re-fetched
    (its listing shows it or not); a new report on the listing is, and makes the agency's
    skipped reports due in that crawl (a URL the store does not know may be a known report
    that moved: storage/moves.py judges it against their answers; they answer 304); a report
    with a held removal is re-checked every crawl."""
    with LocalSite(validators="etag") as site:
        for i in range(6):
            site.page(f"/a/{i}.shtml", _article("示例区教育局", 2015 + i))
        site.listing("/a/list.shtml", [(f"/a/{i}.shtml", f"示例区教育局{2015 + i}年政府信息公开工作年度报告")
                                       for i in range(6)])
        config = write_registry(tmp_path / "agencies.yaml", {"id": "jyj", "sources": [site.url("/a/list.shtml")]})
        db = tmp_path / "nianbao.db"
        rotation = {"NIANBAO_RECHECK_KNOWN_EVERY": "3d", "NIANBAO_RECHECK_RECENT": "0s",
                    "NIANBAO_FULL_PASS_EVERY": "0s"}
        crawl(config, db, settings=rotation)
        site.requests.clear()
        site.page("/a/6.shtml", _article("示例区教育局", 2021))
        site.listing("/a/list.shtml", [(f"/a/{i}.shtml", f"示例区教育局{2015 + i}年政府信息公开工作年度报告")
                                       for i in range(7)])
        site.not_modified.clear()
        crawl(config, db, settings=rotation)
        fetched = sorted(path for path in site.requests if path.startswith("/a/") and path != "/a/list.shtml")
        assert fetched == [f"/a/{i}.shtml" for i in range(7)]
        assert sorted(site.not_modified) == [f"/a/{i}.shtml" for i in range(6)]
        assert _findings(db) == {"new": 7}
        site.requests.clear()
        crawl(config, db, settings=rotation)  # nothing new listed: nothing due, nothing fetched
        assert [p for p in site.requests if p.startswith("/a/") and p != "/a/list.shtml"] == []
        # A held removal is due at once; the recently-published window makes reports due too.
        site.answers["/a/3.shtml"] = (404, {"Content-Type": "text/html"}, b"<html>404</html>")
        crawl(config, db, settings={**rotation, "NIANBAO_RECHECK_KNOWN_EVERY": "0s"})
        site.requests.clear()
        crawl(config, db, settings=rotation)
        assert [p for p in site.requests if p.startswith("/a/") and p != "/a/list.shtml"] == ["/a/3.shtml"]
        assert query(db, "SELECT status FROM reports WHERE url LIKE '%/3.shtml'") == [{"status": "removed"}]
        site.requests.clear()
        crawl(config, db, settings={**rotation, "NIANBAO_RECHECK_RECENT": "30d"})
        # the six live ones, and the removed one its listing still shows (is it back?)
        assert len([p for p in site.requests if p.startswith("/a/") and p != "/a/list.shtml"]) == 7


def _paged_site(site: LocalSite, prefix: str, pages: int, per_page: int, first: int = 0) -> None:
    for n in range(pages):
        links = []
        for i in range(per_page):
            k = first + n * per_page + i
            site.page(f"{prefix}/doc_{k}.html", _article("示例市民政局", 1990 + k))
            links.append((f"{prefix}/doc_{k}.html", f"示例市民政局{1990 + k}年政府信息公开工作年度报告"))
        name = "index.html" if n == 0 else f"index_{n}.html"
        if n + 1 < pages:
            links.append((f"{prefix}/index_{n + 1}.html", "下一页"))
        site.listing(f"{prefix}/{name}", links)


@pytest.mark.parametrize("last_page_fails", [False, True])
def test_paging_stops_early_only_after_a_complete_full_pass(tmp_path, last_page_fails):
    """NIANBAO_FULL_PASS_EVERY: the second crawl stops at page 1 when it lists only known
    reports, and counts as complete, because the first crawl read every page. When the
    first crawl could not read a page (not complete), the second is a full pass again."""
    with LocalSite(validators="etag") as site:
        _paged_site(site, "/mzj", pages=3, per_page=4)
        if last_page_fails:
            site.answers["/mzj/index_2.html"] = (503, {"Content-Type": "text/html"}, b"busy")
        config = write_registry(tmp_path / "agencies.yaml", {"id": "mzj", "sources": [site.url("/mzj/index.html")]})
        db = tmp_path / "nianbao.db"
        early = {"NIANBAO_RECHECK_KNOWN_EVERY": "0s", "NIANBAO_FULL_PASS_EVERY": "7d"}
        crawl(config, db, settings=early)
        site.requests.clear()
        crawl(config, db, settings=early)
        rows = query(db, "SELECT outcome, listing_pages_skipped FROM crawl_agencies ORDER BY crawl_id")
        if last_page_fails:
            assert rows == [{"outcome": "errors", "listing_pages_skipped": 0}] * 2
            assert "/mzj/index_2.html" in site.requests
            return
        assert rows == [{"outcome": "ok", "listing_pages_skipped": 0},
                        {"outcome": "ok", "listing_pages_skipped": 1}]
        assert "/mzj/index_1.html" not in site.requests
        # A new report on page 1: paging goes on (page 2 lists only known ones: stops there).
        site.page("/mzj/doc_99.html", _article("示例市民政局", 2024))
        site.listing("/mzj/index.html", [("/mzj/doc_99.html", "示例市民政局2024年政府信息公开工作年度报告")]
                     + [(f"/mzj/doc_{k}.html", f"示例市民政局{1990 + k}年政府信息公开工作年度报告") for k in range(4)]
                     + [("/mzj/index_1.html", "下一页")])
        site.requests.clear()
        crawl(config, db, settings=early)
        assert "/mzj/index_1.html" in site.requests and "/mzj/index_2.html" not in site.requests
        assert _findings(db) == {"new": 13}


def test_retention_prunes_unchanged_sightings_and_good_fetches_keeps_evidence(tmp_path):
    from nianbao.storage import Store
    from nianbao.storage.freshness import Retention

    with LocalSite(validators="etag") as site:
        for i in range(3):
            site.page(f"/x/{i}.html", _article("示例镇", 2019 + i))
        site.listing("/x/", [(f"/x/{i}.html", f"示例镇{2019 + i}年政府信息公开工作年度报告") for i in range(3)])
        site.answers["/x/broken.html"] = (500, {"Content-Type": "text/html"}, b"oops")
        site.listing("/x/", [(f"/x/{i}.html", f"示例镇{2019 + i}年政府信息公开工作年度报告") for i in range(3)]
                     + [("/x/broken.html", "示例镇2018年政府信息公开工作年度报告")])
        config = write_registry(tmp_path / "agencies.yaml", {"id": "zhen", "sources": [site.url("/x/")]})
        db = tmp_path / "nianbao.db"
        for _ in range(3):
            crawl(config, db, settings=EVERY_CRAWL)
    before_errors = query(db, "SELECT count(*) AS n FROM fetch_log WHERE error IS NOT NULL OR status >= 400")[0]["n"]
    assert query(db, "SELECT count(*) AS n FROM sightings")[0]["n"] == 9
    with Store(db) as store:
        deleted = store.freshness.prune(Retention(sightings=0, fetch_log=0), now="2100-01-01T00:00:00Z")
    assert deleted["sightings"] == 3  # the second crawl's: each report keeps its latest
    sightings = query(db, "SELECT outcome, count(*) AS n FROM sightings GROUP BY report_id")
    assert [row["n"] for row in sightings] == [2, 2, 2]  # its 'new' and its latest
    after_errors = query(db, "SELECT count(*) AS n FROM fetch_log WHERE error IS NOT NULL OR status >= 400")[0]["n"]
    assert after_errors == before_errors > 0
    good = query(db, "SELECT url, count(*) AS n FROM fetch_log WHERE error IS NULL AND status < 400 GROUP BY url")
    assert good and all(row["n"] == 1 for row in good)
    assert query(db, "SELECT count(*) AS n FROM findings")[0]["n"] == 3
    assert query(db, "SELECT count(*) AS n FROM crawl_agencies")[0]["n"] == 3


def test_a_listing_answering_304_still_retries_a_report_that_failed(tmp_path):
    """A 304 listing is read as its last good fetch: a listed report the store does not have
    (its fetch failed) is asked for again, and the crawl that could not read it was not
    complete."""
    with LocalSite(validators="etag") as site:
        site.page("/gw/a.html", _article("示例县统计局", 2020))
        site.answers["/gw/b.html"] = (503, {"Content-Type": "text/html"}, b"busy")
        site.listing("/gw/list.html", [("/gw/a.html", "示例县统计局2020年政府信息公开工作年度报告"),
                                       ("/gw/b.html", "示例县统计局2021年政府信息公开工作年度报告")])
        config = write_registry(tmp_path / "agencies.yaml", {"id": "tjj", "sources": [site.url("/gw/list.html")]})
        db = tmp_path / "nianbao.db"
        crawl(config, db, settings=EVERY_CRAWL)
        assert query(db, "SELECT outcome, report_errors FROM crawl_agencies") == [
            {"outcome": "ok", "report_errors": 1}]  # not complete (storage.crawls.COMPLETE)
        site.page("/gw/b.html", _article("示例县统计局", 2021))
        crawl(config, db, settings=EVERY_CRAWL)
        assert "/gw/list.html" in site.not_modified and "/gw/a.html" in site.not_modified
        assert _findings(db) == {"new": 2}
        assert [row["report_errors"] for row in query(
            db, "SELECT report_errors FROM crawl_agencies ORDER BY crawl_id")] == [1, 0]
