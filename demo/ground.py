"""Demo agencies modelled on real portals met later (issue 8, "Real portals").

- ``demo-gkmlpt``: a Guangdong gkmlpt site. `/shiliqu/gkmlpt/index` is a shell page whose
  script holds `window._CONFIG` (SID, TREE, API_ROOT); the column's list comes from the JSON
  API `/gkmlpt/api/all/2843?page=N&sid=...`, two articles a page. The platform serves another
  site (`/linqu/`, not in the registry) with another SID and the same category id: its
  reports must never reach demo-gkmlpt.
- ``demo-ruby``: a traditional-Chinese listing whose titles carry pinyin ruby
  (`...年度報(bào)告`), as scraped from a real page.
- ``demo-zone``: a development zone's report column that lists its own reports, the city's
  (demo-trs, by its registry name) and the autonomous region's (outside the registry).
- ``demo-xxgk``: a disclosure column on a query-string platform (`info/iList.jsp?...`, pages by
  `cur_page` from a script pager, 共2页); its 2019 report page carries a `PubDate` meta from a
  site migration (2022-04-24) while it prints 发布日期：2020-01-15.

`demo.portal` builds these after `demo.site.build_site`; the gkmlpt API is answered by
`Site.handlers`.
"""

from __future__ import annotations

import html
import json
import math
from datetime import datetime, timedelta, timezone
from urllib.parse import parse_qs

import opencc

from nianbao.demo.stats_site import build_stats
from nianbao.demo.site import FOOTER, HEADER, Page, Site, hanweb_article, paragraphs, report_text, trs_article

CHINA = timezone(timedelta(hours=8))


def build_ground(site: Site, base: str) -> None:
    build_gkmlpt(site, base)
    build_ruby(site, base)
    build_zone(site, base)
    build_xxgk(site, base)
    build_stats(site, base)  # last: tests use the demo's first agencies by position


# --- gkmlpt ------------------------------------------------------------------------------------

GKMLPT_PAGE_SIZE = 2
GKMLPT_CATEGORY = 2843


def gkmlpt_shell(sid: str, site_name: str, api_root: str, tree: list[dict]) -> str:
    """The shell page: no content, only the app's configuration in a script."""
    return f"""<!DOCTYPE html><html><head><meta charset="utf-8">
<title>政府信息公开 - {html.escape(site_name)}</title></head><body>
<noscript><strong>本页面需要启用 JavaScript 才能正常显示。</strong></noscript>
<div id="app"></div>
<script>
  window._CONFIG = {{
    SID: '{sid}',
    SITE_NAME: '{site_name}',
    TREE: {json.dumps(tree, ensure_ascii=False)},
    SERVICE_AREA_ID: 440300,
    API_ROOT: '{api_root}',
    getUrl: function (path) {{ return this.API_ROOT + path; }}
  }};
</script>
<script src="/gkmlpt/gkml/pc/js/app.1f2a9c77.js"></script>
</body></html>"""


def gkmlpt_article(title: str, published: str, written: str, publisher: str, body_html: str) -> str:
    """A gkmlpt detail page: the metadata table (索引号, 发布机构, 成文日期, 发布日期) above the body."""
    return f"""<!DOCTYPE html><html><head><meta charset="utf-8"><title>{html.escape(title)}</title></head><body>
{HEADER}
<div class="content-box">
<table class="table-info">
<tr><td>索引号：</td><td>11440305MB2C951/{published[:4]}-00012</td><td>分类：</td><td>政府信息公开年报</td></tr>
<tr><td>发布机构：</td><td>{html.escape(publisher)}</td><td>成文日期：</td><td>{written}</td></tr>
<tr><td>名称：</td><td colspan="3">{html.escape(title)}</td></tr>
<tr><td>文号：</td><td></td><td>发布日期：</td><td>{published}</td></tr>
</table>
<h1 class="content-title">{html.escape(title)}</h1>
<div class="article-content">{body_html}</div>
</div>
{FOOTER.format(site=publisher)}</body></html>"""


