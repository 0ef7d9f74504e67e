"""The demo portal's pages: several agencies, each in the style of a real portal family.

Everything a real crawl meets on a small scale:

- ``demo-trs``: a TRS WCM column whose pager is written by `createPageHTML(3, 0, ...)`, article
  pages in `.TRS_Editor` with a PubDate meta tag, a report table with rowspan/colspan, a
  "工作要点落实情况报告" that is not an annual report, a report that exists only as a PDF, and a
  link under a path that robots.txt forbids.
- ``demo-hanweb``: a Hanweb JCMS column whose list sits as CDATA inside
  `<script type="text/xml"><datastore>`, with later records behind a POSTed data proxy, and
  article bodies between ZJEG_RSS markers.
- ``demo-gbk``: pages in GBK that declare gb2312 while containing GBK-only characters (堃, 镕),
  and one article whose HTTP header and page declare no charset at all.
- ``demo-trad``: a listing paginated by plain 下一页 links, with a traditional-Chinese report
  full of pinyin ruby debris (`根據(jù)`), made from a real scraped report.
- ``demo-dead``: an agency whose site does not answer (a closed port on 127.0.0.1).

`demo.ground` adds the agencies modelled on real portals met later (gkmlpt, ruby in listing
titles, a zone hosting other agencies' reports, a query-string platform with a misleading
PubDate meta); `demo.portal` serves both.

Pages are built in code from the texts in demo/content/ so that tests can change one report
and re-crawl. Paths map to `Page` objects; `demo.portal` serves them.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable

CONTENT_DIR = Path(__file__).parent / "content"


@dataclass(frozen=True)
class Page:
    body: bytes
    content_type: str = "text/html; charset=utf-8"
    status: int = 200
    delay: float = 0.0  # seconds to wait before answering (a slow or hanging site)


@dataclass
class Site:
    """Path (with query string, if any) -> Page, plus the agencies the registry lists."""

    pages: dict[str, Page] = field(default_factory=dict)
    agencies: list[dict] = field(default_factory=list)
    hanweb_records: list[tuple[str, str, str]] = field(default_factory=list)
    # path prefix -> fn(method, path, query string) -> Page: answers computed per request
    # (the gkmlpt JSON API of demo.ground)
    handlers: dict[str, Callable[[str, str, str], "Page"]] = field(default_factory=dict)

    def add(self, path: str, page: Page) -> None:
        self.pages[path] = page


# --- shared chrome ------------------------------------------------------------------------

HEADER = """<div class="top"><a href="/">首页</a> | <a href="#">简</a> | <a href="#">繁</a> | <a href="#">EN</a> | <a href="#">登录</a></div>
<div class="nav"><a href="/">网站首页</a><a href="/zwgk/">政务公开</a><a href="/hdjl/">互动交流</a><a href="/bsfw/">办事服务</a>
<form action="/search"><input name="q" placeholder="请输入关键字"><button>搜索</button></form></div>"""

FOOTER = """<div class="footer"><p>主办单位：{site}　地址：示例市人民路1号　邮编：230000</p>
<p>网站标识码：3400000001　皖ICP备05001234号　皖公网安备 34010202000001号</p>
<p><a href="/about/">关于我们</a> | <a href="/sitemap/">网站地图</a> | <a href="/contact/">联系我们</a></p></div>"""

RELATED = """<div class="related"><h3>相关阅读</h3><ul>
<li><a href="/zwgk/art/1.html">示例市召开政务公开工作推进会</a></li>
<li><a href="/zwgk/art/2.html">关于进一步做好政务公开工作的通知</a></li></ul></div>"""


def paragraphs(text: str) -> str:
    """Plain text, one paragraph a line -> <p> elements (escaped)."""
    lines = [line.strip() for line in text.splitlines()]
    return "\n".join(f"<p>{html.escape(line)}</p>" for line in lines if line)


def report_text(agency: str, year: int, variant: str = "") -> str:
    """A short annual report in the standard six-section format (2019 format from 2019 on)."""
    applications = 12 + year % 7
    return f"""根据《中华人民共和国政府信息公开条例》规定，现公布{agency}{year}年度政府信息公开工作年度报告。本报告中所列数据的统计期限自{year}年1月1日起至{year}年12月31日止。{variant}
