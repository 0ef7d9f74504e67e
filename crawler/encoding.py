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

Then `decode_html` reads the page in that charset with repairs (see its section below):
`EncodingRepairMiddleware` makes it the response's text, and the pipeline records what it
could not repair.
"""

from __future__ import annotations

import codecs
import functools
import re
from dataclasses import dataclass, field

from w3lib.encoding import html_body_declared_encoding, html_to_unicode, http_content_type_encoding

from nianbao.crawler.cleanup import to_simplified

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


# --------------------------------------------------------------------------- repairing decoder
#
# Choosing one charset is not enough for every page: an editor pastes a GBK paragraph into a
# UTF-8 template, a CMS writes a NUL byte, a database returns a truncated character. Strict
# decoding would lose the page, `errors="replace"` would put U+FFFD into the report. So the
# page is decoded piece by piece: '<', '>' and '\n' never occur inside a multi-byte character
# of UTF-8 or GB18030 (continuation bytes are >= 0x30 and never '<' or '>'), so the bytes
# between them decode on their own. A piece the page's charset cannot read is read in the
# other Chinese family when that gives plausible Chinese; what neither reads is dropped and
# counted, and a page that is mostly such bytes is reported as undecodable.

UTF8 = "utf-8"
GB18030 = "gb18030"
# More than this share of a page's checked bytes (its non-ASCII and control bytes) could not be
# decoded: the body is not text in a charset we know (compressed or binary data served as
# text/html, UTF-16 without a BOM...) and the report is rejected as undecodable. Below it the
# readable part is kept and the loss recorded: a pasted binary blob or a few broken characters
# must not cost the whole report, and the report text of a real page is most of its bytes.
UNDECODABLE_SHARE = 0.5
# A piece read in the other family, or one neither family reads cleanly, is text only if at
# most this share of its non-ASCII characters are unlikely in a Chinese page (`_unlikely`).
# Measured: real simplified or traditional text well under 5%; random bytes read as GB18030
# about 60%; UTF-8 Chinese read as GB18030 (mojibake such as '鏀垮簻') far above 25%.
UNLIKELY_SHARE = 0.25

# Bytes of a GB page whose reading is checked for likely Chinese, and the fewest non-ASCII
# characters worth judging (a page of ASCII with one '·' says nothing).
_SAMPLE = 64 * 1024
_MIN_TO_JUDGE = 20
_PIECE_END = re.compile(rb"[<>\n]")
_HIGH_BYTE = re.compile(rb"[\x80-\xff]")
_HIGH_BYTES = bytes(range(0x80, 0x100))
# Never text: C0/C1 controls (not tab, newline, CR, form feed), U+FFFD (the page was already
# broken where it was made), private use (GBK's user-defined area), noncharacters, and the lone
# surrogates `surrogateescape` makes of invalid bytes.
_JUNK = re.compile("[\x00-\x08\x0b\x0e-\x1f\x7f-\x9f\ue000-\uf8ff\ufffd\ufffe\uffff\udc80-\udcff]")
_JUNK_BYTES = re.compile(rb"[\x00-\x08\x0b\x0e-\x1f\x7f]")
_PRINTABLE_ASCII = bytes(range(0x20, 0x7F)) + b"\t\n\r\f"
# Two UTF-8 encoded CJK characters in a row: the mark of a UTF-8 paragraph inside a GB page,
# whose bytes can also be valid GB18030 (and would silently become mojibake).
_UTF8_CJK_PAIR = re.compile(rb"(?:[\xe3-\xe9][\x80-\xbf]{2}){2}")


@dataclass(frozen=True)
class Decoded:
    """A page's text decoded with repairs, and what the repairs cost.

    encoding: the page's charset (the one most of it is read in). nul_bytes: NUL bytes
    dropped. recovered_bytes: bytes read in the other Chinese family (a GBK paragraph pasted
    into a UTF-8 page, or the reverse). bad_bytes: bytes dropped because nothing reads them as
    text (invalid sequences, control characters, U+FFFD, private use, garbage). checked_bytes:
    the bytes that could be bad (non-ASCII and control bytes), the base of the share.
    """

    text: str = field(repr=False)  # a repr must never carry a page
    encoding: str
    nul_bytes: int = 0
    recovered_bytes: int = 0
    bad_bytes: int = 0
    checked_bytes: int = 0

    @property
    def undecodable_share(self) -> float:
        return self.bad_bytes / self.checked_bytes if self.checked_bytes else 0.0

    @property
    def undecodable(self) -> bool:
        """Mostly undecodable: more than UNDECODABLE_SHARE of the checked bytes are bad."""
        return self.undecodable_share > UNDECODABLE_SHARE

    @property
    def repaired(self) -> bool:
        return bool(self.nul_bytes or self.recovered_bytes or self.bad_bytes)

    def describe(self) -> str | None:
        """The repairs in words ('3 NUL bytes dropped; ...'); None for a clean page."""
        other = _other_family(self.encoding)
        parts = []
        if self.bad_bytes:
            parts.append(
                f"{self.bad_bytes} of {self.checked_bytes} non-ASCII or control bytes "
                f"({self.undecodable_share:.0%}) not readable as {' or '.join(filter(None, (self.encoding, other)))}"
            )
        if self.recovered_bytes:
            parts.append(f"{self.recovered_bytes} bytes read as {other} in a {self.encoding} page")
        if self.nul_bytes:
            parts.append(f"{self.nul_bytes} NUL bytes dropped")
        return "; ".join(parts) or None


# The middleware decodes a report page, and the pipeline asks again for the counts (the spider
# hands it only the body): a few recent results are kept, so an 8 MB page of garbage is decoded
# once. The key is the body object itself (bytes cache their hash), so a hit costs nothing.
@functools.lru_cache(maxsize=4)
def decode_html(body: bytes, encoding: str) -> Decoded:
    """Decode a page in `encoding` (from `choose_encoding`, else Scrapy's choice) with repairs.

    NULs are dropped, pieces in the other Chinese family are read in it, the rest is dropped
    and counted. The text never holds U+FFFD, control or private-use characters. A clean page
    costs one strict decode.
    """
    primary = _family(encoding) or _normalise(encoding) or UTF8
    if primary == UTF8 and body.startswith(codecs.BOM_UTF8):
        body = body[len(codecs.BOM_UTF8):]
    text = _strict(body, primary)
    # GB18030 reads almost any bytes without an error (Shift_JIS, EUC-KR, UTF-8 as mojibake):
    # a GB page must also read as likely Chinese, or every piece of it is checked.
    suspect = primary == GB18030 and _implausible(body[:_SAMPLE].decode(primary, errors="ignore"))
    if text is not None and not suspect and not _JUNK.search(text) and not (
        primary == GB18030 and _UTF8_CJK_PAIR.search(body)
    ):
        return Decoded(text, primary)
    if _other_family(primary) is None:
        return _decode_single(body, primary)
    nul_bytes = body.count(b"\x00")
    body = body.replace(b"\x00", b"")  # never part of a multi-byte character in either family
    pieces = _Pieces(primary, check_likely=suspect)
    out: list[str] = []
    position = 0
    while run := _HIGH_BYTE.search(body, position):
        start = 1 + max(body.rfind(b"<", position, run.start()), body.rfind(b">", position, run.start()),
                        body.rfind(b"\n", position, run.start()), position - 1)
        end_match = _PIECE_END.search(body, run.end())
        end = end_match.start() if end_match else len(body)
        out.append(pieces.ascii(body[position:start]))
        out.append(pieces.decode(body[start:end]))
        position = end
    out.append(pieces.ascii(body[position:]))
    return Decoded("".join(out), primary, nul_bytes=nul_bytes, recovered_bytes=pieces.recovered,
                   bad_bytes=pieces.bad, checked_bytes=pieces.checked)


def decode_body(body: bytes, content_type: str | None) -> Decoded:
    """A page fetched or read outside Scrapy, decoded as the crawl decodes it: the charset
    `choose_encoding` picks, else the one Scrapy's response would use (w3lib: BOM, the HTTP
    header, the page's meta, UTF-8), then `decode_html`'s repairs."""
    encoding = choose_encoding(body, content_type) or html_to_unicode(content_type, body)[0]
    return decode_html(body, encoding)


def _decode_single(body: bytes, encoding: str) -> Decoded:
    """A charset outside the two Chinese families (UTF-16 with a BOM, a Western page): drop
    what it cannot read. Counts are in characters here (UTF-16 has no byte-level pieces)."""
    try:
        text = body.decode(encoding, errors="replace")  # some codecs lack surrogateescape
    except LookupError:
        return decode_html(body, UTF8)
    junk = _JUNK.findall(text)
    nuls = junk.count("\x00")
    clean = _JUNK.sub("", text) if junk else text
    checked = len(junk) - nuls + len(clean) - len(clean.encode("ascii", errors="ignore"))
    return Decoded(clean, encoding, nul_bytes=nuls, bad_bytes=len(junk) - nuls, checked_bytes=checked)


def _family(encoding: str) -> str | None:
    name = _normalise(encoding) or encoding
    if name == UTF8:
        return UTF8
    if name in GB_FAMILY or name.startswith("gb"):
        return GB18030
    return None


def _other_family(encoding: str) -> str | None:
    return {UTF8: GB18030, GB18030: UTF8}.get(_family(encoding) or "")


def _strict(data: bytes, encoding: str) -> str | None:
    try:
        return data.decode(encoding)
    except UnicodeDecodeError:
        return None


def _implausible(text: str) -> bool:
    """More than UNLIKELY_SHARE of the non-ASCII characters are unlikely (and there are
    enough of them to judge)."""
    chars = len(text) - len(text.encode("ascii", errors="ignore"))
    return chars >= _MIN_TO_JUDGE and _unlikely(text) > UNLIKELY_SHARE * chars


def _unlikely(text: str) -> int:
    """Characters of `text` unlikely in a Chinese government page: not in GB2312 once
    converted to simplified. GB2312 holds ASCII, the 6,763 common hanzi, CJK punctuation,
    full-width forms, Greek, Cyrillic, kana and pinyin letters; random bytes read as GB18030
    mostly fall outside it, traditional text falls inside it after t2s."""
    simplified = to_simplified(text)
    return simplified.encode("gb2312", errors="replace").count(b"?") - simplified.count("?")


class _Pieces:
    """Decodes the pieces of one page and keeps the counts."""

    def __init__(self, primary: str, check_likely: bool = False):
        self.primary = primary
        self.other = _other_family(primary)
        self.check_likely = check_likely  # pieces valid in the page's charset are checked too
        self.recovered = self.bad = self.checked = 0

    def ascii(self, data: bytes) -> str:
        """An ASCII stretch between pieces: control bytes are dropped (and are bad)."""
        junk = len(_JUNK_BYTES.findall(data))
        if junk:
            self.bad += junk
            self.checked += junk
            data = _JUNK_BYTES.sub(b"", data)
        return data.decode("ascii")

    def decode(self, piece: bytes) -> str:
        checked = len(piece.translate(None, _PRINTABLE_ASCII))
        self.checked += checked
        text = _strict(piece, self.primary)
        if (text is not None and not _JUNK.search(text) and not self._utf8_in_gb_page(piece)
                and not (self.check_likely and _implausible(text))):
            return text
        readings = [_Reading(piece, enc) for enc in (self.primary, self.other)]
        if min(r.bad for r in readings) > UNLIKELY_SHARE * checked:
            return self._garbage(piece, checked)  # skip the costlier likelihood test
        best = min(readings, key=lambda r: r.badness)  # the page's charset on a tie
        if best.unlikely > UNLIKELY_SHARE * best.non_ascii:
            return self._garbage(piece, checked)
        self.bad += best.bad
        if best.encoding != self.primary:
            self.recovered += len(piece) - best.bad
        return best.text

    def _garbage(self, piece: bytes, checked: int) -> str:
        """Neither family gives Chinese: random bytes, not a paragraph in the other charset.
        Only its printable ASCII is kept."""
        self.bad += checked
        return _JUNK_BYTES.sub(b"", piece.translate(None, _HIGH_BYTES)).decode("ascii")

    def _utf8_in_gb_page(self, piece: bytes) -> bool:
        """A piece of a GB page that is valid UTF-8 with CJK in it is UTF-8 pasted in (GBK text
        is almost never valid UTF-8), even when its bytes are also valid GB18030."""
        return (self.primary == GB18030 and _UTF8_CJK_PAIR.search(piece) is not None
                and _strict(piece, UTF8) is not None)


class _Reading:
    """`piece` read in `encoding`: its text without junk, the junk's bytes, and (computed
    when asked, it costs a t2s conversion) how many characters are unlikely."""

    def __init__(self, piece: bytes, encoding: str):
        self.encoding = encoding
        self._raw = piece.decode(encoding, errors="surrogateescape")
        self._junk = "".join(_JUNK.findall(self._raw))
        self.bad = len(self._junk.encode(encoding, errors="surrogateescape")) if self._junk else 0

    @functools.cached_property
    def text(self) -> str:
        return _JUNK.sub("", self._raw) if self._junk else self._raw

    @property
    def non_ascii(self) -> int:
        return len(self.text) - len(self.text.encode("ascii", errors="ignore"))

    @functools.cached_property
    def unlikely(self) -> int:
        return _unlikely(self.text)

    @property
    def badness(self) -> int:
        return self.bad + 2 * self.unlikely  # an unlikely character is about two bytes
