"""Charset repair: what portals declare vs what their bytes are."""

from __future__ import annotations

import pytest
from scrapy.http import HtmlResponse, Request
from scrapy.utils.test import get_crawler

from nianbao.crawler.encoding import choose_encoding
from nianbao.crawler.middlewares import EncodingRepairMiddleware

# 堃 and 镕 exist in GBK but not in GB2312; 䶮 needs GB18030's four-byte range.
TEXT = "政府信息公开工作年度报告：局长王堃、李镕"


def page(charset_meta: str | None) -> str:
    meta = f'<meta http-equiv="Content-Type" content="text/html; charset={charset_meta}">' if charset_meta else ""
    return f"<html><head>{meta}<title>年报</title></head><body><p>{TEXT}</p></body></html>"


CASES = [
    # (id, body bytes, Content-Type header, expected choose_encoding result)
    ("gb2312-declared-gbk-bytes", page("gb2312").encode("gbk"), "text/html; charset=gb2312", "gb18030"),
    ("gb2312-declared-utf8-bytes", page("gb2312").encode("utf-8"), "text/html; charset=gb2312", "utf-8"),
    ("meta-only-gbk", page("gbk").encode("gbk"), "text/html", "gb18030"),
    ("nothing-declared-gbk", page(None).encode("gbk"), "text/html", "gb18030"),
    ("nothing-declared-utf8", page(None).encode("utf-8"), None, "utf-8"),
    ("utf8-declared-gbk-bytes", page("utf-8").encode("gbk"), "text/html; charset=utf-8", "gb18030"),
    ("utf8-correct", page("utf-8").encode("utf-8"), "text/html; charset=utf-8", None),
    ("gb18030-four-byte", (page("gb18030") + "䶮").encode("gb18030"), "text/html; charset=gb18030", "gb18030"),
    ("bom-wins", b"\xef\xbb\xbf" + page("gbk").encode("utf-8"), "text/html; charset=gbk", None),
    # Tomcat's default header on a JSP portal says nothing about the page
    ("latin1-header-gb2312-meta", page("gb2312").encode("gbk"), "text/html; charset=ISO-8859-1", "gb18030"),
    ("latin1-header-utf8-body", page(None).encode("utf-8"), "text/html; charset=ISO-8859-1", "utf-8"),
    ("cp1252-meta-gbk-body", page("windows-1252").encode("gbk"), "text/html", "gb18030"),
]


@pytest.mark.parametrize("body,content_type,expected", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_choose_encoding(body, content_type, expected):
    assert choose_encoding(body, content_type) == expected


@pytest.mark.parametrize("body,content_type,expected", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_middleware_gives_clean_text(body, content_type, expected):
    url = "http://x.gov.cn/a.html"
    headers = {"Content-Type": content_type} if content_type else {}
    response = HtmlResponse(url, body=body, headers=headers, request=Request(url))
    middleware = EncodingRepairMiddleware.from_crawler(get_crawler())
    repaired = middleware.process_response(response.request, response)
    assert TEXT in repaired.text
    assert "\ufffd" not in repaired.text


def test_one_invalid_byte_does_not_lose_the_page():
    body = page(None).encode("gbk").replace("王".encode("gbk"), b"\xff")  # one stray byte
    assert choose_encoding(body, "text/html") == "gb18030"
    url = "http://x.gov.cn/a.html"
    response = HtmlResponse(url, body=body, headers={"Content-Type": "text/html"}, request=Request(url))
    repaired = EncodingRepairMiddleware.from_crawler(get_crawler()).process_response(response.request, response)
    assert "政府信息公开工作年度报告" in repaired.text and "\ufffd" not in repaired.text
    assert repaired.decoded.bad_bytes == 1 and not repaired.decoded.undecodable
