"""Discovery of the report column, redesigns and moved reports: real Scrapy crawls of sites on
127.0.0.1 (tests/local_sites.py, layouts of demo/redesign.py), real SQLite.

- a `discover` source (site root or disclosure page) finds the annual-report column by its
  words and URL, past the decoys (a 工作要点 column, a single report's link, 企业年度报告公示),
  records it in report_columns and reads it directly from then on;
- a redesign that moves every URL gives one `column_moved` and one `moved` per report, never
  `removed` or a second `new`, and the coverage keeps each report's original date;
- a column that fails transiently (503) or once (404, then back) is never rediscovered;
- a report moved with the same text (content hash) or in another template (similarity) is the
  same report; another year's nearly identical report is not.
"""

from __future__ import annotations

import pytest

from nianbao.demo.redesign import DEMO_YEARS, LAYOUTS, PUBLISHED, agency_site
from nianbao.demo.site import paragraphs, report_text, trs_article
from nianbao.storage.moves import SIMILARITY_THRESHOLD, similarity
from tests.conftest import crawl, query
from tests.local_sites import LocalSite, write_registry

AGENCY = "示例县水利局"


def serve(site: LocalSite, pages: dict[str, str]) -> None:
    for path, body in pages.items():
        site.page(path, body)


def redesign(site: LocalSite, prefix: str, old: str, new: str) -> None:
    for path in agency_site(old, prefix, AGENCY):
        site.answers.pop(path, None)
    serve(site, agency_site(new, prefix, AGENCY))


def registry(tmp_path, site: LocalSite, source_path: str, agency_id: str = "slj"):
    return write_registry(tmp_path / "agencies.yaml", {
        "id": agency_id, "name": AGENCY, "kind": "department", "start_year": 2022,
        "sources": [{"url": site.url(source_path), "discover": True}]})


def findings(db, kind: str) -> list[dict]:
    return query(db, "SELECT * FROM findings WHERE kind = ? ORDER BY id", (kind,))


def columns(db) -> list[dict]:
    return query(db, "SELECT * FROM report_columns ORDER BY id")


def reports(db) -> list[dict]:
    return query(db, "SELECT id, url, year, kind, status, published_date FROM reports ORDER BY year")


@pytest.mark.parametrize("layout,source", [
    ("portal", "/sl/"),            # site root -> 政府信息公开 -> 政府信息公开年报 (xxgk/ndbg)
    ("modern", "/sl/"),            # site root -> 政务公开 -> 年度报告 (zwgk/zfxxgknb, .shtml)
    ("column2", "/sl/openness/"),  # disclosure page -> 法定主动公开内容 -> 政府信息公开工作年度报告
])                                 # (col/col3321: no report word in the URL)
def test_discovery_finds_the_column_past_the_decoys(tmp_path, layout, source):
    db = tmp_path / "nianbao.db"
    with LocalSite() as site:
        serve(site, agency_site(layout, "/sl", AGENCY))
        config = registry(tmp_path, site, source)
        crawl(config, db)
        column = LAYOUTS[layout].column_path
        [row] = columns(db)
        assert row["column_url"] == site.url("/sl" + column) and row["status"] == "ok"
        assert row["source_url"] == site.url(source) and row["score"] > 0 and row["reason"]
        assert [(r["year"], r["kind"]) for r in reports(db)] == [(y, "annual_report") for y in DEMO_YEARS]
        # the work-plan column may be looked at, its plans are never fetched as reports
        assert not any("p20" in path for path in site.requests)
        assert query(db, "SELECT outcome FROM crawl_agencies")[0]["outcome"] == "ok"

        # the next crawl reads the recorded column: no discovery, nothing new
        before = len(site.requests)
        crawl(config, db)
        again = site.requests[before:]
        assert source not in again or source == "/sl/openness/" and column in again
        assert "/sl" + LAYOUTS[layout].disclosure_path not in again
        assert "/sl" + column in again
        assert len(columns(db)) == 1 and len(findings(db, "new")) == len(DEMO_YEARS)
        assert not findings(db, "column_moved")


