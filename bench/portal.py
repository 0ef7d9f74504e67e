"""A synthetic national portal on disk: N agencies x M reports, static files any web server
can serve (nginx in `make bench`), with the registry that crawls it.

Agencies cycle through five portal families as real portals look (shared/portals.md):
TRS (createPageHTML pager, .TRS_Editor articles), Hanweb (records in a <datastore>, #zoom
articles), GBK (gb2312-declared pages, a table listing), traditional Chinese with pinyin
ruby debris (plain next-page links) and attachments (reports as PDF files besides pages).
Each listing spreads its reports over two pages and carries navigation, notices and work
plans; each page carries realistic chrome (header, breadcrumbs, side menu, related
reading, footer) and weighs 5-15 KB. `manifest.json` lists every URL a crawl fetches and the
text each report must yield (for the quality check).
"""

from __future__ import annotations

import html
import io
import json
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from nianbao.demo.site import CONTENT_DIR, STATS_TABLE, hanweb_article, paragraphs, report_text, trs_article

FAMILIES = ("trs", "hanweb", "gbk", "trad", "attach")
FIRST_YEAR = 2014
# A side menu and a footer of links, as every portal has: navigation the listing parsers must
# read and drop, and what makes pages weigh what real ones do.
MENU = "".join(f'<li><a href="/zwgk/col{n}/index.html">{name}{n}</a></li>' for n, name in enumerate(
    ["政府信息公开指南", "政府信息公开制度", "法定主动公开内容", "政府信息公开年报", "机构职能", "政策文件",
     "规划计划", "财政信息", "人事信息", "建议提案办理", "重大项目", "公共资源配置", "社会公益事业",
     "应急管理", "统计信息", "行政执法", "政策解读", "新闻发布会", "依申请公开", "互动交流"] * 2))
LINKS = "".join(f"<a href='http://www.{n}.gov.cn/' target='_blank'>{name}人民政府门户网站</a>" for n, name in enumerate(
    ["北京市", "天津市", "河北省", "山西省", "内蒙古自治区", "辽宁省", "吉林省", "黑龙江省", "上海市", "江苏省",
     "浙江省", "安徽省", "福建省", "江西省", "山东省", "河南省", "湖北省", "湖南省", "广东省", "广西壮族自治区"]))
CHROME = ("<div class='links'><span>政府网站链接：</span>" + LINKS + "</div><div class='head'><a href='/'>首页</a> | <a href='#'>简</a> | <a href='#'>繁</a> | "
          "<a href='#'>无障碍</a> | <a href='#'>登录</a></div><div class='side'><ul>" + MENU + "</ul></div>")
FOOTER = ("<div class='foot'><p>主办单位：{site}　承办：{site}办公室　地址：人民路1号　邮编：230000</p>"
          "<p>网站标识码：3400000001　皖ICP备05001234号　皖公网安备 34010202000001号</p>"
          "<p><a href='/wzdt/'>网站地图</a> | <a href='/lxwm/'>联系我们</a> | <a href='/sybz/'>使用帮助</a></p></div>")
NOTICES = ["关于做好{year}年度政务公开工作的通知", "{site}{year}年政务公开工作要点", "{site}关于调整工作机构的公告"]
# Without reportlab (a test dependency) the attachments are bytes that only look like a PDF.
FAKE_ATTACHMENT = b"%PDF-1.4\n% nianbao bench attachment\n" + b"0" * 6000 + b"\n%%EOF\n"


def attachment_pdf(title: str, marker: str, text: str) -> bytes | None:
    """A one-page PDF of the report as agencies print them: Chinese in a non-embedded CID font
    (GBK-EUC-H, no ToUnicode), so the crawl reads a real file; None without reportlab. The
    marker (what the quality check looks for) has a line of its own, never wrapped."""
    try:
        from reportlab.lib.pagesizes import A4
        from reportlab.pdfbase import pdfmetrics
        from reportlab.pdfbase.cidfonts import CIDFont
        from reportlab.pdfgen import canvas
    except ImportError:
        return None
    face = CIDFont("STSong-Light", "GBK-EUC-H")
    if face.fontName not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(face)
    out = io.BytesIO()
    page = canvas.Canvas(out, pagesize=A4)
    page.setFont(face.fontName, 11)
    y = A4[1] - 72
    for line in [title, marker, *(text[n:n + 38] for n in range(0, len(text), 38))]:
        page.drawString(60, y, line.encode("gbk").decode("latin-1"))
        y -= 18
    page.save()
    return out.getvalue()