一、总体情况
{year}年，{agency}认真贯彻落实《中华人民共和国政府信息公开条例》，坚持以公开为常态、不公开为例外，全年主动公开政府信息{300 + year % 50}条。
二、主动公开政府信息情况
全年通过门户网站发布规范性文件{year % 9}件，公开行政许可事项办理结果{40 + year % 11}件。
三、收到和处理政府信息公开申请情况
全年共收到政府信息公开申请{applications}件，均在法定期限内答复。
四、政府信息公开行政复议、行政诉讼情况
全年未发生因政府信息公开引起的行政复议和行政诉讼。
五、存在的主要问题及改进情况
公开内容的针对性有待加强，下一步将进一步规范公开流程。
六、其他需要报告的事项
无。"""


STATS_TABLE = """<table border="1" cellspacing="0">
<tr><td rowspan="2">信息内容</td><td colspan="3">本年处理情况</td></tr>
<tr><td>本年制发件数</td><td>本年废止件数</td><td>现行有效件数</td></tr>
<tr><td>规章</td><td>0</td><td>0</td><td>3</td></tr>
<tr><td>行政规范性文件</td><td>7</td><td>2</td><td>41</td></tr>
</table>"""


# --- TRS WCM --------------------------------------------------------------------------------

def trs_article(title: str, date: str, body_html: str, site: str = "示例市人民政府",
                pager: tuple[int, int, str] = (1, 0, "")) -> str:
    """pager: (parts, this part, file stem) of an article split over pages (TRS style)."""
    count, current, stem = pager
    return f"""<!DOCTYPE html><html><head><meta charset="utf-8">