def test_a_site_without_any_report_column_is_no_complete_crawl(tmp_path):
    db = tmp_path / "nianbao.db"
    with LocalSite() as site:
        site.page("/", "<html><body><a href='/xwdt/'>新闻动态</a><a href='/gzyd/'>政务公开工作要点</a></body></html>")
        site.listing("/gzyd/", [("/gzyd/1.html", "2023年政务公开工作要点")])
        crawl(registry(tmp_path, site, "/"), db)
    assert columns(db) == []
    [agency] = query(db, "SELECT outcome, note FROM crawl_agencies")
    assert agency["outcome"] == "errors" and "no annual-report column" in agency["note"]


def test_a_redesign_moves_every_url_one_column_moved_one_moved_per_report(tmp_path):
    db = tmp_path / "nianbao.db"
    with LocalSite() as site:
        serve(site, agency_site("portal", "/sl", AGENCY))
        config = registry(tmp_path, site, "/sl/")
        crawl(config, db)
        first = {r["year"]: r for r in reports(db)}
        redesign(site, "/sl", "portal", "modern")

        crawl(config, db)  # the column answers 404 once: held, not yet rediscovered
        [column] = columns(db)
        assert column["status"] == "failing" and column["failures"] == 1
        assert "404" in column["last_failure"]
        assert not findings(db, "column_moved") and not findings(db, "removed")

        crawl(config, db)  # again: discovered anew, the reports found at their new URLs
        old, new = columns(db)
        assert old["status"] == "replaced" and old["replaced_by"] == new["id"]
        assert new["column_url"] == site.url("/sl" + LAYOUTS["modern"].column_path)
        [moved_column] = findings(db, "column_moved")
        assert old["column_url"] in moved_column["details"] and new["column_url"] in moved_column["details"]
        moved = findings(db, "moved")
        assert sorted(m["report_id"] for m in moved) == sorted(r["id"] for r in first.values())
        assert not findings(db, "removed") and len(findings(db, "new")) == len(DEMO_YEARS)
        assert not findings(db, "changed")
        after = {r["year"]: r for r in reports(db)}
        for year, report in after.items():
            assert report["id"] == first[year]["id"] and report["status"] == "live"
            assert report["published_date"] == first[year]["published_date"] == PUBLISHED[year]
            assert "/zwgk/zfxxgknb/" in report["url"]
            urls = query(db, "SELECT url, left_at, matched_by FROM report_urls WHERE report_id = ? "
                             "ORDER BY id", (report["id"],))
            assert [u["url"] for u in urls] == [first[year]["url"], report["url"]]
            assert urls[0]["left_at"] is not None and urls[1]["left_at"] is None
            assert urls[1]["matched_by"] in ("content_hash", "similarity")
        assert query(db, "SELECT count(*) AS n FROM pending_findings WHERE resolved_at IS NULL")[0]["n"] == 0
        coverage = query(db, "SELECT year, status, report_id FROM coverage WHERE agency_id = 'slj'")
        assert {c["year"]: c["status"] for c in coverage if c["report_id"]} == {
            y: "on_time" for y in DEMO_YEARS}

        crawl(config, db)  # settled: nothing more
        assert len(columns(db)) == 2 and len(findings(db, "moved")) == len(DEMO_YEARS)
        assert not findings(db, "removed") and len(findings(db, "column_moved")) == 1


@pytest.mark.parametrize("fault", ["transient", "once"])
def test_a_column_that_fails_transiently_or_once_is_not_rediscovered(tmp_path, fault):
    db = tmp_path / "nianbao.db"
    column_path = "/sl" + LAYOUTS["column2"].column_path
    with LocalSite() as site:
        serve(site, agency_site("column2", "/sl", AGENCY))
        config = registry(tmp_path, site, "/sl/openness/")
        crawl(config, db)
        good = site.answers[column_path]
        site.page(column_path, "<html><body><h1>503 Service Temporarily Unavailable</h1></body></html>",
                  status=503 if fault == "transient" else 404)
        crawl(config, db)
        if fault == "transient":
            crawl(config, db)
        else:
            site.answers[column_path] = good
            crawl(config, db)
            site.page(column_path, "<html>404</html>", status=404)
            crawl(config, db)
        [column] = columns(db)
        assert column["failures"] == (0 if fault == "transient" else 1)
        assert site.requests.count("/sl/openness/") == 1  # discovered once, in the first crawl
        assert not findings(db, "column_moved") and not findings(db, "removed")
        assert len(findings(db, "new")) == len(DEMO_YEARS) and not findings(db, "moved")


