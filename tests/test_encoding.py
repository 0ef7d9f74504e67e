"""Charset repair: what portals declare vs what their bytes are."""

from __future__ import annotations

import re

import pytest
from scrapy.http import HtmlResponse, Request
from scrapy.utils.test import get_crawler

from nianbao.crawler.encoding import choose_encoding, decode_html
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


# --------------------------------------------------------------------------- decode_html

def utf8_page(*pieces: bytes) -> bytes:
    return b'<html><head><meta charset="utf-8"><title>' + "年报".encode() + b"</title></head><body>" + b"".join(pieces) + b"</body></html>"


def gbk_page(*pieces: bytes) -> bytes:
    head = '<html><head><meta charset="gb2312"><title>年度报告</title></head><body>'.encode("gbk")
    return head + b"".join(pieces) + b"</body></html>"


P1 = "根据《中华人民共和国政府信息公开条例》，现公布本机关2019年度报告。"
P2 = "全年共收到政府信息公开申请十五件，均在法定期限内答复，未发生行政复议。"
P3 = "二、主动公开情况：门户网站发布规范性文件九件，行政许可结果四十五件。"
TRAD = "三、依申請公開情況：本年度新收申請二十三件，上年結轉兩件。"

DECODE_CASES = [
    # (id, body, page charset, texts that must be in the result, nul, recovered, bad)
    ("gbk-paragraph-in-utf8", utf8_page(f"<p>{P1}</p>".encode(), f"<p>{P2}</p>".encode("gbk"), f"<p>{P3}</p>".encode()),
     "utf-8", [P1, P2, P3], 0, len(P2.encode("gbk")), 0),
    # the same class, every detail different: a table cell, traditional text, no paragraph tags
    ("traditional-gbk-cell-in-utf8", utf8_page(b"<table><tr><td>" + TRAD.encode("gbk") + b"</td><td>" + P1.encode() + b"</td></tr></table>"),
     "utf-8", [TRAD, P1], 0, len(TRAD.encode("gbk")), 0),
    ("utf8-paragraph-in-gbk", gbk_page(f"<p>{P1}</p>".encode("gbk"), f"<div>{P3}</div>\n".encode("utf-8")),
     "gb18030", [P1, P3], 0, len(P3.encode()), 0),
    # UTF-8 whose bytes are also valid GB18030: read as mojibake without the UTF-8 check
    ("utf8-valid-as-gb18030", gbk_page(f"<p>{P2}</p>".encode("gbk"), "<p>政府信息公开</p>".encode("utf-8")),
     "gb18030", [P2, "政府信息公开"], 0, len("政府信息公开".encode()), 0),
    ("nul-bytes", utf8_page(f"<p>{P1}</p>".encode().replace("条例".encode(), "条\x00例".encode()), b"\x00\x00<p>" + P2.encode() + b"</p>"),
     "utf-8", [P1, P2], 3, 0, 0),
    # a NUL between the two bytes of a GBK character
    ("nul-inside-gbk-character", gbk_page(b"<p>" + P3.encode("gbk").replace("主".encode("gbk"), b"\xd6\x00\xf7") + b"</p>"),
     "gb18030", [P3], 1, 0, 0),
    ("control-bytes", utf8_page(b"<p>\x01" + P1.encode() + b"\x1b[0m</p>"), "utf-8", [P1, "[0m"], 0, 0, 2),
    ("replacement-character-in-page", utf8_page(f"<p>{P2}\ufffd\ufffd</p>".encode()), "utf-8", [P2], 0, 0, 6),
    ("truncated-character", utf8_page(f"<p>{P1}</p>".encode(), b"<p>" + P3.encode()[:-2] + b"</p>"),
     "utf-8", [P1, P3[:-1]], 0, 0, 1),
    ("invalid-gbk-byte", gbk_page(b"<p>" + P2.encode("gbk") + b"\xff</p>"), "gb18030", [P2], 0, 0, 1),
]


@pytest.mark.parametrize("body, charset, texts, nul, recovered, bad", [c[1:] for c in DECODE_CASES],
                         ids=[c[0] for c in DECODE_CASES])
def test_decode_html_repairs(body, charset, texts, nul, recovered, bad):
    decoded = decode_html(body, charset)
    for text in texts:
        assert text in decoded.text
    assert (decoded.nul_bytes, decoded.recovered_bytes, decoded.bad_bytes) == (nul, recovered, bad)
    assert not re.search("[\x00-\x08\x0b\x0e-\x1f\ufffd\u0100-\u07ff]", decoded.text)  # no junk, no mojibake
    assert not decoded.undecodable and decoded.repaired


@pytest.mark.parametrize("body, charset", [(utf8_page(f"<p>{P1}</p>".encode()), "utf-8"),
                                           (gbk_page(f"<p>{P1}{TRAD}</p>".encode("gbk")), "gb2312")])
def test_clean_page_is_decoded_as_is(body, charset):
    decoded = decode_html(body, charset)
    assert decoded.text == body.decode("gb18030" if charset == "gb2312" else charset)
    assert not decoded.repaired and decoded.describe() is None


def non_ascii(body: bytes) -> int:
    return sum(1 for byte in body if byte >= 0x80)


@pytest.mark.parametrize("garbage, undecodable", [(400, False), (606, False), (607, True), (2000, True)])
def test_undecodable_threshold_is_half_the_checked_bytes(garbage, undecodable):
    """606 bytes of Chinese (title and text) and `garbage` bytes nobody can read (0xFF is
    invalid in UTF-8 and in GB18030): rejected once the garbage is more than half."""
    body = utf8_page(b"<p>" + ("年度报告" * 50).encode() + b"</p><p>" + b"\xff" * garbage + b"</p>")
    decoded = decode_html(body, "utf-8")
    assert decoded.bad_bytes == garbage and decoded.checked_bytes == non_ascii(body) == 606 + garbage
    assert decoded.undecodable is undecodable
    assert "年度报告" * 50 in decoded.text


def test_describe_says_what_was_repaired():
    body = utf8_page(b"<p>\x00" + P1.encode() + b"</p><p>" + P2.encode("gbk") + b"\xff</p>")
    assert decode_html(body, "utf-8").describe() == (
        f"1 of {non_ascii(body)} non-ASCII or control bytes (1%) not readable "
        f"as utf-8 or gb18030; {len(P2.encode('gbk'))} bytes read as gb18030 in a utf-8 page; 1 NUL bytes dropped"
    )


def test_repaired_response_is_still_an_html_response():
    url = "http://x.gov.cn/a.html"
    body = utf8_page(f"<p>{P1}</p>".encode(), b"<p>" + P2.encode("gbk") + b"</p>")
    response = HtmlResponse(url, body=body, headers={"Content-Type": "text/html; charset=utf-8"}, request=Request(url))
    repaired = EncodingRepairMiddleware.from_crawler(get_crawler()).process_response(response.request, response)
    assert isinstance(repaired, HtmlResponse) and repaired.body == body and repaired.encoding == "utf-8"
    assert repaired.css("p::text").getall() == [P1, P2]  # selectors see the repaired text
    # a copy with another body decodes that body, never the old text
    other = repaired.replace(body=utf8_page(b"<p>" + P3.encode("gbk") + b"\x00</p>"))
    assert other.css("p::text").getall() == [P3]
