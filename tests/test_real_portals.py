"""Real crawls of columns that host other agencies' reports, with dates that disagree.

Each site is built the way real portals are (see ../shared/portals.md): a development zone's
(or a department's) annual-report column lists its own report next to its city's (or its
county's) and its region's (or its province's), one of them naming its issuer only in its
first lines, plus links that merely name the column; its pages print one publication date in
their info block while a meta tag says another. After a crawl, `nianbao check --json` and the
`coverage` view must agree row by row (tests/test_coverage_view.py's comparison), count each
report for its issuer with `hosted_by` naming the site, take the printed dates, and count a
report whose issuer joins the registry later for that agency at the next check.

The two sites differ in every surface detail: province, levels, portal family (TRS list and
xxgk table vs. Hanweb table), labels, date formats, meta names, which issuer is implicit.
"""

from __future__ import annotations

import html
import json
import sqlite3
from dataclasses import dataclass

import pytest
import yaml

from nianbao.demo.site import paragraphs, report_text
from tests.conftest import crawl, run_nianbao
from tests.local_sites import LocalSite
from tests.test_coverage_view import assert_view_is_check


def trs_article(title: str, meta: str, info: str, body: str) -> str:
    """A TRS/xxgk article: metadata table with the info block, body in .TRS_Editor."""
    return f"""<!DOCTYPE html><html><head><meta charset="utf-8">{meta}
<meta name="ArticleTitle" content="{html.escape(title)}"><title>{html.escape(title)}</title></head><body>
<div class="top"><a href="/">首页</a> | <a href="#">EN</a> | <a href="#">登录</a></div>
<div class="xxgk"><table><tr><td>索引号：</td><td>114501000074/2020-0042</td><td>主题分类：</td><td>政务公开</td></tr>
<tr>{info}</tr></table></div>
<h1>{html.escape(title)}</h1><div class="TRS_Editor">{body}</div></body></html>"""


def hanweb_article(title: str, meta: str, info: str, body: str) -> str:
    """A Hanweb article: a title cell, an info line, the body between ZJEG_RSS markers."""
    return f"""<html><head><meta http-equiv="Content-Type" content="text/html; charset=utf-8">{meta}
<title>{html.escape(title)}</title></head><body>
<table width="1000"><tr><td class="bt_link"><a href="/">首页</a> &gt; 信息公开年报</td></tr>
<tr><td class="title">{html.escape(title)}</td></tr><tr><td class="info">{info}　字号：[ 大 中 小 ]</td></tr>
<tr><td id="zoom"><!--ZJEG_RSS.content.begin-->{body}<!--ZJEG_RSS.content.end--></td></tr></table></body></html>"""


def ul_listing(rows) -> str:
    items = "".join(f'<li><a href="{h}" target="_blank">{html.escape(t)}</a>'
                    + (f"<span>{d}</span>" if d else "") + "</li>" for h, t, d in rows)
    return (f"<html><head><meta charset='utf-8'><title>信息公开年报</title></head><body>"
            f"<div class='side'><a href='/zwgk/'>政务公开</a></div><ul class='list'>{items}</ul></body></html>")


def table_listing(rows) -> str:
    cells = "".join(f'<tr><td><a href="{h}">{html.escape(t)}</a></td><td>{d or ""}</td></tr>'
                    for h, t, d in rows)
    return (f"<html><head><meta charset='utf-8'><title>政府信息公开年度报告</title></head><body>"
            f"<table class='list'><tr><th>标题</th><th>日期</th></tr>{cells}</table></body></html>")


@dataclass
class Site:
    """One portal: its pages, the registry before and after an agency joins it, and what a
    crawl and check must show."""

    name: str
    host: dict  # the agency whose column hosts the others
    others: list[dict]  # other registry agencies (their own columns are near-empty)
    joins: dict  # the agency that joins the registry later
    listing: str  # html of the host's column
    pages: dict[str, str]  # path -> article html
    navigation: list[str]  # paths of links that merely name the column
    # (agency, year) -> (status, published_basis, hosted_by)
    expected: dict[tuple[str, int], tuple[str, str, str | None]]
    outside: dict[str, str]  # path of the report outside the registry -> its issuer
    joined: tuple[str, int]  # the row the joining agency gets