def _report_page(year: int, text: str, template: str) -> str:
    title = f"{AGENCY}{year}年政府信息公开工作年度报告"
    if template == "trs":
        return trs_article(title, PUBLISHED[year], paragraphs(text))
    return f"""<html><head><meta charset="utf-8"><title>{title}</title></head><body>
<div class="head">{AGENCY}门户网站 | 无障碍 | 长者模式</div>
<div class="detail"><h2>{title}</h2><div class="meta">发布日期：{PUBLISHED[year]}</div>
<div id="zoom">{paragraphs(text)}</div></div><div class="foot">网站地图 | 联系我们</div></body></html>"""


@pytest.mark.parametrize("how", ["content_hash", "similarity"])
def test_a_report_moved_within_the_column_is_one_report(tmp_path, how):
    db = tmp_path / "nianbao.db"
    text = report_text(AGENCY, 2022)
    with LocalSite() as site:
        site.listing("/ndbg/", [("/ndbg/2022/a.html", f"{AGENCY}2022年政府信息公开工作年度报告")])
        site.page("/ndbg/2022/a.html", _report_page(2022, text, "trs"))
        config = write_registry(tmp_path / "agencies.yaml", {
            "id": "slj", "name": AGENCY, "kind": "department", "start_year": 2022,
            "sources": [site.url("/ndbg/")]})
        crawl(config, db)
        [before] = reports(db)
        site.answers.pop("/ndbg/2022/a.html")
        moved_text = text if how == "content_hash" else text.replace("无。", "无。本报告电子版可在本局门户网站下载。")
        site.page("/content/post_9001.html", _report_page(2022, moved_text, "trs" if how == "content_hash" else "plain"))
        site.listing("/ndbg/", [("/content/post_9001.html", f"{AGENCY}2022年政府信息公开工作年度报告")])
        crawl(config, db)
        [after] = reports(db)
        assert after["id"] == before["id"] and after["url"] == site.url("/content/post_9001.html")
        [moved] = findings(db, "moved")
        assert f'"matched_by": "{how}"' in moved["details"]
        assert not findings(db, "removed") and len(findings(db, "new")) == 1
        assert not findings(db, "changed")
        crawl(config, db)
        assert not findings(db, "removed") and len(findings(db, "moved")) == 1


def test_another_years_nearly_identical_report_is_not_the_moved_one(tmp_path):
    """A report whose template is reused the next year, only years and numbers changed
    (similarity ~0.99): a new report, and the old one's removal still confirmed."""
    db = tmp_path / "nianbao.db"
    old_text = report_text(AGENCY, 2022)
    next_year = old_text.replace("2022", "2023")
    assert similarity(old_text, next_year) >= SIMILARITY_THRESHOLD  # only the year tells them apart
    with LocalSite() as site:
        site.listing("/ndbg/", [("/ndbg/2022/a.html", f"{AGENCY}2022年政府信息公开工作年度报告")])
        site.page("/ndbg/2022/a.html", _report_page(2022, old_text, "trs"))
        config = write_registry(tmp_path / "agencies.yaml", {
            "id": "slj", "name": AGENCY, "kind": "department", "start_year": 2022,
            "sources": [site.url("/ndbg/")]})
        crawl(config, db)
        site.answers.pop("/ndbg/2022/a.html")
        site.page("/ndbg/2023/b.html", _report_page(2023, next_year, "plain"))
        site.listing("/ndbg/", [("/ndbg/2023/b.html", f"{AGENCY}2023年政府信息公开工作年度报告")])
        crawl(config, db)
        crawl(config, db)
    assert [(r["year"], r["status"]) for r in reports(db)] == [(2022, "removed"), (2023, "live")]
    assert not findings(db, "moved") and len(findings(db, "new")) == 2
    assert len(findings(db, "removed")) == 1


