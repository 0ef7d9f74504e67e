"""What a page that answered 200 really is: a block page, an anti-bot challenge, a soft 404.

Chinese portals answer most faults with status 200: a rate limiter's "访问过于频繁" page, a WAF
challenge that sets a cookie by script (Ruishu `$_ts`, Jiasule `__jsl_clearance`, Aliyun
`acw_sc__v2`), or "您访问的页面不存在" in the site's frame, the common way a page is taken
down. Treating such a page as content would store an error page as a report's new version, or
count a useless listing as a complete crawl. These checks are pure functions of the page.

Why only short pages: the markers are ordinary words, and a report of thousands of characters
may quote them. A fault page carries little text of its own outside its links (navigation,
footer), so markers count only when the page's own non-link text is short.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

import lxml.html

from nianbao.crawler.cleanup import to_simplified

BLOCK_PAGE = "block_page"
CHALLENGE = "challenge"
SOFT_404 = "soft_404"
PAGE_FAULTS = (BLOCK_PAGE, CHALLENGE, SOFT_404)

# A fault page's own text (outside links, scripts and styles) is shorter than this.
SHORT_PAGE_CHARS = 600

_BLOCK = re.compile(
    r"访问(?:过于|太|过|较为)?频繁|请求(?:过于|太)频繁|操作(?:过于|太)频繁|访问频率(?:过高|太高|超限)"
    r"|请稍[后候](?:再试|重试|访问)|访问受限|限制访问|访问(?:被|已被)?(?:拒绝|拦截|阻断)|拒绝访问|禁止访问"
    r"|已被(?:拦截|阻断|封禁)|(?:网站|应用|web)\s*防火墙|安全狗|云锁|创宇盾|加速乐|安全拦截"
    r"|人机验证|滑动验证|安全验证|请输入验证码|请完成验证|系统繁忙|服务器繁忙|服务(?:暂时)?不可用|网关错误"
    r"|too many requests|rate limit|access denied|forbidden|service unavailable|bad gateway"
    r"|request blocked|captcha",
    re.I,
)
_CHALLENGE_SCRIPT = re.compile(
    r"\$_ts\s*=|__jsl_clearance|acw_sc__v2|_\$[a-z]{2}\s*=|window\.location\.reload\(|"
    r"document\.cookie\s*=.{0,400}location(?:\.href|\.replace|\.reload)",
    re.I | re.S,
)
# "已" comes as 已, 已经, 已被, 已经被 ("页面已经删除或者不存在", "稿件已被移除").
_TAKEN_DOWN = r"(?:已经?被?|被)(?:删除|移除|撤销|撤回|撤稿|下线|下架|过期|失效|屏蔽)"
_SOFT_404 = re.compile(
    rf"(?:页面|网页|文章|信息|内容|资源|文件|栏目|稿件|链接)(?:已经?)?(?:不存在|未找到|找不到)"
    rf"|(?:页面|网页|文章|信息|内容|资源|文件|稿件|链接){_TAKEN_DOWN}"
    r"|(?:找不到|无法找到|未找到)(?:您要|您所|你要)?(?:访问|查看|浏览|请求|查找)?的?(?:页面|网页|内容|信息)"
    rf"|(?:您|你)(?:所|要)?(?:访问|查看|浏览|请求|查找|查询)的(?:页面|网页|内容|信息|文章)(?:不存在|{_TAKEN_DOWN})"
    r"|(?:链接|地址)(?:已)?(?:失效|错误)|页面走丢|\b404\b|404\s*(?:错误|error)|(?:错误|error)\s*(?:代码)?\s*[:：]?\s*404"
    r"|not\s+found|page\s+(?:does\s+not|doesn't)\s+exist",
    re.I,
)
# A list column that is empty on purpose: not a fault.
EMPTY_LIST = re.compile(r"暂无(?:相关)?(?:信息|数据|内容|记录|文章|公开信息)|没有(?:相关)?(?:记录|信息|数据)|共\s*0\s*条|无相关(?:信息|记录|数据)")

_SKIP_TAGS = ("script", "style", "noscript", "template")
# A site's front page: "/", "/index.jsp", "/portal/index.html", "/site/": at most one folder
# deep, with no name or an index-like one.
_INDEX = r"(?:(?:index|default|main|home|portal)\.(?:s?html?|jsp|aspx?|php|do))?"
HOME_PATHS = re.compile(rf"^/?(?:[^/]+/)?{_INDEX}$", re.I)
_ROOT = re.compile(rf"^/?{_INDEX}$", re.I)


@dataclass(frozen=True)
class PageText:
    """The parts of a page the checks read: its <title>, its own text and its scripts."""

    title: str
    own_text: str  # visible text outside links, scripts and styles, simplified, spaces squashed
    scripts: str
    link_count: int


def page_text(html: str) -> PageText:
    """Read a page's title, own text and scripts (never raises; a broken page reads as empty)."""
    try:
        tree = lxml.html.fromstring(html.encode("utf-8", "surrogatepass"),
                                    parser=lxml.html.HTMLParser(encoding="utf-8", huge_tree=True))
    except (lxml.etree.ParserError, ValueError, TypeError):
        return PageText("", "", "", 0)
    title = " ".join(tree.xpath("//title//text()"))
    scripts = "\n".join(tree.xpath("//script//text()"))[:20_000]
    own = tree.xpath(
        "//body//text()[not(ancestor::a)"
        + "".join(f" and not(ancestor::{tag})" for tag in _SKIP_TAGS)
        + "]"
    ) or tree.xpath("//text()[not(ancestor::a) and not(ancestor::script) and not(ancestor::style)]")
    own_text = re.sub(r"\s+", " ", " ".join(own)).strip()
    return PageText(
        title=to_simplified(re.sub(r"\s+", " ", title).strip()),
        own_text=to_simplified(own_text[:20_000]),
        scripts=scripts,
        link_count=len(tree.xpath("//a[@href]")),
    )