def gkmlpt_reply(articles: list[dict], name: str, page: int, size: int = GKMLPT_PAGE_SIZE) -> bytes:
    chosen = articles[(page - 1) * size : page * size]
    reply = {"classify": {"id": GKMLPT_CATEGORY, "name": name, "post_count": len(articles)},
             "articles": chosen, "total": len(articles)}
    return json.dumps(reply, ensure_ascii=False).encode("utf-8")


def _unix(day: str) -> int:
    return int(datetime.fromisoformat(day).replace(hour=9, tzinfo=CHINA).timestamp())


def build_gkmlpt(site: Site, base: str) -> None:
    columns: dict[str, list[dict]] = {}
    sites = (("shiliqu", "440305", "示例区人民政府", 9741000), ("linqu", "440306", "临区人民政府", 6120000))
    for slug, sid, name, first_id in sites:
        tree = [{"id": 2840, "name": "政府信息公开指南", "post_count": 1, "children": [], "jump_url": ""},
                {"id": GKMLPT_CATEGORY, "name": "政府信息公开年报", "post_count": 3, "children": [], "jump_url": ""}]
        site.add(f"/{slug}/gkmlpt/index", Page(gkmlpt_shell(sid, name, "/gkmlpt/api", tree).encode("utf-8")))
        articles = []
        for offset, (year, published) in enumerate(((2021, "2022-01-20"), (2020, "2021-01-25"), (2019, "2020-01-15"))):
            post = first_id + offset
            title = f"{name}{year}年政府信息公开工作年度报告"
            path = f"/{slug}/gkmlpt/content/{post // 1000 % 10}/{post // 1000}/post_{post}.html"
            written = (datetime.fromisoformat(published) - timedelta(days=2)).date().isoformat()
            page = gkmlpt_article(title, published, written, f"{name}办公室", paragraphs(report_text(name, year)))
            site.add(path, Page(page.encode("utf-8")))
            articles.append({
                "id": post, "title": title, "url": f"{base}{path}", "publisher": f"{name}办公室",
                "created_at": f"{published} 09:00:00", "display_publish_time": _unix(published),
                "date": _unix(written), "identifier": f"11440305MB2C951/{published[:4]}-00012",
                "document_number": "",
            })
        columns[sid] = articles

    def api(method: str, path: str, query: str) -> Page:
        params = parse_qs(query)
        sid, page = params.get("sid", [""])[0], params.get("page", ["1"])[0]
        if not path.endswith(f"/all/{GKMLPT_CATEGORY}") or sid not in columns or not page.isdigit():
            return Page(b'{"code": 404, "msg": "not found"}', content_type="application/json", status=404)
        last = math.ceil(len(columns[sid]) / GKMLPT_PAGE_SIZE)
        if not 1 <= int(page) <= last:
            return Page(b'{"classify": {}, "articles": [], "total": 0}', content_type="application/json")
        return Page(gkmlpt_reply(columns[sid], "政府信息公开年报", int(page)),
                    content_type="application/json; charset=utf-8")

    site.handlers["/gkmlpt/api/all/"] = api
    site.agencies.append(dict(
        id="demo-gkmlpt", name="示例区人民政府", kind="government", region="广东省示例市示例区",
        start_year=2019, sources=[f"{base}/shiliqu/gkmlpt/index#{GKMLPT_CATEGORY}"],
    ))


# --- traditional listing with ruby in its titles -----------------------------------------------

RUBY = {"據": "據(jù)", "國": "國(guó)", "報": "報(bào)", "開": "開(kāi)", "體": "體(tǐ)", "關": "關(guān)", "於": "於(yú)"}


def with_ruby(text: str, chars: str) -> str:
    """Traditional text as a page with ruby annotations scrapes: 報 -> 報(bào)."""
    return "".join(RUBY[c] if c in chars and c in RUBY else c for c in text)