@dataclass
class Portal:
    root: Path
    agencies: int
    reports: int
    urls: list[str] = field(default_factory=list)  # every path a crawl fetches
    expected: dict[str, str] = field(default_factory=dict)  # report path -> a sentence it must hold

    def registry(self, base: str) -> dict:
        return {"agencies": [
            {"id": f"bench-{i:06d}", "name": _agency_name(i), "kind": "department",
             "start_year": FIRST_YEAR, "sources": [f"{base}{_listing_path(i, 0)}"]}
            for i in range(self.agencies)]}

    def write_registry(self, path: Path, base: str) -> Path:
        path.write_text(yaml.safe_dump(self.registry(base), allow_unicode=True, sort_keys=False),
                        encoding="utf-8")
        return path


def _agency_name(i: int) -> str:
    return f"示例{i}号县民政局"


def _trad_name(i: int) -> str:
    return f"示例{i}號縣民政局"


def _family(i: int) -> str:
    return FAMILIES[i % len(FAMILIES)]


def _listing_path(i: int, page: int) -> str:
    family = _family(i)
    if family == "trad":
        return f"/a{i}/list.html" if page == 0 else f"/a{i}/list_{page + 1}.html"
    return f"/a{i}/index.html" if page == 0 else f"/a{i}/index_{page}.html"


def build(root: Path, agencies: int = 200, reports: int = 10) -> Portal:
    """Write the portal under root (a fresh directory) and return what it holds."""
    portal = Portal(root, agencies, reports)
    seed = (CONTENT_DIR / "rudong-2019-traditional.txt").read_text(encoding="utf-8")
    for i in range(agencies):
        _build_agency(portal, i, reports, seed)
    (root / "robots.txt").write_text("User-agent: *\nAllow: /\n")
    (root / "manifest.json").write_text(json.dumps(
        {"agencies": agencies, "reports": reports, "urls": portal.urls, "expected": portal.expected},
        ensure_ascii=False))
    return portal


def _write(portal: Portal, path: str, body: bytes) -> None:
    target = portal.root / path.lstrip("/")
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(body)
    portal.urls.append(path)


def _build_agency(portal: Portal, i: int, count: int, seed: str) -> None:
    family = _family(i)
    name = _agency_name(i)
    rows: list[tuple[str, str, str]] = []
    for k in range(count):
        year = FIRST_YEAR + k % 10
        date = f"{year + 1}-01-{10 + k % 18:02d}"
        title = f"{name}{year}年政府信息公开工作年度报告"
        text = report_text(name, year, variant=f"（编号{i}-{k}）")
        if family == "attach" and k % 2:
            path = f"/a{i}/P0{year + 1}0131_{k}.pdf"
            pdf = attachment_pdf(title, f"（编号{i}-{k}）", report_text(name, year).replace("\n", ""))
            _write(portal, path, pdf or FAKE_ATTACHMENT + f"{i}-{k}".encode())
            if pdf:
                portal.expected[path] = f"编号{i}-{k}"
            rows.append((path, title, date))
            continue
        body = paragraphs(text) + STATS_TABLE
        if family == "trs" or family == "attach":
            path = f"/a{i}/{year + 1}01/t{year + 1}0120_{i}_{k}.html"
            page = trs_article(title, date, body, site=name).replace("<body>", "<body>" + CHROME, 1)
            data = page.encode("utf-8")
        elif family == "hanweb":
            path = f"/art/{year + 1}/1/20/art_{i}_{k}.html"
            data = hanweb_article(title, date, body, site=name).replace("<body>", "<body>" + CHROME, 1).encode("utf-8")
        elif family == "gbk":
            path = f"/a{i}/gbk/t{year + 1}_{k}.html"
            page = trs_article(title, date, body, site=name).replace("<body>", "<body>" + CHROME, 1)
            page = page.replace('<meta charset="utf-8">',
                                '<meta http-equiv="Content-Type" content="text/html; charset=gb2312">')
            data = page.encode("gbk")
        else:  # traditional with ruby debris
            trad_name = _trad_name(i)
            title = f"{trad_name}{year}年政府信息公開工作年度報告"
            trad = seed.replace("2019", str(year)).replace("如東縣住房和城鄉(xiāng)建設(shè)局", trad_name)
            trad += f"\n（編號{i}-{k}）"  # the seed carries its pinyin ruby debris: 報(bào)告
            path = f"/a{i}/art/{year + 1}/art_{k}.html"
            data = hanweb_article(title, date, paragraphs(trad), site=trad_name).replace(
                "<body>", "<body>" + CHROME, 1).encode("utf-8")
            text = f"编号{i}-{k}"
        _write(portal, path, data)
        portal.expected[path] = (f"编号{i}-{k}")
        rows.append((path, title, date))
    notices = [(f"/a{i}/tz/{n}.html", t.format(year=2020 + n, site=name), f"2020-0{n + 2}-01")
               for n, t in enumerate(NOTICES)]
    for path, title, date in notices:
        _write(portal, path, trs_article(title, date, paragraphs("各有关单位：现将有关事项通知如下。"), site=name)
               .replace("<body>", "<body>" + CHROME, 1).encode("utf-8"))
    half = (len(rows) + 1) // 2
    pages = [notices[:2] + rows[:half], notices[2:] + rows[half:]]
    for number, items in enumerate(pages):
        _write(portal, _listing_path(i, number), _listing(family, i, name, items, number, len(pages)))