def test_similarity_measured_on_real_seeds():
    """The threshold between the measured cases: the same real report with other page chrome
    matches; two real reports of other agencies and years are far apart."""
    from pathlib import Path
    seeds = Path(__file__).parent / "files" / "seeds"
    texts = sorted(seeds.glob("*.txt"))
    if len(texts) < 2:
        pytest.skip("no seeds")
    first, second = (path.read_text(encoding="utf-8") for path in texts[:2])
    lines = first.splitlines()
    rechromed = "\n".join(line for line in lines if "字体" not in line and "发布时间" not in line)
    rechromed += "\n分享到：微信 微博 【打印本页】【关闭窗口】"
    assert similarity(first, rechromed) >= SIMILARITY_THRESHOLD
    assert similarity(first, second) < 0.2
    for year in (2019, 2020, 2021, 2022):  # the demo's consecutive years: under the threshold
        assert similarity(report_text(AGENCY, year), report_text(AGENCY, year + 1)) < SIMILARITY_THRESHOLD


def test_a_redesign_that_redirects_old_urls_makes_no_second_report(tmp_path):
    """Old column and report URLs answer 301 to their new places: the same reports (seen at
    the new URLs through the redirects and in the new listing), no `new`, no `removed`."""
    db = tmp_path / "nianbao.db"
    old_pages = agency_site("portal", "/sl", AGENCY)
    with LocalSite() as site:
        serve(site, old_pages)
        config = registry(tmp_path, site, "/sl/")
        crawl(config, db)
        first = {r["year"]: r for r in reports(db)}
        redesign(site, "/sl", "portal", "modern")
        old, new = LAYOUTS["portal"], LAYOUTS["modern"]
        site.redirect("/sl" + old.column_path, site.url("/sl" + new.column_path), status=301)
        for n, year in enumerate(DEMO_YEARS, start=1):
            site.redirect("/sl" + old.report_path.format(year=year, n=n),
                          site.url("/sl" + new.report_path.format(year=year, n=n)), status=301)
        for _ in range(3):
            crawl(config, db)
        after = {r["year"]: r for r in reports(db)}
        assert {y: r["id"] for y, r in after.items()} == {y: r["id"] for y, r in first.items()}
        assert len(findings(db, "new")) == len(DEMO_YEARS)
        assert not findings(db, "removed") and not findings(db, "changed")
        assert len(findings(db, "moved")) <= len(DEMO_YEARS)
        assert not findings(db, "column_moved")  # the old column still leads to a listing
        for report in after.values():
            urls = {u["url"] for u in query(db, "SELECT url FROM report_urls WHERE report_id = ?",
                                             (report["id"],))}
            assert any("/zwgk/zfxxgknb/" in url for url in urls)


def test_a_column_on_a_host_outside_the_origins_is_named_not_fetched(tmp_path):
    """The home page links its 年报 column on another host (a separate xxgk host) that the
    registry does not list in `domains`: not fetched, and the fetch log says which host."""
    db = tmp_path / "nianbao.db"
    with LocalSite() as home, LocalSite("127.0.0.2") as xxgk:
        serve(xxgk, agency_site("portal", "/sl", AGENCY))
        home.page("/", f"<html><body><a href='{xxgk.url('/sl/xxgk/ndbg/index.html')}'>政府信息公开年报</a>"
                       "<a href='/xwdt/'>新闻动态</a></body></html>")
        config = registry(tmp_path, home, "/")
        crawl(config, db)
        assert xxgk.requests == [] and columns(db) == []
        [row] = query(db, "SELECT error FROM fetch_log WHERE purpose = 'listing'")
        assert "outside the agency's origins" in row["error"] and f"127.0.0.2:{xxgk.port}" in row["error"]
        # with the host in `domains` the column is found there
        write_registry(tmp_path / "agencies.yaml", {
            "id": "slj", "name": AGENCY, "kind": "department", "start_year": 2022,
            "sources": [{"url": home.url("/"), "discover": True}],
            "domains": [f"127.0.0.2:{xxgk.port}"]})
        crawl(config, db)
        [column] = columns(db)
        assert column["column_url"] == xxgk.url("/sl/xxgk/ndbg/index.html")
        assert len(reports(db)) == len(DEMO_YEARS)
