"""A fault-injecting agency portal on 127.0.0.1, scriptable per URL path and per attempt.

The portal is small and normal: a home page, a robots.txt, a two-page listing (plain 下一页
links) and six annual reports of one county department, as Hanweb-style article pages built
with demo/site.py's page builders. Any path can be scripted so that its n-th request gets a
fault instead of (or as a broken delivery of) its normal page::

    server.script(REPORT, None, Fault.status(503, retry_after=1))  # 1 normal, 2 a 503, then normal
    server.always(LISTING, Fault.ruishu())                           # every attempt a 412

Each fault is a frozen value made by one of the `Fault` constructors (see FAULTS for the
list). The server records every request it got (`hits`: path, method, headers, attempt,
arrival time, port), so tests can assert retries, waits and politeness, and it writes a
registry YAML (`write_registry`) so that `nianbao crawl --config` crawls it.

A second port serves the same normal site (never scripted): the target of off-port
redirects. `localhost` names the main port under another host name (off-host redirects).
"""

from __future__ import annotations

import http
import json
import math
import random
import select
import socket
import struct
import threading
import time
import zlib
from collections import Counter
from dataclasses import dataclass, replace
from email.utils import formatdate
from functools import lru_cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

import yaml

from nianbao.demo.site import Page, Site, hanweb_article, paragraphs, report_text

# --- the normal portal --------------------------------------------------------------------

AGENCY_ID = "fault-portal"
AGENCY = "示范县交通运输局"
SITE_NAME = "示范县人民政府"
HOME = "/"
LISTING = "/zwgk/ndbg/index.html"
LISTING_2 = "/zwgk/ndbg/index_1.html"
# year reported on -> path of the report page; the first three are on LISTING, the rest on LISTING_2
REPORTS = {
    2023: "/zwgk/ndbg/202401/t20240126_61873.html",
    2022: "/zwgk/ndbg/202301/t20230130_58211.html",
    2021: "/zwgk/ndbg/202201/t20220128_54009.html",
    2020: "/zwgk/ndbg/202101/t20210129_47730.html",
    2019: "/zwgk/ndbg/202001/t20200121_40158.html",
    2018: "/zwgk/ndbg/201903/t20190329_35502.html",
}
NOTICE = "/zwgk/ndbg/202303/t20230306_58790.html"  # listed, not a report
PUBLISHED = {2023: "2024-01-26", 2022: "2023-01-30", 2021: "2022-01-28", 2020: "2021-01-29",
             2019: "2020-01-21", 2018: "2019-03-29"}
# One sentence per report that only this portal has, so a stored text is known to be its own.
MARKER = "全县交通运输系统共设立政务公开专栏{n}个。"

ROBOTS = b"User-agent: *\nDisallow: /admin/\n"
NOT_FOUND_BODY = (b"<html>\r\n<head><title>404 Not Found</title></head>\r\n<body>\r\n"
                  b"<center><h1>404 Not Found</h1></center>\r\n<hr><center>nginx</center>\r\n"
                  b"</body>\r\n</html>\r\n")
NOT_FOUND = Page(NOT_FOUND_BODY, status=404)


def report_title(year: int) -> str:
    return f"{AGENCY}{year}年政府信息公开工作年度报告"


def report_page(year: int) -> bytes:
    text = report_text(AGENCY, year, MARKER.format(n=year - 2000))
    return hanweb_article(report_title(year), PUBLISHED[year], paragraphs(text), site=AGENCY).encode("utf-8")


def _listing(rows: list[tuple[str, str, str]], page: int, pages: int) -> bytes:
    items = "\n".join(f'<li><span class="date">{date}</span><a href="{href}" target="_blank" '
                      f'title="{title}">{title}</a></li>' for href, title, date in rows)
    names = ["index.html"] + [f"index_{n}.html" for n in range(1, pages)]
    numbers = " ".join(f'<a href="{name}">{n + 1}</a>' for n, name in enumerate(names))
    pager = f'<a href="{names[page + 1]}">下一页</a>' if page + 1 < pages else ""
    return f"""<!DOCTYPE html><html><head><meta charset="utf-8">
<title>政府信息公开年度报告-{AGENCY}</title></head><body>
<div class="head"><a href="/">{SITE_NAME}</a> | <a href="/zwgk/">政务公开</a> | <a href="/hdjl/">互动交流</a></div>
<div class="pos">当前位置：<a href="/">首页</a> &gt; <a href="/zwgk/">政务公开</a> &gt; 政府信息公开年度报告</div>
<ul class="xxgk-list">
{items}
</ul>
<div class="pages">共{pages}页 {numbers} {pager}</div>
<div class="foot">主办：{SITE_NAME}办公室　承办：{AGENCY}　网站标识码：3413000017</div>
</body></html>""".encode("utf-8")