def _listing(family: str, i: int, name: str, items, number: int, count: int) -> bytes:
    def li(href, title, date):
        shown = title if len(title) <= 24 else title[:24] + "..."
        return (f'<li><a href="{html.escape(href)}" title="{html.escape(title)}" target="_blank">'
                f'{html.escape(shown)}</a><span>{date}</span></li>')

    head = f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>政府信息公开年报_{name}</title></head><body>{CHROME}"
    crumb = "<div class='crumb'>当前位置：<a href='/'>首页</a> &gt; <a href='/zwgk/'>政务公开</a> &gt; 政府信息公开年报</div>"
    foot = FOOTER.format(site=name) + "</body></html>"
    if family in ("trs", "attach"):
        pager = (f"<div class='page'><script>var currentPage = {number}; var countPage = {count};"
                 f"createPageHTML({count}, {number}, \"index\", \"html\");</script></div>")
        return (head + crumb + "<ul class='list'>" + "".join(li(*item) for item in items) + "</ul>"
                + pager + foot).encode("utf-8")
    if family == "hanweb":
        # All records inline (a static server has no data proxy); the page shows the group.
        records = "".join(f"<record><![CDATA[{li(*item)}]]></record>" for item in items)
        nxt = (f"<a href='{_listing_path(i, number + 1)}'>下一页</a>" if number + 1 < count else "")
        return (head + crumb + f"<div id='4193'><script type='text/xml'><datastore><recordset>{records}"
                "</recordset></datastore></script></div>" + f"<div class='pg'>{nxt}</div>" + foot).encode("utf-8")
    if family == "gbk":
        rows = "".join(f"<tr><td><a href='{h}'>{html.escape(t)}</a></td><td>{d}</td></tr>" for h, t, d in items)
        nxt = (f"<a href='{_listing_path(i, number + 1)}'>下一页</a>" if number + 1 < count else "")
        page = (head.replace("<meta charset='utf-8'>",
                             "<meta http-equiv='Content-Type' content='text/html; charset=gb2312'>")
                + crumb + f"<table class='list'>{rows}</table><div class='pg'>{nxt}</div>" + foot)
        return page.encode("gbk")
    rows = "".join(f"<li><a href='{h}'>{html.escape(t)}</a> <span>[{d}]</span></li>" for h, t, d in items)
    links = " ".join(f"<a href='{_listing_path(i, n)}'>{n + 1}</a>" for n in range(count))
    nxt = f" <a href='{_listing_path(i, number + 1)}'>下一頁</a>" if number + 1 < count else ""
    return (head + crumb + f"<ul>{rows}</ul><div class='pager'>{links}{nxt}</div>" + foot).encode("utf-8")
