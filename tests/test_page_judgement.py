"""Pure judgements of pages that answered 200: fault pages, listings, plausibility of a report.

Table-driven, two or more fixtures per class that differ in wording, script, layout and
encoding, so that a rule written for one example string fails here.
"""

from __future__ import annotations

import pytest
from scrapy.http import HtmlResponse, Request, Response

from nianbao.crawler.listings import parse_listing
from nianbao.crawler.listings.validity import ListingShape, listing_problem, shape_of
from nianbao.crawler.page_kinds import (
    BLOCK_PAGE,
    CHALLENGE,
    SOFT_404,
    fault_of_html,
    is_empty_list,
    page_text,
    redirected_home,
)
from nianbao.crawler.plausibility import GONE, SUSPECT, TRANSIENT, KnownReport, judge_page, judge_text

NAV = "".join(f"<a href='/c{i}/'>{name}</a>" for i, name in enumerate(
    ["首页", "政务公开", "政务服务", "互动交流", "走进本市", "机构设置", "政策文件", "English"]))
FOOTER = "<div class='foot'>主办：示例市人民政府办公室 网站标识码：3411000001 皖ICP备05001234号</div>"
REPORT_BODY = "".join(
    f"<p>（{i}）本年度共受理政府信息公开申请{i * 7}件，其中当面申请{i}件，网络申请{i * 5}件。</p>"
    for i in range(1, 40))


def page(body: str, title: str = "示例市人民政府", head: str = "") -> str:
    return (f"<html><head><meta charset='utf-8'><title>{title}</title>{head}</head>"
            f"<body><div class='nav'>{NAV}</div>{body}{FOOTER}</body></html>")


@pytest.mark.parametrize("html,expected", [
    # rate limiters and WAFs, in several wordings
    (page("<div class='tip'>您的访问过于频繁，请稍后再试。</div>"), BLOCK_PAGE),
    (page("<h2>訪問頻率過高</h2><p>請稍後重試</p>"), BLOCK_PAGE),
    ("<html><body><h1>403 Forbidden</h1><hr><center>nginx</center></body></html>", BLOCK_PAGE),
    (page("<p>系统检测到异常访问，请完成验证后继续浏览</p>", title="安全验证"), BLOCK_PAGE),
    (page("<p>网站防火墙：您的请求已被拦截</p>"), BLOCK_PAGE),
    # anti-bot challenges that set a cookie by script
    ("<html><head><meta content='x9f'><script>$_ts=window['$_ts'];$_ts.nsd=81231;</script>"
     "<script src='/abc.js'></script></head><body></body></html>", CHALLENGE),
    ("<html><body><script>document.cookie=('_')+('_jsl_clearance')+('=1700000000.5|0|abc');"
     "location.href=location.pathname+location.search</script></body></html>", CHALLENGE),
    ("<script>var arg1='3B8E';document.cookie='acw_sc__v2='+x;location.reload();</script>", CHALLENGE),
    # soft 404s in the site's frame, in several wordings and scripts
    (page("<div class='err'>抱歉，您访问的页面不存在或已被删除！<a href='/'>返回首页</a></div>"), SOFT_404),
    (page("<p>該信息已撤銷</p>"), SOFT_404),
    (page("<div>页面未找到</div>", title="提示信息"), SOFT_404),
    ("<html><head><title>404 Not Found</title></head><body><h1>Not Found</h1></body></html>", SOFT_404),
    (page("<p>信息不存在或者已被删除，3秒后自动返回</p>"), SOFT_404),
    # pages that are content
    (page("<h1>2019年政府信息公开工作年度报告</h1><p>详见附件。</p><a href='/a.pdf'>附件</a>"), None),
    (page("<h1>2021年度报告</h1>" + REPORT_BODY + "<p>对申请人提出的信息不存在的情形，依法告知。</p>"), None),
    (page("<h1>年报</h1>" + REPORT_BODY + "<p>404件申请已办结，访问过于频繁的情况未发生。</p>"), None),
])
def test_fault_pages(html, expected):
    assert fault_of_html(html) == expected


@pytest.mark.parametrize("html,empty", [
    (page("<ul class='list'><li>暂无信息</li></ul>"), True),
    (page("<div>共 0 条记录</div>"), True),
    (page("<table><tr><td>没有相关记录</td></tr></table>"), True),
    (page("<ul><li><a href='/a/1.html'>2020年政府信息公开工作年度报告</a></li></ul>"), False),
])
def test_empty_list(html, empty):
    assert is_empty_list(page_text(html)) is empty


@pytest.mark.parametrize("asked,got,home", [
    ("http://www.a.gov.cn/art/2020/1/2/art_1_2.html", "http://www.a.gov.cn/", True),
    ("https://xxgk.b.gov.cn/ndbg/t2020.shtml", "https://xxgk.b.gov.cn/index.jsp", True),
    ("http://c.gov.cn/col/ndbg/201903/t1.html", "http://xxgk.c.gov.cn/index.html", True),
    # another (configured) host is judged by its path: the crawl refuses unconfigured ones
    ("http://c.gov.cn/col/ndbg/201903/t1.html", "http://xxgk.c.gov.cn/ndbg/t1.html", False),
    ("http://c.gov.cn/col/ndbg/201903/t1.html", "https://c.gov.cn/col/ndbg/201903/t1.html", False),
    ("http://d.gov.cn/ndbg/", "http://d.gov.cn/ndbg/index.html", False),
    ("http://d.gov.cn/", "http://d.gov.cn/index.html", False),  # the home page was what we asked for
])
def test_redirected_home(asked, got, home):
    assert redirected_home(asked, got) is home