<meta name="SiteName" content="{site}"><meta name="ColumnName" content="政府信息公开年报">
<meta name="ArticleTitle" content="{html.escape(title)}"><meta name="PubDate" content="{date} 09:30">
<meta name="ContentSource" content="{site}办公室">
<title>{html.escape(title)}_{site}</title></head><body>
{HEADER}
<div class="crumb">您现在所在的位置：<a href="/">首页</a> &gt; <a href="/zwgk/">政务公开</a> &gt; 政府信息公开年报</div>
<div class="article"><h1>{html.escape(title)}</h1>
<div class="info">发布时间：{date} 09:30　来源：{site}办公室　【字体：<a href="#">大</a> <a href="#">中</a> <a href="#">小</a>】 <a href="javascript:window.print()">打印</a></div>
<div class="TRS_Editor">{body_html}</div>
<div class="share">扫一扫在手机打开当前页</div>
<script>createPageHTML({count}, {current}, "{stem or 't' + date.replace('-', '') + '_1'}", "html");</script>
</div>
{RELATED}
{FOOTER.format(site=site)}
</body></html>"""


def trs_listing(items: list[tuple[str, str, str]], page_count: int, current: int) -> str:
    rows = "\n".join(
        f'<li><a href="{href}" title="{html.escape(title)}" target="_blank">{html.escape(_truncate(title))}</a><span>{date}</span></li>'
        for href, title, date in items
    )
    return f"""<!DOCTYPE html><html><head><meta charset="utf-8"><title>政府信息公开年报_示例市人民政府</title></head><body>
{HEADER}
<div class="crumb">当前位置：<a href="/">首页</a> &gt; <a href="/zwgk/">政务公开</a> &gt; 政府信息公开年报</div>
<div class="side"><a href="./">政府信息公开年报</a><a href="/zwgk/zfxxgkzd/">政府信息公开制度</a><a href="/zwgk/zfxxgkzn/">政府信息公开指南</a></div>
<ul class="list">{rows}</ul>
<div class="page"><script type="text/javascript">
var currentPage = {current}; var countPage = {page_count};
createPageHTML({page_count}, {current}, "index", "html");
</script></div>
{FOOTER.format(site="示例市人民政府")}</body></html>"""


def _truncate(title: str, limit: int = 24) -> str:
    return title if len(title) <= limit else title[:limit] + "..."


def build_trs(site: Site, base: str) -> None:
    prefix = "/trs/xxgk/ndbg"
    agency = "示例市人民政府办公室"
    seed = (CONTENT_DIR / "mingguang-2014.txt").read_text(encoding="utf-8")
    # The seed keeps its real noise (date/source line, mangled font widget, QR prompt) inside
    # the body, as scraped: extraction must remove it wherever it sits.
    seed_title, _, seed_body = seed.partition("\n")
    reports = {
        "202001/t20200120_3001.html": (f"{agency}2019年政府信息公开工作年度报告", "2020-01-20",
                                       paragraphs(report_text(agency, 2019)) + STATS_TABLE),
        "202003/t20200305_3002.html": ("示例市2020年政务公开工作要点落实情况报告", "2020-03-05",
                                       paragraphs("按照《示例市2020年政务公开工作要点》要求，现将落实情况报告如下。\n一、围绕做好“六稳”工作加强信息公开。")),
        "201603/t20160320_2001.html": (f"{agency}2015年度政府信息公开工作年度报告", "2016-03-20",
                                       paragraphs(report_text(agency, 2015))),
        "201412/t20141225_1001.html": (seed_title.strip(), "2014-12-25", paragraphs(seed_body)),
        "201303/t20130328_501.html": (f"{agency}2012年政务公开年报", "2013-03-28",
                                      paragraphs(report_text(agency, 2012))),
    }
    for path, (title, date, body) in reports.items():
        site.add(f"{prefix}/{path}", Page(trs_article(title, date, body).encode("utf-8")))
    # The 2019 report is split over two pages (createPageHTML(2, 0, "t20200120_3001", "html")):
    # sections 四 to 六 and the table are on t20200120_3001_1.html.
    title, date, _ = reports["202001/t20200120_3001.html"]
    first, second = report_text(agency, 2019).split("四、", 1)
    parts = [paragraphs(first), paragraphs("四、" + second) + STATS_TABLE]
    for number, body in enumerate(parts):
        name = "t20200120_3001" + (f"_{number}" if number else "")
        page = trs_article(title, date, body, pager=(len(parts), number, "t20200120_3001"))
        site.add(f"{prefix}/202001/{name}.html", Page(page.encode("utf-8")))
    pdf = b"%PDF-1.4\n% demo attachment: 2016 annual report\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
    site.add(f"{prefix}/201703/P020170331_4001.pdf", Page(pdf, content_type="application/pdf"))
    site.add(f"{prefix}/202101/t20210120_9.html",
             Page(trs_article(f"{agency}2020年政府信息公开工作年度报告", "2021-01-20", "<p>转载</p>").encode()))
    site.add(f"{prefix}/drafts/t20990101_1.html",
             Page(trs_article(f"{agency}2099年政府信息公开工作年度报告", "2099-01-01", "<p>草稿</p>").encode()))
    pages = [
        [("./202001/t20200120_3001.html", reports["202001/t20200120_3001.html"][0], "2020-01-20"),
         ("./202003/t20200305_3002.html", reports["202003/t20200305_3002.html"][0], "2020-03-05"),
         ("./drafts/t20990101_1.html", f"{agency}2099年政府信息公开工作年度报告", "2099-01-01"),
         # a repost on another host: not this agency's site, never followed
         (f"{base.replace('127.0.0.1', 'localhost')}{prefix}/202101/t20210120_9.html",
          f"转载：{agency}2020年政府信息公开工作年度报告", "2021-01-20")],
        [("./201703/P020170331_4001.pdf", f"{agency}2016年政府信息公开工作年度报告", "2017-03-31"),
         ("./201603/t20160320_2001.html", reports["201603/t20160320_2001.html"][0], "2016-03-20"),
         ("./201412/t20141225_1001.html", reports["201412/t20141225_1001.html"][0], "2014-12-25")],
        [("./201303/t20130328_501.html", reports["201303/t20130328_501.html"][0], "2013-03-28")],
    ]
    for number, items in enumerate(pages):
        name = "index.html" if number == 0 else f"index_{number}.html"
        site.add(f"{prefix}/{name}", Page(trs_listing(items, len(pages), number).encode("utf-8")))
    site.agencies.append(dict(
        id="demo-trs", name=agency, kind="government", region="示例省示例市", start_year=2012,
        sources=[f"{base}{prefix}/index.html"],
    ))


# --- Hanweb JCMS ------------------------------------------------------------------------------

def hanweb_article(title: str, date: str, body_html: str, site: str = "示例市民政局") -> str:
    return f"""<!DOCTYPE html><html><head><meta http-equiv="Content-Type" content="text/html; charset=utf-8">
