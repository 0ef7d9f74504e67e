"""Agency sites found by discovery, and a redesign that moves every URL.

`agency_site(layout, prefix, agency, years)` builds the pages of one agency's site (path ->
HTML) in one of several layouts that differ in every surface detail: the words of the links
(政府信息公开年报 / 年度报告 / 政府信息公开工作年度报告), the URL scheme (xxgk/ndbg,
zwgk/zfxxgknb, col/colNNNN), how deep the column sits, the listing and article markup. Each
site also carries decoys: a 工作要点 column, a link to a single report, an enterprise annual
report notice. The report texts are the same in every layout (a redesign moves reports, it
does not rewrite them).

The demo's `demo-redesign` agency starts in layout 'portal' and is switched to 'modern' by
`redesign(site, base)` between two crawls: every old URL answers 404 from then on.
"""

from __future__ import annotations

import html
from dataclasses import dataclass

from nianbao.demo.site import FOOTER, HEADER, Page, Site, paragraphs, report_text

DEMO_PREFIX = "/jtj"
DEMO_AGENCY = "示例市交通运输局"
DEMO_YEARS = (2023, 2024, 2025)
PUBLISHED = {2019: "2020-01-16", 2020: "2021-01-18", 2021: "2022-01-20", 2022: "2023-01-19",
             2023: "2024-01-22", 2024: "2025-01-20", 2025: "2026-01-19"}


@dataclass(frozen=True)
class Layout:
    name: str
    disclosure_text: str  # the link from the home page to the disclosure section
    disclosure_path: str
    middle_text: str | None  # a page between disclosure section and column (2 levels deep)
    middle_path: str | None
    column_text: str
    column_path: str
    report_path: str  # format with year, n
    plan_text: str  # the decoy column of work plans
    plan_path: str


LAYOUTS = {
    # An older TRS-like portal: 政府信息公开 -> 政府信息公开年报 under xxgk/ndbg.
    "portal": Layout("portal", "政府信息公开", "/xxgk/index.html", None, None,
                     "政府信息公开年报", "/xxgk/ndbg/index.html", "/xxgk/ndbg/{year}01/t{year}0120_{n}.html",
                     "政府信息公开工作要点", "/xxgk/gzyd/index.html"),
    # The redesign: 政务公开 -> 年度报告 under zwgk/zfxxgknb, .shtml, other markup.
    "modern": Layout("modern", "政务公开", "/zwgk/index.shtml", None, None,
                     "年度报告", "/zwgk/zfxxgknb/list.shtml", "/zwgk/zfxxgknb/content/post_{year}{n:03d}.shtml",
                     "年度工作要点", "/zwgk/ndgzyd/list.shtml"),
    # Another family: the column two levels below the disclosure page, a URL without report
    # words (col/colNNNN), only its text names it.
    "column2": Layout("column2", "信息公开", "/openness/", "法定主动公开内容", "/openness/fdzdgknr/",
                      "政府信息公开工作年度报告", "/col/col3321/index.html", "/art/{year}/1/20/art_3321_{n}.html",
                      "政务公开工作要点", "/col/col3318/index.html"),
}


def _portal_page(title: str, body: str) -> str:
    return f"""<!DOCTYPE html><html><head><meta charset="utf-8"><title>{html.escape(title)}</title></head><body>
{HEADER}<div class="main">{body}</div>{FOOTER.format(site=title)}</body></html>"""


def _modern_page(title: str, body: str) -> str:
    return f"""<!doctype html>
<html lang="zh-CN"><head><meta http-equiv="Content-Type" content="text/html; charset=utf-8">
<title>{html.escape(title)}</title><link rel="stylesheet" href="/static/v2/site.css"></head>
<body class="v2"><header class="site-header"><nav><a href="./">首页</a><a href="#">互动交流</a></nav></header>
<main class="container"><section class="content-box">{body}</section></main>
<footer class="site-footer">版权所有 网站标识码 3400000001</footer></body></html>"""


def _article(layout: Layout, agency: str, title: str, date: str, text: str) -> str:
    if layout.name == "modern":
        return _modern_page(title, f"""<article class="article-detail"><h2 class="article-title">{html.escape(title)}</h2>
<p class="article-meta"><span>发布日期：{date}</span><span>信息来源：{agency}</span><span>浏览次数：128</span></p>
<div class="article-content" id="zoom">{paragraphs(text)}</div></article>
<div class="article-tools"><a href="javascript:print()">打印本页</a> <a href="javascript:close()">关闭窗口</a></div>""")
    return _portal_page(title, f"""<div class="article"><h1>{html.escape(title)}</h1>
<div class="info">发布时间：{date}　来源：{agency}</div>
<div class="TRS_Editor">{paragraphs(text)}</div></div>""")