def build_portal() -> Site:
    """Path -> normal Page of the portal, and its one agency (without sources: see write_registry)."""
    site = Site()
    site.add("/robots.txt", Page(ROBOTS, content_type="text/plain"))
    home = f"""<!DOCTYPE html><html><head><meta charset="utf-8"><title>{SITE_NAME}</title></head><body>
<h1>{SITE_NAME}</h1><p><a href="{LISTING}">政府信息公开年度报告</a> <a href="/zwgk/">政务公开</a></p></body></html>"""
    site.add(HOME, Page(home.encode("utf-8")))
    for year in REPORTS:
        site.add(REPORTS[year], Page(report_page(year)))
    notice_title = f"关于开展{AGENCY}2023年度政务公开第三方评估工作的通知"
    notice = paragraphs("各股室、各下属单位：\n现就开展政务公开第三方评估工作通知如下。")
    site.add(NOTICE, Page(hanweb_article(notice_title, "2023-03-06", notice, site=AGENCY).encode("utf-8")))
    rows = [(path, report_title(year), PUBLISHED[year]) for year, path in REPORTS.items()]
    first = rows[:1] + [(NOTICE, notice_title, "2023-03-06")] + rows[1:3]
    site.add(LISTING, Page(_listing(first, 0, 2)))
    site.add(LISTING_2, Page(_listing(rows[3:], 1, 2)))
    return site


# --- fault bodies ---------------------------------------------------------------------------

def reason(code: int) -> str:
    try:
        return http.HTTPStatus(code).phrase
    except ValueError:  # 521 and friends are no standard codes
        return {520: "Unknown Error", 521: "Web Server Is Down", 522: "Connection Timed Out"}.get(code, "Unknown")


def _header_number(value: float | str) -> str:
    return f"{value:g}" if isinstance(value, (int, float)) else str(value)


def _error_page(code: int) -> bytes:
    phrase = reason(code)
    return (f"<html>\r\n<head><title>{code} {phrase}</title></head>\r\n<body>\r\n<center><h1>{code} "
            f"{phrase}</h1></center>\r\n<hr><center>nginx/1.20.1</center>\r\n</body>\r\n</html>\r\n").encode()


# 200 answers that say the page is gone. Each differs in wording, encoding and page shape.
SOFT_404_PAGES: tuple[tuple[bytes, str], ...] = (
    ("""<!DOCTYPE html><html><head><meta charset="utf-8"><title>404-页面不存在</title></head>
<body><div class="err"><img src="/images/404.png" alt=""><p>抱歉！您访问的页面不存在或已被删除</p>
<a href="/">返回首页</a></div></body></html>""".encode("utf-8"), "text/html; charset=utf-8"),
    ("""<html><head><meta http-equiv="Content-Type" content="text/html; charset=gb2312"><title>提示信息</title>
<script>var s=5;setInterval(function(){if(--s<=0){location.href='/';}document.getElementById('sec').innerHTML=s;},1000);</script>
</head><body><table align="center"><tr><td>您访问的页面不存在或已被删除！</td></tr>
<tr><td><span id="sec">5</span>秒后自动返回首页</td></tr></table></body></html>""".encode("gbk"),
     "text/html; charset=gb2312"),
    (f"""<!DOCTYPE html><html><head><meta charset="utf-8"><title>温馨提示-{SITE_NAME}</title></head><body>
<div class="head"><a href="/">{SITE_NAME}</a> | <a href="/zwgk/">政务公开</a> | <a href="/hdjl/">互动交流</a></div>
<div class="pos">当前位置：<a href="/">首页</a> &gt; 温馨提示</div>
<div class="main"><h2>对不起，您要访问的页面已经删除或者不存在。</h2><p>请检查您输入的网址是否正确，或<a href="/">点击这里</a>返回网站首页。</p></div>
<div class="foot">主办：{SITE_NAME}办公室　网站标识码：3413000017</div></body></html>""".encode("utf-8"),
     "text/html; charset=utf-8"),
    ("""<html><head><meta http-equiv="refresh" content="3;url=/"><title>信息不存在</title></head>
<body><p style="text-align:center">该信息已撤销或不存在，3秒后跳转至首页……</p></body></html>""".encode("utf-8"),
     "text/html"),
    ("""<!doctype html><html lang="zh-CN"><head><meta charset="UTF-8"><title>页面未找到</title></head><body>
<div id="app"><h1>404</h1><p>很抱歉，您要访问的页面找不到了</p><p>Sorry, the page you requested could not be found.</p>
<a href="javascript:history.back()">返回上一页</a></div></body></html>""".encode("utf-8"),
     "text/html;charset=UTF-8"),
)

