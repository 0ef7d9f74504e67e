"""Choose the charset of a Chinese portal page when its declaration cannot be trusted.

Scrapy's ``response.text`` already follows the HTTP header, the BOM and the meta tag, and maps
gb2312/gbk to gb18030 (a superset, so GBK-only characters in a page that declares gb2312 decode
fine). What it cannot know is when the declaration is wrong. Portals in the wild:

- declare gb2312/gbk and are really UTF-8 (a template was re-saved, the header was not);
- declare UTF-8 and are really GBK;
- declare nothing at all, where a statistical guess can pick a wrong legacy encoding;
- send a Western default in the HTTP header (Tomcat's `charset=ISO-8859-1` on JSP portals)
  whatever the page is: a single-byte charset decodes anything without an error, so it would
  turn Chinese into mojibake that no U+FFFD check catches.

Strict decoding is a strong test here: non-ASCII GBK text is almost never valid UTF-8, and
UTF-8 text is rarely valid GB18030 in full. So the rule is: believe the declaration unless the
bytes fail it strictly and decode strictly under the other family.
"""

from __future__ import annotations

import codecs

from w3lib.encoding import html_body_declared_encoding, http_content_type_encoding

GB_FAMILY = frozenset({"gb2312", "gbk", "gb18030", "cp936", "hz"})
# Charsets under which any byte sequence decodes: declared on a non-ASCII page, they prove
# nothing. (codecs.lookup names)
WESTERN_SINGLE_BYTE = frozenset(
    {"ascii", "latin-1", "iso8859-1", "iso8859-15", "cp1252", "cp1250", "cp1251", "iso8859-2"}
)
BOMS = (codecs.BOM_UTF8, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)


def _normalise(name: str | None) -> str | None:
    if not name:
        return None
    try:
        return codecs.lookup(name).name
    except LookupError:
        return None


def _decodes(body: bytes, encoding: str) -> bool:
    try:
        body.decode(encoding)
    except UnicodeDecodeError:
        return False
    return True


def choose_encoding(body: bytes, content_type: str | None) -> str | None:
    """The encoding to decode ``body`` with, or None to keep what Scrapy chose.

    ``content_type`` is the raw Content-Type header value (may be None).
    """
    if body.startswith(BOMS) or body.isascii():
        return None
    header = _normalise(http_content_type_encoding(content_type))
    meta = _normalise(html_body_declared_encoding(body))
    if header in WESTERN_SINGLE_BYTE:
        header = None  # a server default, not a statement about this Chinese page
    if meta in WESTERN_SINGLE_BYTE:
        meta = None
    declared = header or meta
    if declared is None:
        # Nothing trustworthy declared: Scrapy would guess; a Chinese portal page is UTF-8 or GB.
        return _guess(body)
    if declared in GB_FAMILY or (declared and declared.startswith("gb")):
        if _decodes(body, "utf-8"):
            return "utf-8"  # declared Chinese legacy charset, really UTF-8
        return "gb18030"  # a superset of gb2312/gbk: GBK-only characters decode
    if declared == "utf-8":
        if not _decodes(body, "utf-8") and _decodes(body, "gb18030"):
            return "gb18030"
        return None
    return None


def _guess(body: bytes) -> str:
    if _decodes(body, "utf-8"):
        return "utf-8"
    if _decodes(body, "gb18030"):
        return "gb18030"
    # A stray invalid byte (a truncated character, a pasted binary) must not send the whole
    # page to a decoder that turns every Chinese character into U+FFFD: take the Chinese
    # encoding under which the fewest bytes are invalid.
    return min(("utf-8", "gb18030"), key=lambda enc: body.decode(enc, errors="replace").count("\ufffd"))