def build_ruby(site: Site, base: str) -> None:
    agency = "如东县教育体育局"
    to_traditional = opencc.OpenCC("s2t")
    rows = []
    docs = [
        ("/ruby/art/2020/1/17/art_71_1.html", "2019年如東縣教育體育局政府信息公開工作年度報告", "2020-01-17", 2019),
        ("/ruby/art/2021/1/22/art_71_2.html", "如東縣教育體育局2020年度政府信息公開工作年度報告", "2021-01-22", 2020),
        ("/ruby/art/2021/8/30/art_71_3.html", "如東縣教育體育局關於2021年秋季學期開學工作的通知", "2021-08-30", None),
    ]
    for path, title, date, year in docs:
        text = to_traditional.convert(report_text(agency, year) if year else "各學校：現就秋季學期開學工作通知如下。")
        body = paragraphs(with_ruby(text, "據國報"))
        page = hanweb_article(title, date, body, site="如東縣人民政府")
        site.add(path, Page(page.encode("utf-8")))
        # The listing shows the ruby of the page's title (報(bào)), the page's own <title> does not.
        listed = with_ruby(title, "報體關於")
        rows.append(f'<li><a href="{path}" target="_blank">{html.escape(listed)}</a><span>[{date}]</span></li>')
    listing = f"""<!DOCTYPE html><html><head><meta charset="utf-8"><title>政府信息公開年報 如東縣教育體育局</title></head><body>
{HEADER}
<div class="bt_link">您的位置：<a href="/">首頁</a> &gt; 政府信息公開年報</div>
<ul class="list">{"".join(rows)}</ul>
{FOOTER.format(site="如東縣教育體育局")}</body></html>"""
    site.add("/ruby/col/col71/index.html", Page(listing.encode("utf-8")))
    site.agencies.append(dict(
        id="demo-ruby", name=agency, kind="department", region="江苏省南通市如东县", start_year=2019,
        sources=[f"{base}/ruby/col/col71/index.html"],
    ))


# --- a zone's column hosting other agencies' reports --------------------------------------------

ZONE = "示例市经济技术开发区管理委员会"
CITY = "示例市人民政府办公室"  # demo-trs's registry name
REGION = "示例自治区人民政府"  # outside the registry


def build_zone(site: Site, base: str) -> None:
    prefix = "/zone/xxgk/ndbg"
    docs = [
        ("202303/t20230320_801.html", ZONE, 2022, "2023-03-20"),
        ("202203/t20220330_703.html", REGION, 2021, "2022-03-30"),
        ("202203/t20220315_702.html", CITY, 2021, "2022-03-15"),
        ("202103/t20210325_601.html", ZONE, 2020, "2021-03-25"),
    ]
    rows = []
    for path, issuer, year, date in docs:
        title = f"{issuer}{year}年政府信息公开工作年度报告"
        page = trs_article(title, date, paragraphs(report_text(issuer, year)), site=ZONE)
        site.add(f"{prefix}/{path}", Page(page.encode("utf-8")))
        rows.append(f'<li><a href="./{path}" title="{html.escape(title)}">{html.escape(title)}</a><span>{date}</span></li>')
    listing = f"""<!DOCTYPE html><html><head><meta charset="utf-8"><title>政府信息公开年报_{ZONE}</title></head><body>
{HEADER}
<div class="crumb">当前位置：<a href="/">首页</a> &gt; <a href="/zone/xxgk/">信息公开</a> &gt; 政府信息公开年报</div>
<div class="side"><a href="./">信息公开年报</a><a href="/zone/xxgk/zn/">政府信息公开指南</a></div>
<ul class="list">{"".join(rows)}</ul>
{FOOTER.format(site=ZONE)}</body></html>"""
    site.add(f"{prefix}/index.html", Page(listing.encode("utf-8")))
    site.agencies.append(dict(
        id="demo-zone", name=ZONE, kind="government", region="示例省示例市", start_year=2020,
        sources=[f"{base}{prefix}/index.html"],
    ))