# 200 answers of rate limiters and web application firewalls: not the page, not gone either.
BLOCK_PAGES: tuple[tuple[bytes, str], ...] = (
    ("""<!DOCTYPE html><html><head><meta charset="utf-8"><title>访问受限</title></head>
<body><h3>访问过于频繁，请稍后再试。</h3></body></html>""".encode("utf-8"), "text/html; charset=utf-8"),
    ("""<html><head><meta http-equiv="Content-Type" content="text/html; charset=gbk"><title>系统提示</title></head>
<body><div class="box"><p>您的访问频率过快，已被暂时限制访问，请稍后再试。</p><p>您的IP：127.0.0.1</p>
<p>拦截时间：2024-03-18 09:41:07</p></div></body></html>""".encode("gbk"), "text/html; charset=gbk"),
    ("""<!DOCTYPE html><html><head><meta charset="utf-8"><title>网站防火墙</title></head><body>
<div class="wrap"><h1>网站防火墙</h1><p>您的请求过于频繁，已被网站管理员设置拦截！</p>
<ul><li>可能原因：您提交的内容包含危险的攻击请求</li><li>如何解决：1）检查提交内容；2）如网站托管，请联系空间提供商；</li></ul>
<p>事件ID：WAF-7f3a9c21</p></div></body></html>""".encode("utf-8"), "text/html; charset=utf-8"),
    ("""<html><head><title>安全验证</title></head><body><p>系统检测到您的访问存在异常，请稍后再访问本网站。</p>
<p>如有疑问请联系网站管理员。</p></body></html>""".encode("utf-8"), "text/html"),
)

TOO_MANY_HTML = ("""<html><head><meta charset="utf-8"><title>429 Too Many Requests</title></head>
<body><center><h1>429 Too Many Requests</h1><p>请求过于频繁，请稍后再试</p></center></body></html>""").encode("utf-8")
TOO_MANY_JSON = json.dumps({"code": 429, "msg": "请求过于频繁，请稍后再试", "data": None},
                           ensure_ascii=False).encode("utf-8")
# A Java error page that the server calls a download.
OCTET_STREAM_ERROR = (b"java.io.FileNotFoundException: /data/trs/webpic/W0202401/t20240126_61873.html "
                      b"(No such file or directory)\n\tat java.io.FileInputStream.open0(Native Method)\n"
                      b"\tat com.trs.dl.DownloadServlet.doGet(DownloadServlet.java:88)\n")
# An HTML error page in GBK that the server calls a PDF.
PDF_TYPED_ERROR = ("""<html><head><meta http-equiv="Content-Type" content="text/html; charset=gbk"><title>错误</title></head>
<body><h2>系统繁忙，文件暂时无法访问，请稍后再试。</h2></body></html>""").encode("gbk")


def _ruishu_page(seed: int) -> bytes:
    """A 412 page of the Ruishu (瑞数) gateway: a meta token and an inline `$_ts` script."""
    rng = random.Random(seed)
    letters = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._"
    token = "".join(rng.choice(letters) for _ in range(360))
    code = "".join(rng.choice(letters) for _ in range(900))
    return f"""<!DOCTYPE html><html><head><meta http-equiv="Content-Type" content="text/html; charset=utf-8">
<meta http-equiv="Expires" content="0"><meta http-equiv="Cache-Control" content="no-cache"><meta http-equiv="Pragma" content="no-cache">
<meta id="9DhefwqGPrzGxEp9hPaoag" content="{token}" r='m'>
<script type="text/javascript" r='m'>$_ts=window['$_ts'];if(!$_ts)$_ts={{}};$_ts.nsd={rng.randint(10000, 99999)};$_ts.cd="{code}";</script>
<script type="text/javascript" charset="utf-8" src="/4QbVtADbnLVIc/c.FxJzG50F.{rng.getrandbits(28):07x}.js" r='m'></script>
</head><body></body></html>""".encode("utf-8")