def page_fault(page: PageText) -> str | None:
    """BLOCK_PAGE, CHALLENGE or SOFT_404 when the page is one, else None."""
    short = len(page.own_text) < SHORT_PAGE_CHARS
    if _CHALLENGE_SCRIPT.search(page.scripts) and len(page.own_text) < SHORT_PAGE_CHARS // 2:
        return CHALLENGE
    if _SOFT_404.search(page.title) or (short and _SOFT_404.search(page.own_text)):
        return SOFT_404
    if _BLOCK.search(page.title) or (short and _BLOCK.search(page.own_text)):
        return BLOCK_PAGE
    return None


def fault_of_html(html: str) -> str | None:
    return page_fault(page_text(html))


def undecodable(text: str) -> bool:
    """Binary junk, or a page decoded with the wrong charset: U+FFFD is common in it."""
    return "\ufffd" in text[:5000] and text.count("\ufffd") > len(text) // 20


def is_empty_list(page: PageText) -> bool:
    """The page says its list has no entries yet (暂无信息, 共0条 ...)."""
    return bool(EMPTY_LIST.search(page.own_text))


def redirected_home(requested_url: str, final_url: str) -> bool:
    """A request that ended on a site's front page rather than the page asked for.

    Only the path counts, not the host: a redirect can only end on one of the agency's
    configured origins (OriginGuardMiddleware refuses the others), and a report moved to the
    same or another path of another of its hosts is still the report. A folder's own index
    ("/ndbg" -> "/ndbg/", "/ndbg/" -> "/ndbg/index.html") is the page itself.
    """
    if not final_url or final_url == requested_url:
        return False
    asked, got = urlsplit(requested_url).path or "/", urlsplit(final_url).path or "/"
    if not HOME_PATHS.match(got) or _ROOT.match(asked):
        return False
    return got[: got.rfind("/") + 1] != asked.rstrip("/") + "/"