# --- a query-string platform; a page whose PubDate meta is a migration date ---------------------

def xxgk_article(title: str, printed: str, meta: str, written: str, publisher: str, body_html: str) -> str:
    """An xxgk article: metadata table and article info block; `meta` goes into PubDate."""
    return f"""<!DOCTYPE html><html><head><meta http-equiv="Content-Type" content="text/html; charset=utf-8">
<meta name="SiteName" content="示例县人民政府"><meta name="ColumnName" content="政府信息公开年报">
<meta name="ArticleTitle" content="{html.escape(title)}"><meta name="PubDate" content="{meta} 10:41:07">
<meta name="ContentSource" content="{html.escape(publisher)}">
<title>{html.escape(title)}</title></head><body>
{HEADER}
<div class="position">当前位置：<a href="/">首页</a> &gt; <a href="/info/iIndex.jsp?cat_id=10370">政府信息公开</a> &gt; 政府信息公开年报</div>
<table class="xxgk_table">
<tr><td>索引号：</td><td>000014349/{printed[:4]}-00007</td><td>发布机构：</td><td>{html.escape(publisher)}</td></tr>
<tr><td>成文日期：</td><td>{written}</td><td>主题分类：</td><td>政务公开</td></tr>
</table>
<div class="article"><h2 class="title">{html.escape(title)}</h2>
<div class="article-info">发布日期：{printed}　来源：{html.escape(publisher)}　浏览次数：<span id="hits">318</span></div>
<div id="vsb_content">{body_html}</div></div>
{FOOTER.format(site="示例县人民政府")}</body></html>"""


def build_xxgk(site: Site, base: str) -> None:
    agency = "示例县统计局"
    column = "/info/iList.jsp?isSd=false&node_id=GKtjj&cat_id=10376"
    docs = {
        1: [("/info/1375/40211.htm", f"{agency}2019年政府信息公开工作年度报告", "2020-01-15", "2022-04-24", "2020-01-13", 2019),
            ("/info/1375/40577.htm", f"{agency}关于开展2020年统计执法检查的通知", "2020-03-02", "2022-04-24", "2020-03-02", None)],
        2: [("/info/1375/37820.htm", f"{agency}2018年政府信息公开工作年度报告", "2019-01-28", "2019-01-28", "2019-01-25", 2018)],
    }
    for number, items in docs.items():
        rows = []
        for path, title, printed, meta, written, year in items:
            text = report_text(agency, year) if year else "各乡镇统计站：现就开展统计执法检查工作通知如下。"
            page = xxgk_article(title, printed, meta, written, agency, paragraphs(text))
            site.add(path, Page(page.encode("utf-8")))
            rows.append(f'<li><span class="date">{printed}</span><a href="{path}" target="_blank" '
                        f'title="{html.escape(title)}">{html.escape(title)}</a></li>')
        listing = f"""<!DOCTYPE html><html><head><meta charset="utf-8"><title>政府信息公开年报-示例县人民政府</title></head><body>
{HEADER}
<div class="list_right"><ul class="list">{"".join(rows)}</ul>
<div class="pages">共 {len(docs)} 页 当前第 {number} 页 <a href="javascript:void(0)" onclick="goPage(1)">首页</a>
<a href="javascript:void(0)" onclick="goPage({min(number + 1, len(docs))})">下一页</a></div>
<script type="text/javascript">
function goPage(n){{ window.location.href = "iList.jsp?isSd=false&node_id=GKtjj&cat_id=10376&cur_page=" + n; }}
</script></div>
{FOOTER.format(site="示例县人民政府")}</body></html>"""
        page = Page(listing.encode("utf-8"))
        site.add(f"{column}&cur_page={number}", page)
        if number == 1:
            site.add(column, page)  # the column's own URL is its first page
    site.agencies.append(dict(
        id="demo-xxgk", name=agency, kind="department", region="示例省示例县", start_year=2018,
        sources=[f"{base}{column}"],
    ))