def guangxi() -> Site:
    zone, city = "南宁经济技术开发区管委会", "南宁市"
    own = "南宁经济技术开发区管委会2019年政府信息公开工作年度报告"
    city_title = "南宁市2019年政府信息公开工作年度报告"
    region_title = "广西壮族自治区2019年政府信息公开工作年度报告"
    pages = {
        # the migration stamped 2022-04-24 into PubDate; the page prints 2020-03-20 (on time)
        "/ndbg/202003/t20200320_41.html": trs_article(
            own, '<meta name="PubDate" content="2022-04-24 10:12:31">',
            "<td>成文日期：</td><td>2020年03月18日</td><td>发布日期：</td><td>2020年03月20日</td>",
            paragraphs(report_text(zone, 2019))),
        "/ndbg/202003/t20200325_42.html": trs_article(
            city_title, '<meta name="PubDate" content="2020-03-25 09:00">',
            "<td>发布日期：</td><td>2020-03-25</td>", paragraphs(report_text(city, 2019))),
        "/ndbg/202003/t20200330_43.html": trs_article(
            region_title, '<meta name="PubDate" content="2020-03-30">',
            "<td>发布日期：</td><td>2020-03-30</td>", paragraphs(report_text("广西壮族自治区", 2019))),
        # no issuer in the title, the city named in the first lines; only a date of writing
        "/ndbg/201903/t20190305_31.html": trs_article(
            "2018年政府信息公开工作年度报告", "",
            "<td>成文日期：</td><td>2019年03月01日</td>", paragraphs(report_text(city, 2018))),
    }
    listing = ul_listing([
        ("/ndbg/", "信息公开年报", None),
        ("/nanning/ndbg/", "市政府信息公开年报", None),
        ("./202003/t20200320_41.html", own, "2020-03-20"),
        ("./202003/t20200325_42.html", city_title, "2020-03-25"),
        ("./202003/t20200330_43.html", region_title, "2020-03-30"),
        ("./201903/t20190305_31.html", "2018年政府信息公开工作年度报告", None),
    ])
    return Site(
        name="guangxi-zone",
        host=dict(id="nn-zone", name="南宁经济技术开发区管理委员会", kind="government",
                  region="广西壮族自治区南宁市", start_year=2019, path="/ndbg/index.html"),
        others=[dict(id="nn-gov", name="南宁市人民政府", kind="government",
                     region="广西壮族自治区南宁市", start_year=2018, path="/nanning/list.html")],
        joins=dict(id="gx-gov", name="广西壮族自治区人民政府", kind="government",
                   region="广西壮族自治区", start_year=2019, path="/gx/list.html"),
        listing=listing, pages=pages, navigation=["/ndbg/", "/nanning/ndbg/"],
        expected={
            ("nn-zone", 2019): ("on_time", "printed", None),
            ("nn-gov", 2019): ("on_time", "printed", "nn-zone"),
            ("nn-gov", 2018): ("on_time", "written", "nn-zone"),
        },
        outside={"/ndbg/202003/t20200330_43.html": "广西壮族自治区"},
        joined=("gx-gov", 2019),
    )


def jiangsu() -> Site:
    dept, county = "如东县住房和城乡建设局", "如东县人民政府"
    own = "如东县住建局2019年政府信息公开工作年度报告"
    county_title = "2019年度县本级政府信息公开工作年度报告"
    province_title = "江苏省人民政府2019年政府信息公开工作年度报告"
    pages = {
        # a department (due 31 January): the meta is weeks off, the printed date on time
        "/art/2020/1/19/art_3305_101.html": hanweb_article(
            own, '<meta property="article:published_time" content="2020-02-28T08:00:00+08:00">',
            "信息来源：如东县住建局　发布时间：2020/01/19", paragraphs(report_text(dept, 2019))),
        # '县本级' on the department's site: the county's report; only a generation date
        "/art/2020/3/10/art_3305_102.html": hanweb_article(
            county_title, "", "信息来源：县政府办　生成日期：2020-03-10",
            paragraphs(report_text("县本级", 2019))),
        "/art/2020/3/20/art_3305_103.html": hanweb_article(
            province_title, '<meta name="publishdate" content="2020-03-20">',
            "发布时间：2020/03/20", paragraphs(report_text("江苏省人民政府", 2019))),
    }
    listing = table_listing([
        ("/col/col3305/index.html", "政府信息公开年度报告", None),
        ("/col/col3306/index.html", "乡镇政府信息公开年报", None),
        ("/art/2020/1/19/art_3305_101.html", own, "2020-01-19"),
        ("/art/2020/3/10/art_3305_102.html", county_title, None),
        ("/art/2020/3/20/art_3305_103.html", province_title, "2020-03-20"),
    ])
    return Site(
        name="jiangsu-department",
        host=dict(id="rd-housing", name=dept, kind="department", region="江苏省南通市如东县",
                  start_year=2019, path="/col/col3305/list.html"),
        others=[dict(id="rd-gov", name=county, kind="government", region="江苏省南通市如东县",
                     start_year=2019, path="/col/col3300/list.html")],
        joins=dict(id="js-gov", name="江苏省人民政府", kind="government", region="江苏省",
                   start_year=2019, path="/col/col1/list.html"),
        listing=listing, pages=pages,
        navigation=["/col/col3305/index.html", "/col/col3306/index.html"],
        expected={
            ("rd-housing", 2019): ("on_time", "printed", None),
            ("rd-gov", 2019): ("on_time", "written", "rd-housing"),
        },
        outside={"/art/2020/3/20/art_3305_103.html": "江苏省人民政府"},
        joined=("js-gov", 2019),
    )