def _list(layout: Layout, title: str, rows: list[tuple[str, str, str]]) -> str:
    if layout.name == "modern":
        items = "".join(f'<li class="news-item"><a href="{href}" title="{html.escape(t)}">{html.escape(t)}</a>'
                        f'<time>{d}</time></li>' for href, t, d in rows)
        return _modern_page(title, f'<h3 class="column-name">{html.escape(title)}</h3><ul class="news-list">{items}</ul>'
                                   '<div class="pager">共1页</div>')
    items = "".join(f'<tr><td><a href="{href}" target="_blank">{html.escape(t)}</a></td><td>{d}</td></tr>'
                    for href, t, d in rows)
    return _portal_page(title, f'<div class="lm">{html.escape(title)}</div><table class="list">{items}</table>')


def _links(layout: Layout, title: str, links: list[tuple[str, str]]) -> str:
    items = " ".join(f'<a href="{href}">{html.escape(text)}</a>' for href, text in links)
    return (_modern_page if layout.name == "modern" else _portal_page)(title, f'<div class="nav">{items}</div>')


def agency_site(layout_name: str, prefix: str, agency: str, years=DEMO_YEARS) -> dict[str, str]:
    """path -> HTML of one agency's site under `prefix` (its home is `prefix + '/'`)."""
    layout = LAYOUTS[layout_name]
    pages: dict[str, str] = {}
    rows = []
    for n, year in enumerate(years, start=1):
        path = prefix + layout.report_path.format(year=year, n=n)
        title = f"{agency}{year}年政府信息公开工作年度报告"
        pages[path] = _article(layout, agency, title, PUBLISHED[year], report_text(agency, year))
        rows.append((path, title, PUBLISHED[year]))
    rows.reverse()
    pages[prefix + layout.column_path] = _list(layout, layout.column_text, rows)
    plan_rows = [(prefix + layout.plan_path.replace("index", f"p{year}").replace("list", f"p{year}"),
                  f"{agency}{year + 1}年政务公开工作要点", PUBLISHED[year]) for year in years]
    pages[prefix + layout.plan_path] = _list(layout, layout.plan_text, plan_rows)
    for path, title, date in plan_rows:
        pages[path] = _article(layout, agency, title, date, f"{title}。一、加强组织领导。二、推进重点领域信息公开。" * 3)
    latest = rows[0]
    section = [("../", "首页"), (prefix + "/zcwj/", "政策文件"), (prefix + layout.plan_path, layout.plan_text),
               (latest[0], latest[1]),  # a single report on the section page: not the column
               (prefix + "/qyxx/", "企业年度报告公示")]
    if layout.middle_path:
        pages[prefix + layout.middle_path] = _links(layout, layout.middle_text, [
            (prefix + layout.column_path, layout.column_text), (prefix + "/zcwj/", "规范性文件")])
        section.append((prefix + layout.middle_path, layout.middle_text))
    else:
        section.append((prefix + layout.column_path, layout.column_text))
    pages[prefix + layout.disclosure_path] = _links(layout, f"{agency}{layout.disclosure_text}", section)
    pages[prefix + "/"] = _links(layout, agency, [
        (prefix + "/", "首页"), (prefix + "/jgzn/", "机构职能"), (prefix + "/xwdt/", "新闻动态"),
        (prefix + layout.disclosure_path, layout.disclosure_text), (prefix + "/hdjl/", "互动交流")])
    return pages


def build_redesign(site: Site, base: str, layout: str = "portal") -> None:
    """The demo-redesign agency: a discover source at its home page."""
    for path, body in agency_site(layout, DEMO_PREFIX, DEMO_AGENCY).items():
        site.add(path, Page(body.encode("utf-8")))
    site.agencies.append(dict(
        id="demo-redesign", name=DEMO_AGENCY, kind="department", region="示例省示例市",
        start_year=DEMO_YEARS[0], sources=[{"url": f"{base}{DEMO_PREFIX}/", "discover": True}],
    ))


def redesign(site: Site, layout: str = "modern") -> None:
    """Switch demo-redesign to another layout: every old page is gone (404)."""
    for path in [p for p in site.pages if p.startswith(DEMO_PREFIX + "/")]:
        del site.pages[path]
    for path, body in agency_site(layout, DEMO_PREFIX, DEMO_AGENCY).items():
        site.add(path, Page(body.encode("utf-8")))