def _jiasule_page(seed: int) -> bytes:
    """A 521 page of the Jiasule (加速乐) gateway: a script that builds `__jsl_clearance`."""
    rng = random.Random(seed)
    value = f"{1710000000 + rng.randint(0, 10**7)}.{rng.randint(100, 999)}|0|{rng.getrandbits(128):032x}"
    spelled = "+".join(f"('{ch}')" for ch in "__jsl_clearance=")
    return (f"<script>document.cookie={spelled}+('{value}')+';max-age=3600;path=/';"
            "location.href=location.pathname+location.search</script>").encode("utf-8")


def _with_bad_bytes(encoding: str, declared: str, bad: tuple[bytes, ...]) -> bytes:
    """A normal report page in `encoding` with byte sequences `bad` spliced between characters."""
    marker = "\u0001"
    text = report_text(AGENCY, 2021, MARKER.format(n=21))
    lines = text.splitlines()
    prose = [number for number, line in enumerate(lines) if len(line) > 20]  # not the headings
    for number in prose[: len(bad)]:  # one bad sequence in the middle of each paragraph
        line = lines[number]
        lines[number] = line[: len(line) // 2] + marker + line[len(line) // 2 :]
    page = hanweb_article(report_title(2021), PUBLISHED[2021], paragraphs("\n".join(lines)), site=AGENCY)
    page = page.replace("charset=utf-8", f"charset={declared}")
    pieces = page.encode(encoding).split(marker.encode(encoding))
    return b"".join(piece + (bad[i] if i < len(bad) else b"") for i, piece in enumerate(pieces))


# Invalid UTF-8: a lone continuation byte, a lead byte without its continuation, an overlong
# '/', a truncated 3-byte sequence, and bytes that never occur in UTF-8.
BAD_UTF8 = (b"\x80", b"\xc3(", b"\xc0\xaf", b"\xe5\xb9", b"\xfe\xff")
# Invalid GBK/GB18030: a lead byte with an impossible trail byte, 0xFF, a lone 0x80.
BAD_GBK = (b"\x81\x7f", b"\xff", b"\x80", b"\xa1\x20")


# --- faults -------------------------------------------------------------------------------

Delivery = Literal["whole", "hang", "reset", "truncate", "slow", "oversized", "gzip_bomb"]


@dataclass(frozen=True)
class Fault:
    """What one attempt at a path gets. Build it with the constructors below, not by hand.

    A field left None takes the path's normal page (its status, body, type). Header values and
    `Location` may use {base}, {alias}, {other} (the main, alias-host and second-port base
    URLs) and {path} (the requested path), filled in when the answer is sent.
    """

    name: str
    code: int | None = None
    body: bytes | None = None
    content_type: str | None = None
    headers: tuple[tuple[str, str], ...] = ()
    wait: float = 0.0  # seconds before answering ("hang": the longest the connection is held)
    delivery: Delivery = "whole"
    size: int = 0  # oversized: body bytes sent; gzip_bomb: bytes after inflating
    byte_interval: float = 0.0  # slow: seconds between two bytes
    slow_head: bool = False  # slow: the status line and headers too, not only the body
    declare_length: bool = True  # oversized: send Content-Length (else the close ends the body)
    retry_after_date: float | None = None  # Retry-After as an HTTP-date this many seconds ahead

    def __str__(self) -> str:
        return self.name

    # --- slow or silent servers ---------------------------------------------------------------
    @classmethod
    def delay(cls, seconds: float) -> Fault:
        """The normal page, after `seconds`."""
        return cls(f"delay {seconds:g}s", wait=seconds)

    @classmethod
    def timeout(cls, hold: float = 120.0) -> Fault:
        """Read the request, answer nothing; hold the connection until the client gives up
        (or `hold` seconds, or the server stops), then close it."""
        return cls("timeout", delivery="hang", wait=hold)

    @classmethod
    def slow(cls, ms_per_byte: float, headers_too: bool = False) -> Fault:
        """The normal page one byte at a time, `ms_per_byte` apart (the head at once unless
        headers_too)."""
        return cls(f"slow {ms_per_byte:g}ms/byte", delivery="slow", byte_interval=ms_per_byte / 1000,
                   slow_head=headers_too)

    # --- broken deliveries of the normal page ------------------------------------------------
    @classmethod
    def reset_mid_body(cls) -> Fault:
        """Headers with the full Content-Length, half the body, then a TCP reset (RST)."""
        return cls("reset mid-body", delivery="reset")

    @classmethod
    def truncated(cls) -> Fault:
        """Headers with the full Content-Length, half the body, then an orderly close (FIN)."""
        return cls("truncated body", delivery="truncate")

    # --- status codes -------------------------------------------------------------------------
    @classmethod
    def status(cls, code: int, retry_after: float | str | None = None,
               retry_after_date: float | None = None, body: bytes | None = None,
               content_type: str = "text/html") -> Fault:
        """An error status with an nginx-style page (or `body`). retry_after: the header's value
        as given (seconds, or any text); retry_after_date: an HTTP-date that many seconds after
        the answer (rounded up to a whole second)."""
        headers = (("Retry-After", _header_number(retry_after)),) if retry_after is not None else ()
        label = f"{code}" + (f" Retry-After {retry_after}" if retry_after is not None else "") + (
            f" Retry-After date +{retry_after_date:g}s" if retry_after_date is not None else "")
        return cls(label, code=code, body=_error_page(code) if body is None else body,
                   content_type=content_type, headers=headers, retry_after_date=retry_after_date)

    @classmethod
    def too_many_requests(cls, retry_after: float | str | None = None,
                          retry_after_date: float | None = None, json_body: bool = False) -> Fault:
        """429 with an HTML page, or a JSON API error."""
        body, ctype = (TOO_MANY_JSON, "application/json;charset=UTF-8") if json_body else (
            TOO_MANY_HTML, "text/html; charset=utf-8")
        fault = cls.status(429, retry_after, retry_after_date, body=body, content_type=ctype)
        return replace(fault, name=fault.name + (" (JSON)" if json_body else ""))

    @classmethod
    def not_found(cls) -> Fault:
        return cls.status(404, body=NOT_FOUND_BODY)

    @classmethod
    def gone(cls) -> Fault:
        return cls.status(410)

    # --- anti-bot gateways --------------------------------------------------------------------
    @classmethod
    def ruishu(cls, seed: int = 1) -> Fault:
        """412 of the Ruishu (瑞数) gateway: <meta content="..."> and <script>$_ts=...</script>,
        with the server-side cookie it sets on the first visit."""
        cookie = f"FSSBBIl1UgzbN7N80S={random.Random(seed).getrandbits(160):040x}; Path=/; HttpOnly"
        return cls("412 Ruishu $_ts", code=412, body=_ruishu_page(seed),
                   content_type="text/html; charset=utf-8", headers=(("Set-Cookie", cookie),))

    @classmethod
    def jiasule(cls, seed: int = 1) -> Fault:
        """521 of the Jiasule (加速乐) gateway: a script that sets `__jsl_clearance` and reloads."""
        cookie = f"__jsluid_h={random.Random(seed).getrandbits(128):032x}; max-age=31536000; path=/; HttpOnly"
        return cls("521 Jiasule __jsl_clearance", code=521, body=_jiasule_page(seed),
                   content_type="text/html", headers=(("Set-Cookie", cookie),))

    # --- redirects ----------------------------------------------------------------------------
    @classmethod
    def redirect(cls, location: str, code: int = 302, name: str | None = None) -> Fault:
        body = f'<html><body>Moved: <a href="{location}">here</a></body></html>'.encode()
        return cls(name or f"{code} to {location}", code=code, body=body, content_type="text/html",
                   headers=(("Location", location),))

    @classmethod
    def redirect_loop(cls) -> Fault:
        """A redirect to the very URL asked for (script it with `always`)."""
        return cls.redirect("{base}{path}", name="redirect loop")

    @classmethod
    def redirect_off_host(cls) -> Fault:
        """The same path on another host name (localhost) of this server."""
        return cls.redirect("{alias}{path}", name="redirect off host")

    @classmethod
    def redirect_off_port(cls) -> Fault:
        """The same path on the server's second port (same host)."""
        return cls.redirect("{other}{path}", name="redirect off port")

    @classmethod
    def redirect_home(cls) -> Fault:
        return cls.redirect("{base}/", name="redirect home")

    # --- bodies that are not the page ----------------------------------------------------------
    @classmethod
    def oversized(cls, size: int, declare_length: bool = True) -> Fault:
        """A 200 HTML page of `size` bytes, streamed (never held in memory)."""
        return cls(f"oversized {size} bytes", delivery="oversized", size=size, code=200,
                   content_type="text/html; charset=utf-8", declare_length=declare_length)

    @classmethod
    def gzip_bomb(cls, inflated: int = 1 << 30) -> Fault:
        """Content-Encoding: gzip; about inflated/1000 bytes on the wire, `inflated` bytes of
        zeros once inflated (a whole number of MiB). A valid gzip stream, CRC included."""
        return cls(f"gzip bomb {inflated >> 20} MiB", delivery="gzip_bomb", code=200,
                   size=max(1, inflated >> 20) << 20, content_type="text/html; charset=utf-8")

    @classmethod
    def invalid_utf8(cls) -> Fault:
        return cls("invalid UTF-8", code=200, body=_with_bad_bytes("utf-8", "utf-8", BAD_UTF8),
                   content_type="text/html; charset=utf-8")

    @classmethod
    def invalid_gbk(cls) -> Fault:
        return cls("invalid GBK", code=200, body=_with_bad_bytes("gbk", "gbk", BAD_GBK),
                   content_type="text/html; charset=gbk")

    @classmethod
    def binary_garbage(cls, size: int = 4096, seed: int = 7) -> Fault:
        return cls("binary garbage as text/html", code=200, body=random.Random(seed).randbytes(size),
                   content_type="text/html; charset=utf-8")

    @classmethod
    def empty(cls) -> Fault:
        return cls("empty 200", code=200, body=b"", content_type="text/html; charset=utf-8")

    @classmethod
    def soft_404(cls, variant: int = 0) -> Fault:
        body, ctype = SOFT_404_PAGES[variant]
        return cls(f"soft 404 #{variant}", code=200, body=body, content_type=ctype)

    @classmethod
    def block_page(cls, variant: int = 0) -> Fault:
        body, ctype = BLOCK_PAGES[variant]
        return cls(f"block page #{variant}", code=200, body=body, content_type=ctype)

    @classmethod
    def octet_stream(cls, code: int = 200) -> Fault:
        """An error message served as application/octet-stream at an HTML URL."""
        return cls(f"{code} octet-stream error", code=code, body=OCTET_STREAM_ERROR,
                   content_type="application/octet-stream")

    @classmethod
    def pdf_error(cls, code: int = 200) -> Fault:
        """An HTML error page served as application/pdf at an HTML URL."""
        return cls(f"{code} PDF-typed error", code=code, body=PDF_TYPED_ERROR, content_type="application/pdf")


# Every kind of fault, one example each (for fault matrices and for the self-test).
FAULTS: tuple[Fault, ...] = (
    Fault.delay(0.3), Fault.timeout(), Fault.slow(5), Fault.reset_mid_body(), Fault.truncated(),
    Fault.status(500), Fault.status(502), Fault.status(503), Fault.status(503, retry_after=2),
    Fault.status(503, retry_after_date=2), Fault.status(500, retry_after=2),
    Fault.too_many_requests(retry_after=2), Fault.too_many_requests(json_body=True),
    Fault.ruishu(), Fault.jiasule(), Fault.not_found(), Fault.gone(),
    Fault.redirect_loop(), Fault.redirect_off_host(), Fault.redirect_off_port(), Fault.redirect_home(),
    Fault.oversized(4 << 20), Fault.gzip_bomb(), Fault.invalid_utf8(), Fault.invalid_gbk(),
    Fault.binary_garbage(), Fault.empty(),
    *(Fault.soft_404(n) for n in range(len(SOFT_404_PAGES))),
    *(Fault.block_page(n) for n in range(len(BLOCK_PAGES))),
    Fault.octet_stream(), Fault.pdf_error(),
)


@lru_cache(maxsize=4)
def _gzip_bomb_parts(mebibytes: int) -> tuple[bytes, bytes, bytes]:
    """(gzip header, one deflate block for 1 MiB of zeros, trailer). The block ends with a full
    flush, so repeating it `mebibytes` times is a valid stream: no need to compress GBs."""
    deflate = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    mebibyte = bytes(1 << 20)
    block = deflate.compress(mebibyte) + deflate.flush(zlib.Z_FULL_FLUSH)
    crc = 0
    for _ in range(mebibytes):
        crc = zlib.crc32(mebibyte, crc)
    header = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff"
    trailer = b"\x03\x00" + struct.pack("<II", crc, (mebibytes << 20) & 0xFFFFFFFF)  # final empty block
    return header, block, trailer


def gzip_bomb_bytes(inflated: int) -> bytes:
    """The whole bomb for `inflated` bytes (for tests that want to decompress a small one)."""
    header, block, trailer = _gzip_bomb_parts(max(1, inflated >> 20))
    return header + block * max(1, inflated >> 20) + trailer


# --- the server -----------------------------------------------------------------------------

@dataclass(frozen=True)
class Hit:
    """One request as the server got it."""

    path: str  # as requested, query string included
    method: str
    headers: dict[str, str]
    attempt: int  # 1 for the first request of this path on this port, 2 for the next...
    at: float  # time.monotonic() on arrival (this process's clock)
    port: int
    fault: str | None  # the fault it got, None for the normal page
    body: bytes = b""

    @property
    def host(self) -> str:
        return self.headers.get("Host", "")


@dataclass
class _Script:
    steps: tuple[Fault | None, ...]
    then: Fault | None = None  # after the steps: None = the normal page


@dataclass(frozen=True)
class _Answer:
    page: Page  # the path's normal page
    fault: Fault | None
    urls: dict[str, str]  # what {base}, {alias}, {other} and {path} stand for


class FaultServer:
    """The portal on two ephemeral ports of 127.0.0.1, in threads. A context manager."""

    def __init__(self, host: str = "127.0.0.1"):
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._servers = [self._listen(host), self._listen(host)]
        self.port, self.other_port = (server.server_address[1] for server in self._servers)
        self.base_url = f"http://{host}:{self.port}"
        self.alias_url = f"http://localhost:{self.port}"  # another host name, same server
        self.other_url = f"http://{host}:{self.other_port}"  # same host, another port
        self.site = build_portal()
        self.hits: list[Hit] = []
        self._scripts: dict[str, _Script] = {}
        self._attempts: Counter[tuple[int, str]] = Counter()
        self._threads: list[threading.Thread] = []

    def _listen(self, host: str) -> ThreadingHTTPServer:
        server = ThreadingHTTPServer((host, 0), _Handler)
        server.daemon_threads = True
        server.faults = self
        return server

    # --- lifecycle ------------------------------------------------------------------------
    def start(self) -> FaultServer:
        for server in self._servers:
            thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def stop(self) -> None:
        self._stopping.set()  # wakes held and slow answers
        for server in self._servers:
            server.shutdown()
            server.server_close()
        for thread in self._threads:
            thread.join(timeout=5)

    def __enter__(self) -> FaultServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # --- what tests script -------------------------------------------------------------------
    def script(self, path: str, *steps: Fault | None, then: Fault | None = None) -> None:
        """Attempt n of `path` (on the main port) gets steps[n-1]; None is the normal page.
        After the steps, every attempt gets `then` (the normal page by default). Attempts are
        counted from the server's start, per path as requested (query string included); a
        script for a bare path also applies to that path with any query string."""
        with self._lock:
            self._scripts[path] = _Script(tuple(steps), then)

    def always(self, path: str, fault: Fault) -> None:
        self.script(path, then=fault)

    def set_page(self, path: str, page: Page) -> None:
        with self._lock:
            self.site.pages[path] = page

    def url(self, path: str) -> str:
        return self.base_url + path

    def hits_for(self, path: str, port: int | None = None) -> list[Hit]:
        port = self.port if port is None else port
        with self._lock:
            return [hit for hit in self.hits if hit.path == path and hit.port == port]

    def agency(self) -> dict:
        return dict(id=AGENCY_ID, name=AGENCY, kind="department", region="示例省示范县",
                    start_year=min(REPORTS), sources=[self.url(LISTING)])

    def write_registry(self, path: str | Path) -> Path:
        """Write an agencies.yaml with this portal's agency and return its path."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        text = yaml.safe_dump({"agencies": [self.agency()]}, allow_unicode=True, sort_keys=False)
        path.write_text(text, encoding="utf-8")
        return path

    # --- serving ------------------------------------------------------------------------------
    def _arrive(self, port: int, method: str, raw_path: str, headers: dict[str, str], body: bytes) -> _Answer:
        arrived = time.monotonic()
        path_only = urlsplit(raw_path).path
        with self._lock:
            self._attempts[port, raw_path] += 1
            attempt = self._attempts[port, raw_path]
            fault = None
            if port == self.port:
                script = self._scripts.get(raw_path) or self._scripts.get(path_only)
                if script is not None:
                    fault = script.steps[attempt - 1] if attempt <= len(script.steps) else script.then
            page = self.site.pages.get(raw_path) or self.site.pages.get(path_only) or NOT_FOUND
            self.hits.append(Hit(raw_path, method, headers, attempt, arrived, port,
                                 None if fault is None else fault.name, body))
        urls = {"base": self.base_url, "alias": self.alias_url, "other": self.other_url, "path": raw_path}
        return _Answer(page, fault, urls)


class _Handler(BaseHTTPRequestHandler):
    server_version = "nginx"
    protocol_version = "HTTP/1.1"  # every answer says Connection: close and closes

    def do_GET(self):
        self._answer("GET")

    def do_POST(self):
        self._answer("POST")

    def do_HEAD(self):
        self._answer("HEAD")

    def log_message(self, format, *args):  # keep test output quiet
        pass

    @property
    def _faults(self) -> FaultServer:
        return self.server.faults

    def _answer(self, method: str) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        answer = self._faults._arrive(self.server.server_address[1], method, self.path,
                                      dict(self.headers.items()), body)
        self.close_connection = True
        try:
            self._deliver(answer, head_only=method == "HEAD")
        except (BrokenPipeError, ConnectionResetError, ConnectionAbortedError, socket.timeout):
            pass  # the client gave up (what a timeout or size limit is for); nothing to tell it

    def _deliver(self, answer: _Answer, head_only: bool) -> None:
        page, fault = answer.page, answer.fault
        if fault is None:
            self._send(self._head(page.status, page.content_type, len(page.body)), page.body, head_only)
            return
        if fault.wait and not self._pause(fault.wait, until_client_leaves=fault.delivery == "hang"):
            return
        if fault.delivery == "hang":
            return  # held without a byte of answer; the connection now closes
        code = fault.code or page.status
        ctype = fault.content_type or page.content_type
        extra = [(name, value.format(**answer.urls)) for name, value in fault.headers]
        if fault.retry_after_date is not None:
            extra.append(("Retry-After", formatdate(math.ceil(time.time() + fault.retry_after_date), usegmt=True)))
        if fault.delivery == "oversized":
            self._stream_oversized(code, ctype, extra, fault)
            return
        if fault.delivery == "gzip_bomb":
            header, block, trailer = _gzip_bomb_parts(fault.size >> 20)
            count = fault.size >> 20
            head = self._head(code, ctype, len(header) + len(block) * count + len(trailer),
                              extra + [("Content-Encoding", "gzip")])
            self.wfile.write(head + header)
            group = block * 64
            for _ in range(count // 64):
                self.wfile.write(group)
            self.wfile.write(block * (count % 64) + trailer)
            return
        body = page.body if fault.body is None else fault.body
        head = self._head(code, ctype, len(body), extra)
        if fault.delivery == "slow":
            data = head + (b"" if head_only else body)
            if not fault.slow_head:
                self.wfile.write(head)
                data = data[len(head):]
            for offset in range(len(data)):
                self.wfile.write(data[offset : offset + 1])
                if self._faults._stopping.wait(fault.byte_interval):
                    return
            return
        if fault.delivery in ("reset", "truncate"):
            self.wfile.write(head + body[: len(body) // 2])
            if fault.delivery == "reset":
                # SO_LINGER with a zero timeout: close() sends RST instead of FIN.
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                self.rfile.close()  # else the socket stays open for this file object
                self.connection.close()
            return
        self._send(head, body, head_only)

    def _head(self, code: int, content_type: str, length: int | None,
              extra: list[tuple[str, str]] = ()) -> bytes:
        lines = [f"HTTP/1.1 {code} {reason(code)}", f"Server: {self.server_version}",
                 f"Date: {formatdate(usegmt=True)}", f"Content-Type: {content_type}"]
        if length is not None:
            lines.append(f"Content-Length: {length}")
        lines += [f"{name}: {value}" for name, value in extra]
        lines.append("Connection: close")
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")

    def _send(self, head: bytes, body: bytes, head_only: bool) -> None:
        self.wfile.write(head if head_only else head + body)

    def _pause(self, seconds: float, until_client_leaves: bool) -> bool:
        """Wait; False if the server stops (or, if asked, the client hangs up) meanwhile."""
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            step = min(left, 0.05)
            if self._faults._stopping.is_set():
                return False
            if until_client_leaves:
                if self._client_left(step):
                    return False
            elif self._faults._stopping.wait(step):
                return False
        return True

    def _client_left(self, timeout: float) -> bool:
        readable, _, _ = select.select([self.connection], [], [], timeout)
        if not readable:
            return False
        try:
            return self.connection.recv(1, socket.MSG_PEEK) == b""
        except OSError:
            return True

    def _stream_oversized(self, code: int, ctype: str, extra: list, fault: Fault) -> None:
        prefix = f"<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>{report_title(2022)}</title></head><body>\n".encode()
        filler = "<p>根据《中华人民共和国政府信息公开条例》规定，现将本年度政府信息公开工作情况报告如下。</p>\n".encode() * 256
        length = fault.size if fault.declare_length else None
        self.wfile.write(self._head(code, ctype, length, extra) + prefix)
        left = fault.size - len(prefix)
        while left > 0 and not self._faults._stopping.is_set():
            chunk = filler[:left]
            self.wfile.write(chunk)
            left -= len(chunk)