def serve(site: Site, local: LocalSite) -> None:
    local.page(site.host["path"], site.listing)
    for agency in (*site.others, site.joins):
        # their own columns hold one unrelated dated entry (a listing, not a failure)
        local.page(agency["path"], ul_listing([("/zwgk/notice.html", "关于开展政务公开培训的通知", "2021-05-06")]))
    for path, page in site.pages.items():
        local.page(path, page)


def write_registry(path, local: LocalSite, agencies: list[dict]):
    entries = [{k: v for k, v in a.items() if k != "path"} | {"sources": [local.url(a["path"])]}
               for a in agencies]
    path.write_text(yaml.safe_dump({"agencies": entries}, allow_unicode=True, sort_keys=False),
                    encoding="utf-8")
    return path


def report_rows(db) -> dict[str, dict]:
    connection = sqlite3.connect(db)
    connection.row_factory = sqlite3.Row
    try:
        return {row["url"]: dict(row) for row in connection.execute("SELECT * FROM reports")}
    finally:
        connection.close()


@pytest.mark.parametrize("build", [guangxi, jiangsu], ids=["guangxi-zone", "jiangsu-department"])
def test_hosted_reports_count_for_their_issuer_with_their_printed_dates(tmp_path, build):
    site = build()
    db = tmp_path / "nianbao.db"
    with LocalSite() as local:
        serve(site, local)
        config = write_registry(tmp_path / "before.yaml", local, [site.host, *site.others])
        # only the host is crawled: the agencies its column's reports count for are not in
        # the store yet when they are recorded
        crawl(config, db, "--agency", site.host["id"])
        # the links that merely name the column were not taken for reports
        assert not any(local.served(path) for path in site.navigation)
        reports = report_rows(db)
        assert not any(local.url(path) in reports for path in site.navigation)
        assert all(local.served(path) for path in site.pages)

        rows = assert_view_is_check(config, db)
        # the matrix names the issuers that count for nobody
        matrix = run_nianbao("check", "--config", str(config), "--db", str(db), "--no-record")
        assert f"{site.host['id']}: annual report(s) on its site of issuers outside the registry count " \
               f"for nobody: {next(iter(site.outside.values()))}" in matrix.stdout
        for key, (status, basis, hosted_by) in site.expected.items():
            row = rows[key]
            assert (row["status"], row["published_basis"], row["hosted_by"]) == (status, basis, hosted_by), key
        # the host's rows count only its own report
        host_rows = [r for k, r in rows.items() if k[0] == site.host["id"] and r["report_id"]]
        assert all(r["hosted_by"] is None for r in host_rows)
        assert len(host_rows) == sum(1 for k in site.expected if k[0] == site.host["id"])
        # a report of an agency outside the registry counts for nobody, and says whose it is
        for path, issuer in site.outside.items():
            outside = reports[local.url(path)]
            assert (outside["issuer"], outside["counts_for"], outside["agency_id"]) == (
                issuer, None, site.host["id"])
        # every date candidate is kept: the printed one counted, the meta one too
        own = next(r for r in reports.values() if r["counts_for"] == site.host["id"])
        evidence = {(e["source"], e["date"]) for e in json.loads(own["date_evidence"])}
        assert {"printed", "meta"} <= {source for source, _ in evidence}
        assert own["published_basis"] == "printed"

        # the agency joins the registry: the next check counts its report for it, no crawl
        config = write_registry(tmp_path / "after.yaml", local,
                                [site.host, *site.others, site.joins])
        rows = assert_view_is_check(config, db)
        joined = rows[site.joined]
        assert (joined["status"], joined["hosted_by"]) == ("on_time", site.host["id"])
        assert report_rows(db)[local.url(next(iter(site.outside)))]["counts_for"] == site.joins["id"]

        # people see it in the matrix too
        matrix = run_nianbao("check", "--config", str(config), "--db", str(db), "--no-record")
        assert matrix.returncode == 0, matrix.stderr
        assert "↗" in matrix.stdout
        assert f"{site.joined[0]} {site.joined[1]} at {site.host['id']}" in matrix.stdout
        assert "count for nobody" not in matrix.stdout
