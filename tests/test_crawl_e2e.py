"""End to end: real Scrapy crawls (child processes) of the demo portal on 127.0.0.1, real SQLite.

The portal (demo/site.py) has a TRS column with a createPageHTML pager, a Hanweb column with
records in a <datastore> script and a POSTed data proxy, GBK pages (one declaring gb2312 with
GBK-only characters, one declaring nothing), a traditional-Chinese page with ruby debris
behind plain 下一页 links, non-report documents, a PDF-only report, a robots.txt-forbidden
link, and a dead agency; and (demo/ground.py) a gkmlpt site whose list comes from a JSON API
shared with another site, a traditional listing with pinyin ruby in its titles, a zone's
column hosting the city's and the region's reports, and a query-string platform whose 2019
report carries a misleading PubDate meta.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from nianbao.demo.site import with_body
from tests.conftest import FAST_SETTINGS, REPO, crawl, query

TRS = "/trs/xxgk/ndbg"
TRS_2015 = f"{TRS}/201603/t20160320_2001.html"
HANWEB_2019 = "/art/2020/1/20/art_1422_5003.html"
GBK_2019 = "/gbk/2019/t20200115_71.html"

EXPECTED_REPORTS = {
    # (agency, year, kind)
    ("demo-trs", 2019, "annual_report"),
    ("demo-trs", 2020, "other"),  # 工作要点落实情况报告: stored, never counted as a report
    ("demo-trs", 2016, "annual_report"),  # only a PDF
    ("demo-trs", 2015, "annual_report"),
    ("demo-trs", 2014, "annual_report"),  # the real seed page 000
    ("demo-trs", 2012, "annual_report"),  # 政务公开年报, on the last TRS page
    ("demo-hanweb", 2021, "annual_report"),  # late: published 2022-02-15
    ("demo-hanweb", 2020, "annual_report"),
    ("demo-hanweb", 2019, "annual_report"),
    ("demo-hanweb", 2018, "annual_report"),  # behind the data proxy
    ("demo-hanweb", 2017, "annual_report"),  # behind the data proxy (and the notice too)
    ("demo-gbk", 2019, "annual_report"),
    ("demo-gbk", 2018, "annual_report"),
    ("demo-gbk", 2017, "annual_report"),  # titled 2018年度, published 2018-03-10, covers 2017
    ("demo-trad", 2019, "annual_report"),  # traditional, ruby debris
    ("demo-trad", 2018, "annual_report"),  # on listing page 2 (下一頁)
    ("demo-gkmlpt", 2021, "annual_report"),  # JSON API page 1
    ("demo-gkmlpt", 2020, "annual_report"),
    ("demo-gkmlpt", 2019, "annual_report"),  # JSON API page 2
    ("demo-zone", 2022, "annual_report"),
    # The city's and the region's 2021 reports, found in the zone's column: their identity is
    # where they were found (agency_id demo-zone, their URL), whoever they count for.
    ("demo-zone", 2021, "annual_report"),
    ("demo-zone", 2020, "annual_report"),
    ("demo-xxgk", 2019, "annual_report"),  # PubDate meta 2022-04-24, prints 发布日期：2020-01-15
    ("demo-xxgk", 2018, "annual_report"),  # on page 2 (cur_page=2, a script pager)
    # listing titles with pinyin ruby (年度報(bào)告), normalised like body text before they are
    # classified
    ("demo-ruby", 2019, "annual_report"),
    ("demo-ruby", 2020, "annual_report"),
    # the standard statistical tables: prose only (2017), 2019 and 2021 formats, and a 2022
    # report whose figures do not add up
    ("demo-stats", 2017, "annual_report"),
    ("demo-stats", 2019, "annual_report"),
    ("demo-stats", 2021, "annual_report"),
    ("demo-stats", 2022, "annual_report"),
    # found by discovery from the site's home page (demo/redesign.py, layout 'portal')
    ("demo-redesign", 2023, "annual_report"),
    ("demo-redesign", 2024, "annual_report"),
    ("demo-redesign", 2025, "annual_report"),
    # reports that are documents: a 详见附件 article with a CID-font PDF, a DOCX from the listing
    ("demo-attach", 2021, "annual_report"),
    ("demo-attach", 2020, "annual_report"),
}
# Report rows: demo-zone 2021 is two reports (the city's and the region's).
REPORT_ROWS = len(EXPECTED_REPORTS) + 1
AGENCIES = ("demo-trs", "demo-hanweb", "demo-gbk", "demo-trad", "demo-dead",
            "demo-gkmlpt", "demo-ruby", "demo-zone", "demo-xxgk", "demo-stats",
            "demo-redesign", "demo-attach")


def report(db, url_suffix):
    rows = query(db, "SELECT * FROM reports WHERE url LIKE ?", [f"%{url_suffix}"])
    assert len(rows) == 1, url_suffix
    return rows[0]


@pytest.fixture
def first_crawl(portal, demo_config, db_path):
    # The production download timeout: on a loaded 2-core machine a live demo site's loopback
    # answer has waited > 5 s, and a timeout there reads as a fetch error of a live site. The
    # dead site refuses connections at once, so this costs nothing.
    result = crawl(demo_config, db_path, settings={"DOWNLOAD_TIMEOUT": "30"})
    return result


def test_first_crawl_finds_every_report_of_every_portal_style(portal, first_crawl, db_path):
    rows = query(db_path, "SELECT agency_id, year, kind, status, text, title FROM reports")
    assert {(r["agency_id"], r["year"], r["kind"]) for r in rows} == EXPECTED_REPORTS
    assert all(r["status"] == "live" for r in rows)
    for row in rows:
        assert "\ufffd" not in row["text"] and "\ufffd" not in row["title"]
    assert len(rows) == REPORT_ROWS
    # one version and one `new` finding per report
    assert query(db_path, "SELECT count(*) n FROM versions")[0]["n"] == REPORT_ROWS
    findings = query(db_path, "SELECT kind, count(*) n FROM findings GROUP BY kind")
    assert findings == [{"kind": "new", "n": REPORT_ROWS}]
    # the summary names every agency, including the dead one
    for agency in AGENCIES:
        assert agency in first_crawl.stdout


def test_the_attachment_only_agency_has_its_files_texts(first_crawl, db_path):
    rows = {r["year"]: r for r in query(db_path, "SELECT * FROM reports WHERE agency_id = 'demo-attach'")}
    pdf, docx = rows[2021], rows[2020]
    assert pdf["text"].startswith("根据《中华人民共和国政府信息公开条例》规定，现公布示例县市场监督管理局2021年度")
    assert "行政规范性文件 | 4 | 1 | 18" in pdf["text"] and "详见附件" not in pdf["text"]
    assert pdf["text_year"] == 2021
    assert docx["url"].endswith(".docx") and "一、总体情况" in docx["text"]
    files = query(db_path, "SELECT a.kind, a.extraction_status FROM attachments a JOIN reports r "
                           "ON r.id = a.report_id WHERE r.agency_id = 'demo-attach' ORDER BY a.kind")
    assert files == [{"kind": "docx", "extraction_status": "ok"}, {"kind": "pdf", "extraction_status": "ok"}]


def test_pagination_of_each_family_was_followed(portal, first_crawl):
    served = set(portal.requests)
    assert ("GET", f"{TRS}/index_2.html") in served  # createPageHTML
    proxy_posts = [path for method, path in served if method == "POST" and "dataproxy.jsp" in path]
    assert proxy_posts == ["/module/web/jpage/dataproxy.jsp?startrecord=4&endrecord=6&perpage=3"]
    assert ("GET", "/trad/list.html?page=2") in served  # 下一頁 / numbered links
    # gkmlpt: the shell page, then the JSON API with the SID read from it, page by page
    assert ("GET", "/shiliqu/gkmlpt/index") in served
    api = sorted(path for _, path in served if path.startswith("/gkmlpt/api/"))
    assert api == ["/gkmlpt/api/all/2843?page=1&sid=440305", "/gkmlpt/api/all/2843?page=2&sid=440305"]
    assert ("GET", "/info/iList.jsp?isSd=false&node_id=GKtjj&cat_id=10376&cur_page=2") in served


def test_sites_sharing_a_gkmlpt_platform_are_not_mixed(portal, first_crawl, db_path):
    # /linqu/ is another site on the same platform host, with the same category id and another
    # SID: none of its documents is asked for or stored
    assert not any("/linqu/" in path or "sid=440306" in path for _, path in portal.requests)
    rows = query(db_path, "SELECT url FROM reports WHERE agency_id = 'demo-gkmlpt'")
    assert len(rows) == 3 and all("/shiliqu/gkmlpt/content/" in r["url"] for r in rows)
    # each listing page read as a listing: the crawl is complete for the agency
    outcome = query(db_path, "SELECT outcome FROM crawl_agencies WHERE agency_id = 'demo-gkmlpt'")
    assert outcome == [{"outcome": "ok"}]


def test_new_ground_hosted_reports_ruby_titles_and_migrated_dates(portal, first_crawl, db_path):
    hosted = query(db_path, "SELECT agency_id, title FROM reports WHERE url LIKE '%/zone/%' AND year = 2021 "
                            "ORDER BY title")
    assert [r["title"] for r in hosted] == ["示例市人民政府办公室2021年政府信息公开工作年度报告",
                                            "示例自治区人民政府2021年政府信息公开工作年度报告"]
    assert {r["agency_id"] for r in hosted} == {"demo-zone"}
    # the listing's ruby-titled reports were recognised and fetched
    assert ("GET", "/ruby/col/col71/index.html") in portal.requests
    assert sum(path.startswith("/ruby/art/") for _, path in portal.requests) == 2
    migrated = report(db_path, "/info/1375/40211.htm")
    # the printed 发布日期 wins over the PubDate meta (a site migration), which stays evidence
    assert (migrated["published_date"], migrated["published_basis"]) == ("2020-01-15", "printed")
    assert "2022-04-24" in migrated["date_evidence"]
    # the zone's column: the city's report counts for the city, the region's for nobody
    counted = query(db_path, "SELECT counts_for, issuer FROM reports WHERE url LIKE '%/zone/%' "
                             "AND year = 2021 ORDER BY title")
    assert [r["counts_for"] for r in counted] == ["demo-trs", None]


def test_robots_txt_and_non_reports_are_respected(portal, first_crawl, db_path):
    paths = {path for _, path in portal.requests}
    assert "/robots.txt" in paths
    assert not any("/drafts/" in path for path in paths)
    assert f"{TRS}/202101/t20210120_9.html" not in paths  # linked on host "localhost": offsite
    # the notice and the work plan are not report links: never fetched
    assert "/art/2021/1/10/art_1422_5004.html" not in paths
    assert "/trad/art/2020/2/10/art_99_2.html" not in paths
    other = report(db_path, "t20200305_3002.html")
    assert other["kind"] == "other" and "工作要点落实情况报告" in other["title"]


def test_metadata_title_year_date(first_crawl, db_path):
    trs_2019 = report(db_path, "t20200120_3001.html")
    assert trs_2019["title"] == "示例市人民政府办公室2019年政府信息公开工作年度报告"
    assert trs_2019["published_date"] == "2020-01-20"
    # split over two pages (TRS createPageHTML on the article): both parts, in order, and the
    # statistics table on part two survives extraction, one row per line
    text = trs_2019["text"]
    assert 0 < text.index("一、总体情况") < text.index("四、政府信息公开行政复议") < text.index("六、其他需要报告的事项")
    assert "行政规范性文件 | 7 | 2 | 41" in text
    seed = report(db_path, "t20141225_1001.html")
    assert (seed["year"], seed["published_date"]) == (2014, "2014-12-25")
    assert seed["title"] == "明光市住建局政府信息公开2014年度工作报告"
    for noise in ("发布时间", "字体", "扫一扫", "相关阅读", "您现在所在的位置", "网站标识码"):
        assert noise not in seed["text"], noise
    pdf = report(db_path, "P020170331_4001.pdf")
    assert (pdf["year"], pdf["published_date"], pdf["text"]) == (2016, "2017-03-31", "")


def test_year_attribution_keeps_title_year_and_evidence(first_crawl, db_path):
    misnamed = report(db_path, "/gbk/2018/t20180310_33.html")
    assert (misnamed["year"], misnamed["title_year"], misnamed["text_year"], misnamed["year_basis"]) == (2017, 2018, 2017, "text")
    regular = report(db_path, GBK_2019)
    assert (regular["year"], regular["title_year"], regular["text_year"], regular["year_basis"]) == (2019, 2019, 2019, "title")


def test_encodings_and_traditional_chinese(first_crawl, db_path):
    declared_gb2312 = report(db_path, GBK_2019)
    undeclared = report(db_path, "/gbk/2018/t20190320_52.html")
    for row in (declared_gb2312, undeclared):
        assert "局长王堃、副局长李镕同志" in row["text"]
        assert "示例县住房和城乡建设局" in row["title"]
    trad = report(db_path, "/trad/art/2020/1/21/art_99_1.html")
    assert trad["title"] == "2019年如东县住房和城乡建设局政府信息公开工作年度报告"
    assert trad["text"].startswith("根据《中华人民共和国政府信息公开条例》规定")
    for debris in ("(jù)", "(guó)", "據", "開", "報"):
        assert debris not in trad["text"]
    raw = query(db_path, "SELECT raw_page, raw_encoding FROM versions v JOIN reports r ON r.id = v.report_id "
                         "WHERE r.url LIKE ?", [f"%{GBK_2019}"])[0]
    import zlib
    assert zlib.decompress(raw["raw_page"]).decode("gb18030").count("王堃") == 1
    assert raw["raw_encoding"] == "gb18030"


def test_fetch_log_explains_the_dead_site(portal, first_crawl, db_path):
    dead = query(db_path, "SELECT * FROM fetch_log WHERE url = ?", [portal.dead_url])
    assert dead and all(row["status"] is None and row["error"] for row in dead)
    assert dead[0]["agency_id"] == "demo-dead"
    ok = query(db_path, "SELECT count(*) n FROM fetch_log WHERE status = 200")[0]["n"]
    assert ok >= len(EXPECTED_REPORTS)
    crawls = query(db_path, "SELECT * FROM crawls")
    assert len(crawls) == 1 and crawls[0]["finish_reason"] == "finished"
    errors_line = next(line for line in first_crawl.stdout.splitlines() if line.startswith("Fetch errors at"))
    assert "demo-dead" in errors_line and "demo-hanweb" not in errors_line
    # the robots.txt refusal is recorded with its reason, as a request that was not made
    refused = query(db_path, "SELECT error FROM fetch_log WHERE url LIKE '%/drafts/%'")
    assert refused == [{"error": "IgnoreRequest: Forbidden by robots.txt"}]


def test_recrawl_of_unchanged_portal_adds_nothing(portal, first_crawl, demo_config, db_path):
    before = query(db_path, "SELECT (SELECT count(*) FROM versions) v, (SELECT count(*) FROM findings) f")
    second = crawl(demo_config, db_path)
    after = query(db_path, "SELECT (SELECT count(*) FROM versions) v, (SELECT count(*) FROM findings) f")
    assert before == after
    crawls = query(db_path, "SELECT id FROM crawls ORDER BY id")
    assert len(crawls) == 2
    seen = query(db_path, "SELECT count(*) n FROM reports WHERE last_crawl_id = ?", [crawls[1]["id"]])
    assert seen[0]["n"] == REPORT_ROWS
    assert "demo-trs" in second.stdout


def test_changed_report_gets_a_version_and_one_finding(portal, first_crawl, demo_config, db_path):
    page = portal.page(TRS_2015)
    portal.set_page(TRS_2015, with_body(page, "无。", "本报告于发布后更正了第三部分的数据。"))
    crawl(demo_config, db_path)
    row = report(db_path, TRS_2015)
    assert "本报告于发布后更正了第三部分的数据" in row["text"]
    versions = query(db_path, "SELECT version FROM versions WHERE report_id = ? ORDER BY version", [row["id"]])
    assert [v["version"] for v in versions] == [1, 2]
    changed = query(db_path, "SELECT * FROM findings WHERE kind = 'changed'")
    assert len(changed) == 1 and changed[0]["report_id"] == row["id"]
    # a third crawl of the same text: nothing more
    crawl(demo_config, db_path)
    assert len(query(db_path, "SELECT * FROM findings WHERE kind = 'changed'")) == 1


def test_404_removes_but_timeout_and_5xx_do_not(portal, first_crawl, demo_config, db_path):
    portal.set_status(TRS_2015, 404)
    portal.set_delay(HANWEB_2019, float(FAST_SETTINGS["DOWNLOAD_TIMEOUT"]) + 3)
    portal.set_status(GBK_2019, 503)
    held_crawl = crawl(demo_config, db_path)
    # one crawl's 404 is evidence, held until a later crawl confirms it
    assert report(db_path, TRS_2015)["status"] == "live"
    assert "1 removal(s) or changed text(s) held until a later crawl confirms them" in held_crawl.stdout
    held = query(db_path, "SELECT kind, reason FROM pending_findings WHERE resolved_at IS NULL")
    assert held == [{"kind": "removal", "reason": "http_404"}]
    assert query(db_path, "SELECT kind FROM findings WHERE kind != 'new'") == []
    crawl(demo_config, db_path)
    assert report(db_path, TRS_2015)["status"] == "removed"
    assert report(db_path, HANWEB_2019)["status"] == "live"
    assert report(db_path, GBK_2019)["status"] == "live"
    findings = query(db_path, "SELECT kind, report_id FROM findings WHERE kind != 'new'")
    assert findings == [{"kind": "removed", "report_id": report(db_path, TRS_2015)["id"]}]
    timeouts = query(db_path, "SELECT error FROM fetch_log WHERE url LIKE ? AND error IS NOT NULL", [f"%{HANWEB_2019}"])
    assert timeouts and "Timeout" in timeouts[0]["error"]
    # the same 404 on the next crawl raises nothing new; the page coming back is a `restored`
    crawl(demo_config, db_path)
    assert len(query(db_path, "SELECT * FROM findings WHERE kind = 'removed'")) == 1
    portal.set_status(TRS_2015, 200)
    crawl(demo_config, db_path)
    assert report(db_path, TRS_2015)["status"] == "live"
    assert len(query(db_path, "SELECT * FROM findings WHERE kind = 'restored'")) == 1


def test_report_dropped_from_listing_is_still_rechecked(portal, first_crawl, demo_config, db_path):
    listing = portal.page(f"{TRS}/index_1.html")
    portal.set_page(f"{TRS}/index_1.html", with_body(listing, "./201603/t20160320_2001.html", "./gone.html"))
    portal.set_status(TRS_2015, 410)
    crawl(demo_config, db_path)
    assert report(db_path, TRS_2015)["status"] == "live"  # held until a later crawl confirms it
    crawl(demo_config, db_path)
    assert report(db_path, TRS_2015)["status"] == "removed"
    [removed] = query(db_path, "SELECT details FROM findings WHERE kind = 'removed'")
    assert json.loads(removed["details"])["reason"] == "http_410"


def test_scrapy_crawl_command_uses_the_same_settings_and_store(portal, demo_config, db_path):
    env = {**os.environ, "NIANBAO_CONFIG": str(demo_config), "NIANBAO_DB": str(db_path)}
    settings = {**FAST_SETTINGS, "NIANBAO_CONTACT_URL": "https://example.org/nianbao-contact"}
    flags = [arg for name, value in settings.items() for arg in ("-s", f"{name}={value}")]
    result = subprocess.run(
        [sys.executable, "-m", "scrapy", "crawl", "reports", "-a", "agency=demo-trad", *flags],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    rows = query(db_path, "SELECT agency_id, year FROM reports ORDER BY year")
    assert rows == [{"agency_id": "demo-trad", "year": 2018}, {"agency_id": "demo-trad", "year": 2019}]
    assert portal.user_agents
    assert all(ua.startswith("nianbao/") and "(+https://example.org/nianbao-contact)" in ua
               for ua in portal.user_agents)


def test_crawl_killed_midway_leaves_a_consistent_store(portal, demo_config, db_path):
    """SIGKILL the crawl while reports are being written; the store stays whole and a re-crawl
    completes it without duplicates."""
    import signal
    import time

    from nianbao.storage import Store

    slow = [path for path in portal.site.pages if "/art/" in path or "/t20" in path]
    for path in slow[len(slow) // 3:]:
        portal.set_delay(path, 1.5)
    flags = [f"-s{name}={value}" for name, value in {**FAST_SETTINGS, "DOWNLOAD_TIMEOUT": "10",
                                                     "CONCURRENT_REQUESTS_PER_DOMAIN": "2"}.items()]
    child = subprocess.Popen(
        [sys.executable, "-m", "nianbao", "crawl", "--config", str(demo_config), "--db", str(db_path), *flags],
        cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if db_path.exists() and query(db_path, "SELECT count(*) n FROM sqlite_master WHERE name = 'reports'")[0]["n"]:
                if query(db_path, "SELECT count(*) n FROM reports")[0]["n"] >= 3:
                    break
            time.sleep(0.1)
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=10)
    finally:
        if child.poll() is None:
            child.kill()
    stored = query(db_path, "SELECT count(*) n FROM reports")[0]["n"]
    assert 3 <= stored < REPORT_ROWS
    with Store(db_path) as store:
        assert store.history.integrity_problems() == []
    for path in slow:
        portal.set_delay(path, 0)
    crawl(demo_config, db_path)
    rows = query(db_path, "SELECT agency_id, year, kind FROM reports")
    assert {(r["agency_id"], r["year"], r["kind"]) for r in rows} == EXPECTED_REPORTS
    assert len(rows) == REPORT_ROWS
    with Store(db_path) as store:
        assert store.history.integrity_problems() == []


def test_block_page_served_with_200_is_not_a_new_version(portal, first_crawl, demo_config, db_path):
    """An anti-bot/error page answered with 200 at a known report URL is not a change."""
    from nianbao.demo.site import Page

    block_page = ("<html><head><title>访问受限</title><script>var $_ts=window['$_ts'];</script></head>"
                  "<body><div class='TRS_Editor'><p>您的访问过于频繁，请稍后再试。</p></div></body></html>")
    portal.set_page(TRS_2015, Page(block_page.encode("utf-8")))
    crawl(demo_config, db_path)
    row = report(db_path, TRS_2015)
    assert row["current_version"] == 1 and row["status"] == "live"
    assert query(db_path, "SELECT count(*) n FROM findings WHERE kind != 'new'")[0]["n"] == 0
    logged = query(db_path, "SELECT error FROM fetch_log WHERE purpose = 'extract' AND url LIKE ?", [f"%{TRS_2015}"])
    assert logged and "not recorded as a new version" in logged[0]["error"]


@pytest.mark.parametrize("cap,fetched_last_page", [(3, True), (2, False)])
def test_listing_page_cap_counts_distinct_pages(portal, demo_config, db_path, cap, fetched_last_page):
    # Every TRS page repeats the whole pager: only distinct pages may count against the cap.
    crawl(demo_config, db_path, "--agency", "demo-trs", settings={"NIANBAO_MAX_LISTING_PAGES": str(cap)})
    assert (("GET", f"{TRS}/index_2.html") in portal.requests) == fetched_last_page
    capped = query(db_path, "SELECT error FROM fetch_log WHERE purpose = 'listing_cap'")
    assert bool(capped) == (not fetched_last_page)
    if capped:
        assert "more than 2 pages" in capped[0]["error"]


def test_pdf_report_versions_by_bytes_and_ignores_an_html_error_page(portal, first_crawl, demo_config, db_path):
    from nianbao.demo.site import Page

    pdf_path = f"{TRS}/201703/P020170331_4001.pdf"
    portal.set_page(pdf_path, Page("<html><body><p>文件不存在或已被删除，请返回首页。</p></body></html>".encode()))
    crawl(demo_config, db_path)
    row = report(db_path, pdf_path)
    assert row["current_version"] == 1 and row["status"] == "live"
    assert query(db_path, "SELECT count(*) n FROM findings WHERE kind = 'changed'")[0]["n"] == 0
    # a replaced file (new bytes) is a new version of a document report
    portal.set_page(pdf_path, Page(b"%PDF-1.4\n% corrected edition\n%%EOF\n", content_type="application/pdf"))
    crawl(demo_config, db_path)
    assert report(db_path, pdf_path)["current_version"] == 2
    assert query(db_path, "SELECT count(*) n FROM findings WHERE kind = 'changed'")[0]["n"] == 1