<meta name="SiteName" content="{site}"><meta name="ArticleTitle" content="{html.escape(title)}">
<meta name="PubDate" content="{date} 10:00"><meta name="ContentSource" content="{site}">
<title>{html.escape(title)}</title></head><body>
{HEADER}
<table width="1000"><tr><td class="bt_link">您的位置：<a href="/">首页</a> &gt; <a href="/col/col1422/index.html">信息公开年报</a></td></tr>
<tr><td class="title">{html.escape(title)}</td></tr>
<tr><td class="info">信息来源：{site}　发布日期：{date}　浏览次数：<span id="c">1024</span>　字号：[ <a href="#">大</a> <a href="#">中</a> <a href="#">小</a> ]</td></tr>
<tr><td id="zoom"><!--ZJEG_RSS.content.begin--><meta name="ContentStart">{body_html}<meta name="ContentEnd"><!--ZJEG_RSS.content.end--></td></tr>
<tr><td>【<a href="javascript:window.print()">打印本页</a>】【<a href="javascript:window.close()">关闭窗口</a>】</td></tr></table>
{RELATED}
{FOOTER.format(site=site)}</body></html>"""


def _record(href: str, title: str, date: str) -> str:
    return (f'<record><![CDATA[<li><a href="{href}" title="{html.escape(title)}" target="_blank">'
            f'{html.escape(_truncate(title))}</a><span class="bt_time">{date}</span></li>]]></record>')


def build_hanweb(site: Site, base: str) -> None:
    agency = "示例市民政局"
    docs = [
        # A department's report is due on 31 January since 2019: this one is late.
        ("/art/2022/2/15/art_1422_5006.html", f"{agency}2021年政府信息公开工作年度报告", "2022-02-15"),
        ("/art/2021/1/25/art_1422_5005.html", f"{agency}2020年政府信息公开工作年度报告", "2021-01-25"),
        ("/art/2021/1/10/art_1422_5004.html", f"关于开展{agency}2021年度政务公开评估工作的通知", "2021-01-10"),
        ("/art/2020/1/20/art_1422_5003.html", f"{agency}2019年政府信息公开工作年度报告", "2020-01-20"),
        ("/art/2019/3/15/art_1422_5002.html", f"{agency}2018年度政府信息公开工作报告", "2019-03-15"),
        ("/art/2018/3/30/art_1422_5001.html", f"{agency}2017年政府信息公开年度报告", "2018-03-30"),
    ]
    for path, title, date in docs:
        year = next((y for y in range(2017, 2022) if f"{y}年" in title), None)
        body = paragraphs(report_text(agency, year) if year else "各科室：现就开展政务公开评估工作通知如下。")
        site.add(path, Page(hanweb_article(title, date, body).encode("utf-8")))
    first_group, per_page = docs[:3], 3
    column = f"""<!DOCTYPE html><html><head><meta charset="utf-8"><title>信息公开年报 {agency}</title></head><body>
{HEADER}
<div class="bt_link">您的位置：<a href="/">首页</a> &gt; 信息公开年报</div>
<div id="4193"><script type="text/xml"><datastore>
<nextgroup><![CDATA[<a href="/module/web/jpage/dataproxy.jsp?page=1&appid=1&webid=2&path=/&columnid=1422&unitid=4193&webname=%E7%A4%BA%E4%BE%8B&permissiontype=0"></a>]]></nextgroup>
<recordset>
{chr(10).join(_record(*doc) for doc in first_group)}
</recordset></datastore></script>
<script language="javascript" src="/module/web/jpage/jpage.js"></script>
<script>$(function(){{ $('#4193').jpage({{ dataStore: dataStore, totalRecord: {len(docs)}, perPage: {per_page}, proxyUrl: '/module/web/jpage/dataproxy.jsp', groupSize: 1 }}); }});</script>
</div>
{FOOTER.format(site=agency)}</body></html>"""
    site.add("/col/col1422/index.html", Page(column.encode("utf-8")))
    site.hanweb_records = docs  # served by the data proxy (demo.portal)
    site.agencies.append(dict(
        id="demo-hanweb", name=agency, kind="department", region="示例省示例市", start_year=2017,
        sources=[f"{base}/col/col1422/index.html"],
    ))


def hanweb_proxy_reply(docs, start: int, end: int) -> bytes:
    chosen = docs[start - 1 : end]
    records = "".join(_record(*doc) for doc in chosen)
    xml = (f'<?xml version="1.0" encoding="utf-8"?><datastore><totalrecord>{len(docs)}</totalrecord>'
           f"<totalpage>{len(docs)}</totalpage><recordset>{records}</recordset></datastore>")
    return xml.encode("utf-8")


# --- GBK ---------------------------------------------------------------------------------------

def build_gbk(site: Site, base: str) -> None:
    agency = "示例县住房和城乡建设局"
    # 堃 and 镕 are in GBK but not in GB2312: a strict gb2312 decoder fails on them.
    extra = "局长王堃、副局长李镕同志分别带队督查政务公开工作。"
    reports = [
        ("/gbk/2019/t20200115_71.html", f"{agency}2019年政府信息公开工作年度报告", "2020-01-15", "gb2312", 2019),
        ("/gbk/2018/t20190320_52.html", f"{agency}2018年政府信息公开工作年度报告", "2019-03-20", None, 2018),
        # Named after the year it was published in, reporting on the year before (seen in the
        # wild: "2009年度..." with figures "截至2008年12月31日"): counts for 2017, not 2018.
        ("/gbk/2018/t20180310_33.html", f"{agency}2018年度政府信息公开工作报告", "2018-03-10", "gb2312", 2017),
    ]
    rows = []
    for path, title, date, declared, year in reports:
        page = trs_article(title, date, paragraphs(report_text(agency, year, extra)), site=agency)
        if declared:
            page = page.replace('<meta charset="utf-8">', f'<meta http-equiv="Content-Type" content="text/html; charset={declared}">')
            content_type = f"text/html; charset={declared}"
        else:  # no charset anywhere: neither the header nor the page says
            page = page.replace('<meta charset="utf-8">', "")
            content_type = "text/html"
        site.add(path, Page(page.encode("gbk"), content_type=content_type))
        rows.append(f'<tr><td><a href="{path}">{html.escape(title)}</a></td><td>{date}</td></tr>')
    listing = f"""<html><head><meta http-equiv="Content-Type" content="text/html; charset=gb2312"><title>政府信息公开年度报告</title></head><body>
{HEADER}<table class="list">{"".join(rows)}</table>{FOOTER.format(site=agency)}</body></html>"""
    site.add("/gbk/list.html", Page(listing.encode("gbk"), content_type="text/html; charset=gb2312"))
    site.agencies.append(dict(
        id="demo-gbk", name=agency, kind="department", region="示例省示例县", start_year=2017,
        sources=[f"{base}/gbk/list.html"],
    ))


# --- traditional Chinese with ruby debris, plain-link pagination -------------------------------

def build_trad(site: Site, base: str) -> None:
    agency = "如东县住房和城乡建设局"
    seed = (CONTENT_DIR / "rudong-2019-traditional.txt").read_text(encoding="utf-8")
    title = "2019年如東縣住房和城鄉建設局政府信息公開工作年度報告"
    page = hanweb_article(title, "2020-01-21", paragraphs(seed), site="如東縣人民政府")
    site.add("/trad/art/2020/1/21/art_99_1.html", Page(page.encode("utf-8")))
    other = hanweb_article("如東縣住建局2020年度工作計劃", "2020-02-10", paragraphs("一、總體目標。"), site="如東縣人民政府")
    site.add("/trad/art/2020/2/10/art_99_2.html", Page(other.encode("utf-8")))
    old = hanweb_article(f"{agency}2018年政府信息公开工作年度报告", "2019-03-25",
                         paragraphs(report_text(agency, 2018)), site="如东县人民政府")
    site.add("/trad/art/2019/3/25/art_99_0.html", Page(old.encode("utf-8")))
    lists = {
        1: [("/trad/art/2020/2/10/art_99_2.html", "如東縣住建局2020年度工作計劃", "2020-02-10"),
            ("/trad/art/2020/1/21/art_99_1.html", title, "2020-01-21")],
        2: [("/trad/art/2019/3/25/art_99_0.html", f"{agency}2018年政府信息公开工作年度报告", "2019-03-25")],
    }
    for number, items in lists.items():
        rows = "".join(f'<li><a href="{h}">{html.escape(t)}</a> <span>[{d}]</span></li>' for h, t, d in items)
        pager = '<a href="list.html?page=2">下一頁</a>' if number == 1 else '<a href="list.html?page=1">上一頁</a>'
        listing = f"""<html><head><meta charset="utf-8"><title>政府信息公開年報</title></head><body>
{HEADER}<ul>{rows}</ul><div class="pager"><a href="list.html?page=1">1</a> <a href="list.html?page=2">2</a> {pager}</div></body></html>"""
        site.add(f"/trad/list.html?page={number}", Page(listing.encode("utf-8")))
    site.agencies.append(dict(
        id="demo-trad", name=agency, kind="department", region="江苏省南通市如东县", start_year=2018,
        sources=[f"{base}/trad/list.html?page=1"],
    ))


ROBOTS = b"User-agent: *\nDisallow: /trs/xxgk/ndbg/drafts/\n"


def build_site(base: str, dead_url: str) -> Site:
    """The whole demo portal for a server at `base` (e.g. http://127.0.0.1:8123)."""
    site = Site()
    site.add("/robots.txt", Page(ROBOTS, content_type="text/plain"))
    build_trs(site, base)
    build_hanweb(site, base)
    build_gbk(site, base)
    build_trad(site, base)
    site.agencies.append(dict(
        id="demo-dead", name="示例镇人民政府", kind="government", region="示例省示例县示例镇",
        start_year=2019, sources=[dead_url],
    ))
    return site


def with_body(page: Page, old: str, new: str) -> Page:
    """The same page with one piece of text replaced (to simulate an edited report)."""
    encoding = "gbk" if "gb" in page.content_type else "utf-8"
    text = page.body.decode(encoding)
    if old not in text:
        raise ValueError(f"{old!r} not in page")
    return replace(page, body=text.replace(old, new).encode(encoding))