def html_response(url: str, html: str, *, requested: str | None = None, encoding="utf-8") -> HtmlResponse:
    request = Request(requested or url)
    if requested and requested != url:
        request.meta["redirect_urls"] = [requested]
    return HtmlResponse(url, body=html.encode(encoding), encoding=encoding, request=request)


LISTING_ROWS = "".join(
    f"<li><a href='./20{y}01/t20{y}0115_{y}.html' title='示例市{2000 + y}年政府信息公开工作年度报告'>"
    f"示例市{2000 + y}年政府信息公开...</a><span>20{y + 1}-01-15</span></li>" for y in range(15, 24))
LISTING = page(f"<ul class='list'>{LISTING_ROWS}</ul>")
URL = "http://www.example.gov.cn/zwgk/ndbg/index.html"


@pytest.mark.parametrize("html,fragment", [
    (page("<p>访问过于频繁，请稍后再试</p>"), "block page"),
    (page("<p>您要访问的页面不存在</p>"), "soft 404"),
    (page(""), "no list entries or pager"),
    ("", "empty page"),
    ("<html><head><script>$_ts=window['$_ts'];</script></head><body></body></html>", "challenge"),
])
def test_useless_listings_have_a_reason(html, fragment):
    response = html_response(URL, html)
    listing = parse_listing(response)
    problem = listing_problem(response, listing, requested_url=URL)
    assert problem is not None and fragment in problem


def test_a_listing_redirected_home_is_not_a_listing():
    response = html_response("http://www.example.gov.cn/", LISTING, requested=URL)
    problem = listing_problem(response, parse_listing(response), requested_url=URL)
    assert problem is not None and "redirected to http://www.example.gov.cn/" in problem


def test_binary_listing_is_not_a_listing():
    response = Response(URL, body=b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8,
                        headers={"Content-Type": "image/png"})
    assert "not a text page" in listing_problem(response, None, requested_url=URL)


@pytest.mark.parametrize("html", [
    LISTING,
    page("<ul><li>暂无信息</li></ul>"),  # an empty column, on purpose
    page("<div class='news'>" + "".join(
        f"<a href='/art/{i}.html'>关于做好{i}月份政务公开工作的通知</a><br>" for i in range(1, 9)) + "</div>"),
])
def test_real_listings_pass(html):
    response = html_response(URL, html)
    assert listing_problem(response, parse_listing(response), requested_url=URL) is None


def test_a_listing_with_its_last_good_template_passes_without_entries():
    """A column whose entries come and go (here none today) in the same template as before."""
    template = "<div class='wrap'><div class='main'><div class='list-box'><ul class='xxgk-list'>{}</ul></div></div></div>"
    good = html_response(URL, page(template.format(LISTING_ROWS)))
    shape = shape_of(good, parse_listing(good))
    now = html_response(URL, page(template.format("")))
    assert listing_problem(now, parse_listing(now), requested_url=URL) == "no list entries or pager found"
    assert listing_problem(now, parse_listing(now), requested_url=URL,
                           last_good=ListingShape(shape.entries, shape.pages, shape.signature)) is None
    other = html_response(URL, "<html><body><table><tr><td>维护中</td></tr></table></body></html>")
    assert listing_problem(other, parse_listing(other), requested_url=URL, last_good=shape) is not None


KNOWN = KnownReport(kind="annual_report", title="示例市2020年政府信息公开工作年度报告", text_length=3000,
                    document=False)
KNOWN_PDF = KnownReport(kind="annual_report", title="示例市2019年年报", text_length=0, document=True)
REPORT_URL = "http://www.example.gov.cn/zwgk/ndbg/202101/t20210115_1.html"


def judge(html: str | None, *, known=KNOWN, final_url=REPORT_URL, content_type="text/html; charset=utf-8",
          body: bytes | None = None):
    body = body if body is not None else (html or "").encode("utf-8")
    return judge_page(url=REPORT_URL, final_url=final_url, html=html, body=body,
                      content_type=content_type, known=known)


def test_judge_page_verdicts():
    full = page("<h1>2020年报</h1>" + REPORT_BODY)
    assert judge(full) is None
    assert judge(full, known=None) is None
    assert judge(page("<p>您访问的页面不存在</p>")).kind == GONE
    assert judge(full, final_url="http://www.example.gov.cn/index.html").reason == "redirect_home"
    assert judge(page("<p>請求過於頻繁，請稍後再試</p>")).kind == TRANSIENT
    assert judge('{"code":429,"msg":"too many requests"}', content_type="application/json").kind == TRANSIENT
    assert judge('{"code":429}', content_type="text/html").kind == TRANSIENT  # a JSON body, mislabelled
    truncated = full[: len(full) // 2]
    assert judge(truncated).kind == SUSPECT and judge(truncated).reason.startswith("truncated")
    assert judge(truncated, known=None) is None  # nothing stored to protect
    assert judge(None, content_type="application/octet-stream", body=b"%PDF-1.4 error").reason.startswith(
        "content_type")
    assert judge(full, known=KNOWN_PDF).reason.startswith("content_type")
    assert judge(None, known=KNOWN_PDF, content_type="application/pdf", body=b"%PDF-1.7 ...") is None


def test_judge_text_verdicts():
    assert judge_text(kind="annual_report", text="正文" * 2000, known=KNOWN) is None
    assert judge_text(kind="other", text="正文" * 2000, known=KNOWN).reason.startswith("kind_changed")
    assert judge_text(kind="annual_report", text="正文" * 400, known=KNOWN).reason == "shrank: 3000 -> 800 characters"
    short = KnownReport(kind="annual_report", title="年报", text_length=120, document=False)
    assert judge_text(kind="annual_report", text="详见附件", known=short) is None  # short texts vary
    assert judge_text(kind="other", text="x", known=None) is None
