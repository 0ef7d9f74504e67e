"""Article page (decoded HTML text) -> the report's text, title, year, date, kind, attachments.

Strategy, and why:

1. Parse once with lxml (input is already-decoded ``str``: trafilatura's own byte decoding
   turned real GB18030 pages into mojibake) and drop ``<rt>``/``<rp>`` ruby annotations.
   libxml2 silently drops what lies deeper than 256 elements (or beyond a 10 MB text or
   attribute): then the page is flattened (``crawler.flatten``) and parsed again, or rejected
   with the reason; a page of more than ``MAX_ELEMENTS`` elements is rejected. libxml2 also
   ends the document at an early ``</html>`` (a server-side include closing its own document)
   and puts the rest, often the whole body, in further top-level trees that element walks
   never see: ``flatten.adopt_trailing_trees`` moves them into the body, so every strategy
   below sees the whole document.
2. **CMS body container first.**  Government CMSs say where the body is: Hanweb's
   ``<!--ZJEG_RSS.content.begin-->``...``end`` markers, TRS ``.TRS_Editor`` and friends
   (``CONTAINERS`` below).  When one holds real text it wins: its boundaries are exact and
   our own DOM renderer keeps every statistics table row on one line (``a | b | c``, spanned
   cells padded so columns stay aligned), which generic extractors do not (trafilatura puts
   one cell per line on some pages and keeps chrome such as the Hanweb title line).
3. **trafilatura** (``include_tables=True``, comments off, recall-leaning) runs when there is
   no container, or when the container is so short that it may be a stub, on pages of at most
   ``TRAFILATURA_MAX_ELEMENTS`` elements (it is quadratic on some shapes); it replaces a short
   container only if it contains the container's text and is much longer.  Its output is
   checked: if it is mostly link texts (the header-nav failure: '首页 | 简 | 繁 | EN | 登录')
   or tiny next to the page's densest text block, it is rejected; if it is the densest block
   plus lines of nothing but link texts (a table-layout page kept whole), the block wins.
4. **Text density** (the GNE idea, no dependency): the element whose ``<p>``/text children
   carry the most non-link text, rendered with our renderer, unless it is mostly link text.
   Nothing else is ever returned: navigation is not a report's text. "Mostly link texts"
   (``_link_share``) is checked on every strategy's result, containers included: lines or
   pieces that are the page's link texts, also run together without separators.
5. ``cleanup.clean`` removes portal chrome (also a document's metadata block and a repost's
   disclaimer) and converts to simplified; the title line is removed from the top/bottom;
   U+FFFD anywhere in the result is a decoding defect and raises ``ExtractionError``, as does
   an empty result without attachments. A text that was nothing but a metadata block (and
   links) is a placeholder: the page's body is empty, the report has no text of its own
   (method ``placeholder:metadata``, empty text, the attachments kept).

Every decision is said in ``Extracted.reasons`` (``nianbao extract`` prints them).

Metadata comes from the same tree: title from ``ArticleTitle``-like metas, a real ``<h1>``,
then ``<title>`` without the site-name part; every date the page and its listing give
(``crawler.dates``: the printed date beats the meta, a date of writing comes last, never the
URL), with the one that counts and its basis; year and kind via ``classify``; the issuer the
title or the first lines name (``crawler.issuer``).

``EXTRACTOR_VERSION`` is stored with every version's text. Bump it whenever a change alters
what extraction produces for pages already stored (text, title, dates, issuer, kind, year):
each crawl then re-extracts the stored raw page of every report it meets, and
``nianbao reextract`` all of them, as a re-extraction of the same source, never as a
``changed`` report. History:

1. everything before versions recorded it (every version stored before migration m007);
2. the printed date beats a meta date, every date candidate kept with its basis; the issuer;
   a title naming neither a year nor an agency is a column, not an annual report;
3. the whole document is read after an early </html>, link-text results are refused, a
   metadata block is no body (placeholder pages have no text of their own), repost
   disclaimers and aggregator chrome go, listing titles are normalised like body text;
4. the standard statistical tables and prose figures are read with each version
   (crawler/stats: report_stats, report_checks; the text itself is unchanged);
5. documents are read (crawler/documents): a file-only report's text is its file's, an
   article that only points at its attachment ("详见附件") takes the attachment's text, one
   with a text of its own gets each attachment's text after it under 【附件：name】.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import parse_qsl, urljoin, urlsplit

import lxml.etree
import lxml.html
import trafilatura
from lxml.cssselect import CSSSelector

from nianbao.crawler import classify, dates
from nianbao.crawler.cleanup import clean, clean_text, normalize_chars, normalize_title
from nianbao.crawler.flatten import adopt_trailing_trees, cap_depth

__all__ = ["Extracted", "ExtractionError", "extract_report", "attachment_links", "table_rows", "CONTAINERS", "ATTACHMENT_EXTENSIONS",
           "EXTRACTOR_VERSION"]

# What extraction produces, as a number stored with each version (see the module docstring).
EXTRACTOR_VERSION = 5


@dataclass(frozen=True)
class Extracted:
    title: str
    text: str
    year: int | None
    published_date: str | None
    kind: str
    attachments: tuple[str, ...]
    method: str
    # year attribution evidence (see classify.attribute_year): the title's year, the text's
    # statistics-period year, and which one `year` was taken from
    title_year: int | None = None
    text_year: int | None = None
    year_basis: str | None = None
    # why `method` won and what the other strategies did, in words (`nianbao extract` shows it)
    reasons: tuple[str, ...] = ()
    # where published_date came from ('printed', 'meta', 'listing', 'written'; None without a
    # date) and every date candidate the page and its listing gave (crawler.dates)
    published_basis: str | None = None
    date_evidence: tuple[dates.DateEvidence, ...] = ()
    # the issuer the title or the text's first lines name; None: none named (the host's)
    issuer: str | None = None
    # the statistics read from the page and its text (crawler.stats: storage Figure and
    # StatCheck records), added by crawler.report_extract
    figures: tuple = ()
    checks: tuple = ()


class ExtractionError(Exception):
    """No usable text could be extracted; the message says why."""


# --------------------------------------------------------------------------- constants

# known CMS body containers, most specific first
CONTAINERS = (
    ".TRS_Editor",
    ".TRS_UEDITOR",
    ".trs_editor_view",
    "#UCAP-CONTENT",
    ".xxgk_content",
    ".Article_content",
    "#zoom",
    ".main-txt",
)
_CONTAINER_SELECTORS = tuple((css, CSSSelector(css)) for css in CONTAINERS)
HANWEB_BEGIN = "ZJEG_RSS.content.begin"
HANWEB_END = "ZJEG_RSS.content.end"

ATTACHMENT_EXTENSIONS = (".pdf", ".doc", ".docx", ".wps", ".ofd", ".xls", ".xlsx", ".zip", ".rar")
# links inside page chrome (header, navigation, menus, footer) are not the report's attachments
_CHROME_ANCESTOR = lxml.etree.XPath(
    "ancestor::nav or ancestor::header or ancestor::footer or ancestor::*["
    + " or ".join(
        f"contains(translate(@{attr}, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz'), '{word}')"
        for attr in ("class", "id")
        for word in ("header", "footer", "nav", "menu")
    )
    + "]"
)

_SKIP_TAGS = frozenset({"script", "style", "noscript", "template", "rt", "rp", "select", "option",
                        "textarea", "button", "input", "iframe", "object", "embed", "head", "title"})
_BLOCK_TAGS = frozenset({"p", "div", "li", "ul", "ol", "dl", "dt", "dd", "h1", "h2", "h3", "h4", "h5",
                         "h6", "tr", "table", "tbody", "thead", "tfoot", "section", "article", "main",
                         "aside", "blockquote", "pre", "center", "form", "hr", "address", "figure",
                         "figcaption", "caption", "header", "footer", "nav", "td", "th", "body"})

_NOT_CONTENT = re.compile(r"[^\u3400-\u9fff\uf900-\ufaff0-9A-Za-z]+")
_WS = re.compile(r"[ \t\r\n\f\v]+")
_XML_DECLARATION = re.compile(r"^\s*<\?xml[^>]*\?>")

SHORT_CONTAINER = 200      # content chars below which a container may be a stub
TRAFILATURA_GAIN = 3.0     # trafilatura must be this many times longer to beat a short container
NAV_LINK_SHARE = 0.5       # share of link text above which a text is navigation
DENSITY_MIN = 30           # content chars a density block needs
# Lines of nothing but link texts making up this share of trafilatura's text: it kept the
# page's navigation (a table-layout page), and the densest block inside it is the body.
CHROME_LINES_SHARE = 0.05
MAX_SPAN = 50
MAX_COLUMNS = 64           # a table row is padded with spanned cells up to this width, no wider
# Hostile or broken pages (see tests/test_hostile_pages.py for the measured times):
# trafilatura is quadratic on some shapes (a row of 100,000 cells took 14 s), so a page with
# more elements than this is left to the container and density strategies, which are linear.
# Real report pages have a few thousand elements; the largest seen has 1,351.
TRAFILATURA_MAX_ELEMENTS = 20_000
# ... and so is a page nested deeper than this (its recall pass walks every element's
# descendants: 3,000 unclosed list items, flattened to depth 200, took 4 s). Real pages: < 40.
TRAFILATURA_MAX_DEPTH = 100
_TOO_DEEP_FOR_TRAFILATURA = lxml.etree.XPath(f"boolean(//*[count(ancestor::*) > {TRAFILATURA_MAX_DEPTH}])")
# More elements than this is not a report page (a table of 100,000 rows, a hostile page); every
# step after parsing is linear in the elements, so this bounds their time. Ten times the
# largest report page imaginable.
MAX_ELEMENTS = 200_000
# A page is flattened to this depth when lxml hit its nesting limit (256); see crawler.flatten.
FLATTEN_DEPTH = 200
MAX_ATTACHMENTS = 200      # a page linking more documents than this is a listing, not a report


def _content_len(text: str) -> int:
    return len(_NOT_CONTENT.sub("", text))  # findall would build a list of every character


# --------------------------------------------------------------------------- rendering


def _render_children(el: lxml.html.HtmlElement, out: list[str]) -> None:
    """Append the element's text and its children's (not its own block edges)."""
    _render_from([("children", el)], out)


def _render(el, out: list[str]) -> None:
    """Append the element's text (not its tail) to ``out``, with '\n' at block edges."""
    _render_from([("element", el)], out)


def _render_from(stack: list, out: list[str]) -> None:
    """Depth-first rendering with an explicit stack: a deeply nested page must not hit
    Python's recursion limit. Items: ("element", el), ("children", el) or ("text", str)."""
    while stack:
        kind, item = stack.pop()
        if kind == "text":
            out.append(item)
            continue
        if kind == "element":
            tag = item.tag
            if not isinstance(tag, str):  # comment or processing instruction
                continue
            tag = tag.lower()
            if tag in _SKIP_TAGS:
                continue
            if tag == "br":
                out.append("\n")
                continue
            if tag == "table" and _is_data_table(item):
                out.append("\n")
                for row in _table_rows(item):
                    out.append(row)
                    out.append("\n")
                continue
            if tag in _BLOCK_TAGS:
                out.append("\n")
                stack.append(("text", "\n"))
        if item.text:
            out.append(_WS.sub(" ", item.text))
        for child in reversed(item):  # pushed in reverse: popped in document order
            if child.tail:
                stack.append(("text", _WS.sub(" ", child.tail)))
            stack.append(("element", child))


def _render_element(el) -> str:
    out: list[str] = []
    _render(el, out)
    return "".join(out)


def _cell_text(cell) -> str:
    out: list[str] = []
    _render_children(cell, out)
    return _WS.sub(" ", " ".join("".join(out).split("\n"))).strip()


# Python loops, not XPath unions ('./tr|./tbody/tr'): libxml2 merges union node sets in
# quadratic time, which a table of 100,000 rows turns into minutes.
def table_rows(table) -> list:
    """The <tr> of a table, its own only (not those of tables inside it), head and body."""
    rows = []
    for child in table.iterchildren("tr", "thead", "tbody", "tfoot"):
        if child.tag == "tr":
            rows.append(child)
        else:
            rows.extend(child.iterchildren("tr"))
    return rows


def _cells(row) -> list:
    return list(row.iterchildren("td", "th"))


def _is_data_table(table) -> bool:
    """A grid of short cells (statistics), not a layout table holding blocks or tables."""
    if next(table.iterdescendants("table"), None) is not None:
        return False
    rows = table_rows(table)
    if not rows:
        return False
    widest = max(len(_cells(row)) for row in rows)
    if widest < 2:
        return False
    return all(len(cell.text_content()) <= 300 for cell in table.iter("td", "th"))


def _span(cell, name: str) -> int:
    try:
        return max(1, min(MAX_SPAN, int((cell.get(name) or "1").strip())))
    except ValueError:
        return 1


def _table_rows(table) -> list[str]:
    """One line per row, cells joined by ' | '; spanned positions are empty cells."""
    pending: dict[int, int] = {}  # column -> rows still covered by a rowspan from above
    lines: list[str] = []
    for row in table_rows(table):
        cells: list[str] = []
        col = 0

        def fill_spanned() -> None:
            nonlocal col
            while pending.get(col, 0) > 0:
                pending[col] -= 1
                cells.append("")
                col += 1

        for cell in _cells(row):
            fill_spanned()
            # Spans pad the row with empty cells up to MAX_COLUMNS and no further: without
            # the cap, 20,000 rows of colspan/rowspan=50 made 100 MB of ' | ' from a 1 MB page.
            colspan = min(_span(cell, "colspan"), max(1, MAX_COLUMNS - col))
            rowspan = _span(cell, "rowspan")
            cells.append(_cell_text(cell))
            cells.extend([""] * (colspan - 1))
            for c in range(col, min(col + colspan, MAX_COLUMNS)):
                pending[c] = rowspan - 1
            col += colspan
        fill_spanned()
        for c in pending:
            if c >= col and pending[c] > 0:
                pending[c] -= 1
        while cells and not cells[-1]:
            cells.pop()
        if cells:
            lines.append(" | ".join(cells))
    return lines


# --------------------------------------------------------------------------- strategies


def _hanweb_text(tree) -> str | None:
    """Text between the Hanweb ZJEG_RSS markers (siblings of the begin comment)."""
    # iter(), not XPath '//comment()[contains(...)]': its node-set merge is quadratic in the
    # number of comments (50,000 comments took 18 s)
    begin = next((c for c in tree.iter(lxml.etree.Comment) if HANWEB_BEGIN in (c.text or "")), None)
    if begin is None:
        return None
    out: list[str] = []
    if begin.tail:
        out.append(_WS.sub(" ", begin.tail))
    node = begin.getnext()
    while node is not None:
        if not isinstance(node.tag, str) and HANWEB_END in (node.text or ""):
            break
        _render(node, out)
        if node.tail:
            out.append(_WS.sub(" ", node.tail))
        node = node.getnext()
    return "".join(out)


def _container_text(tree, links: _Links, reasons: list[str]) -> tuple[str, str] | None:
    """(method, raw text) of the best known container, or None. A container whose text is
    mostly the page's link texts is navigation (a CMS reuses its class for a menu): skipped."""
    hanweb = _hanweb_text(tree)
    if hanweb is not None and _content_len(hanweb) > 0:
        if not _is_navigation(hanweb, links, "container:ZJEG_RSS", reasons):
            return "container:ZJEG_RSS", hanweb
    found: list[tuple[str, str, int]] = []
    for css, selector in _CONTAINER_SELECTORS:
        best = None
        for el in selector(tree):
            text = _render_element(el)
            size = _content_len(text)
            if size and (best is None or size > best[2]):
                best = (f"container:{css}", text, size)
        if best and not _is_navigation(best[1], links, best[0], reasons):
            found.append(best)
    if not found:
        return None
    largest = max(size for _, _, size in found)
    # the most specific container unless it is only a fragment of a bigger one
    for method, text, size in found:
        if size >= 0.5 * largest:
            return method, text
    return None  # pragma: no cover


def _trafilatura_text(tree, url: str) -> str | None:
    return trafilatura.extract(
        tree,
        url=url,
        output_format="txt",
        include_tables=True,
        include_comments=False,
        include_images=False,
        include_links=False,
        favor_recall=True,
        deduplicate=False,
        with_metadata=False,
    )


# Link texts longer than this are matched only whole; shorter ones may also make up a line
# run together ('首页简繁EN登录个人中心': the separators were spans or nothing).
_RUN_LINK_MAX = 40
_RUN_LINE_MAX = 80
LINK_RUN_COVER = 0.75
_PIECES = re.compile(r"[|｜\s]+")
_BARS = re.compile(r"[|｜]")
_DIGITS = re.compile(r"\d+")


class _Links:
    """The page's link texts, squashed, indexed for `_made_of_links`: navigation evidence.
    Not document links (a report that is one attachment link is not navigation) and not page
    numbers (a table of numbers is not navigation either)."""

    def __init__(self, texts: set[str]):
        self.texts = texts
        self.chars = frozenset("".join(texts))
        self.sizes = {text: _content_len(text) for text in texts if len(text) <= _RUN_LINK_MAX}
        lengths: dict[str, set[int]] = {}
        for text in self.sizes:
            lengths.setdefault(text[0], set()).add(len(text))
        self.lengths = {first: tuple(sorted(found)) for first, found in lengths.items()}
        self.known: dict[str, bool] = {}  # _made_of_links' answers: strategies ask about the same lines

    def __contains__(self, text: str) -> bool:
        return text in self.texts


def _link_texts(tree) -> _Links:
    texts = set()
    for a in tree.iter("a"):
        text = _squash(a.text_content())
        if text and not _DIGITS.fullmatch(text) and not _is_document((a.get("href") or "").strip()):
            texts.add(text)
    return _Links(texts)


def _squash(text: str) -> str:
    return _WS.sub("", text)


def _made_of_links(text: str, links: _Links) -> bool:
    """`text` (no whitespace) is link texts of the page: whole, or (a short line) at least
    LINK_RUN_COVER of it is link texts one after another ('欢迎访问首页简繁EN登录个人中心': the
    separators were spans or nothing). Only content characters are counted."""
    if text in links:
        return True
    if len(text) > _RUN_LINE_MAX:
        return False
    known = links.known.get(text)
    if known is None:
        known = links.known[text] = _covered_by_links(text, links)
    return known


def _covered_by_links(text: str, links: _Links) -> bool:
    size = _content_len(text)
    # characters that occur in no link text cannot be covered: most body lines stop here
    if not size or sum(map(links.chars.__contains__, text)) < LINK_RUN_COVER * size:
        return False
    covered = [0] * (len(text) + 1)  # most content characters of text[:i] in link texts
    for start in range(len(text)):
        here = covered[start]
        if here > covered[start + 1]:
            covered[start + 1] = here
        for length in links.lengths.get(text[start], ()):
            end = start + length
            if end > len(text):
                break
            piece = text[start:end]
            if piece in links.sizes and here + links.sizes[piece] > covered[end]:
                covered[end] = here + links.sizes[piece]
    return covered[-1] >= LINK_RUN_COVER * size


def _link_share(text: str, links: _Links) -> float:
    """Share of the text's content characters that are link texts of the page: whole lines,
    pieces between '|' or spaces, or link texts run together."""
    total = linked = 0
    for line in text.split("\n"):
        size = _content_len(line)
        if not size:
            continue
        total += size
        if _made_of_links(_squash(_BARS.sub("", line)), links):
            linked += size
            continue
        pieces = _PIECES.split(line)
        if len(pieces) > 1:
            linked += sum(_content_len(piece) for piece in pieces if piece and _made_of_links(piece, links))
    return linked / total if total else 1.0


def _is_navigation(text: str, links: _Links, method: str, reasons: list[str]) -> bool:
    share = _link_share(text, links)
    if share >= NAV_LINK_SHARE:
        reasons.append(f"{method} rejected: {share:.0%} of its text is the page's link texts (navigation)")
        return True
    return False


def _density_block(tree):
    """The element whose own paragraphs and text carry the most non-link text."""
    scores: dict = {}
    for p in tree.iter("p", "br"):
        parent = p.getparent()
        if parent is None:
            continue
        if p.tag == "p":
            size = _content_len(p.text_content()) - sum(_content_len(a.text_content()) for a in p.iter("a"))
        else:
            size = _content_len(p.tail or "")
        scores[parent] = scores.get(parent, 0) + max(size, 0)
    for el, _ in list(scores.items()):
        scores[el] += _content_len(el.text or "")
    if not scores:
        return None, 0
    best = max(scores, key=scores.get)
    return best, scores[best]


def _link_density(el) -> float:
    """Share of the element's content characters that are link text."""
    total = _content_len(el.text_content())
    linked = sum(_content_len(a.text_content()) for a in el.iter("a"))
    return linked / total if total else 1.0


def _looks_like_nav(text: str, links: _Links, density_size: int, reasons: list[str]) -> bool:
    if _is_navigation(text, links, "trafilatura", reasons):
        return True
    size = _content_len(text)
    if size < DENSITY_MIN and density_size > 4 * max(size, 1):
        reasons.append(f"trafilatura rejected: {size} characters next to a text block of {density_size}")
        return True
    return False


def _link_lines_share(text: str, links: _Links) -> float:
    """Share of the text's content in lines made only of the page's link texts."""
    total = linked = 0
    for line in text.split("\n"):
        size = _content_len(line)
        if not size:
            continue
        total += size
        pieces = [piece for piece in _PIECES.split(line) if piece]
        if _made_of_links(_squash(_BARS.sub("", line)), links) or (
                len(pieces) > 1 and all(_made_of_links(piece, links) or not _content_len(piece) for piece in pieces)):
            linked += size
    return linked / total if total else 0.0


def _density_inside(extracted: str, density_el, density_size: int, links: _Links) -> str | None:
    """The densest block's text when trafilatura's text is that block plus page chrome.

    On table-layout pages trafilatura keeps the layout table whole: the header navigation, the
    menus and the footer around the body, the body's paragraphs glued into one line. Lines of
    nothing but the page's link texts mark it; the densest block, found inside that text, is
    the body without them."""
    if density_el is None or density_size < DENSITY_MIN or _link_density(density_el) >= NAV_LINK_SHARE:
        return None
    if _link_lines_share(extracted, links) < CHROME_LINES_SHARE:
        return None
    dense = _render_element(density_el)
    around = _squash(clean_text(extracted))
    lines = [_squash(line) for line in clean_text(dense).split("\n")]
    if not all(line in around for line in lines):
        return None
    return dense


def _choose_text(tree, url: str, reasons: list[str]) -> tuple[str, str]:
    """(method, raw text) following the module strategy; `reasons` gets why."""
    links = _link_texts(tree)
    container = _container_text(tree, links, reasons)
    if container and _content_len(container[1]) >= SHORT_CONTAINER:
        reasons.append(f"{container[0]}: {_content_len(container[1])} characters, a known CMS body container")
        return container
    if container:
        reasons.append(f"{container[0]}: only {_content_len(container[1])} characters, maybe a stub")
    density_el, density_size = _density_block(tree)
    tractable = _element_count(tree) <= TRAFILATURA_MAX_ELEMENTS and not _TOO_DEEP_FOR_TRAFILATURA(tree)
    if not tractable:
        reasons.append("trafilatura not run: the page is too large or too deep for it")
    extracted = _trafilatura_text(tree, url) if tractable else None
    if extracted and not _looks_like_nav(extracted, links, density_size, reasons):
        if container is None:
            dense = _density_inside(extracted, density_el, density_size, links)
            if dense is not None:
                reasons.append(f"trafilatura kept the page's navigation around the densest block "
                               f"(<{density_el.tag}>, {density_size} characters): density wins")
                return "density", dense
            reasons.append(f"trafilatura: {_content_len(extracted)} characters, no known container")
            return "trafilatura", extracted
        if _squash(clean_text(container[1])) in _squash(clean_text(extracted)) and (
            _content_len(extracted) >= TRAFILATURA_GAIN * _content_len(container[1])
        ):
            if _link_lines_share(extracted, links) >= CHROME_LINES_SHARE:
                # What trafilatura adds around a short container is the page's links (a
                # correction that says 详见附件 in a page of navigation): the container wins.
                reasons.append("trafilatura: longer only by the page's link texts; the container wins")
            else:
                reasons.append("trafilatura: contains the short container's text and is much longer")
                return "trafilatura", extracted
    if container:
        return container
    if density_el is not None and density_size >= DENSITY_MIN:
        if _link_density(density_el) < NAV_LINK_SHARE:
            text = _render_element(density_el)
            if not _is_navigation(text, links, "density", reasons):
                reasons.append(f"density: the <{density_el.tag}> whose paragraphs carry {density_size} characters")
                return "density", text
        else:
            reasons.append("density rejected: its densest block is mostly links")
    # What is left is navigation (trafilatura's text failed the checks above) or nothing:
    # never the report's text.
    reasons.append("no strategy found body text")
    return "none", ""


# --------------------------------------------------------------------------- metadata

_TITLE_METAS = ("articletitle", "og:title", "dc.title", "title")
_TITLE_SEPARATORS = re.compile(r"\s*(?:_|\||｜|--|—+|\s-\s|\s－\s)\s*")
_HYPHEN_SUFFIX = re.compile(r"[-－]\s*([^-－]{2,40})$")
_SITE_WORDS = re.compile(r"(?:人民政府|政府网|门户网站?|网站|官网|政务网|信息公开网?|首页)$")


def _clean_title(text: str) -> str:
    return normalize_title(text or "")  # the same as listing titles get (listings.model.Entry)


def _meta_title(tree) -> str | None:
    metas = {}
    for meta in tree.iter("meta"):
        key = (meta.get("name") or meta.get("property") or "").strip().lower()
        if key in _TITLE_METAS and key not in metas and (meta.get("content") or "").strip():
            metas[key] = meta.get("content")
    for key in _TITLE_METAS:
        if key in metas:
            return metas[key]
    return None


def _site_name(tree) -> str:
    for meta in tree.iter("meta"):
        if (meta.get("name") or "").lower() == "sitename":
            return _clean_title(meta.get("content") or "")
    return ""


def _h1_title(tree, site: str) -> str | None:
    for h1 in tree.iter("h1"):
        if h1.xpath("ancestor::a") or h1.xpath(".//a[@href='/' or @href='./' or @href='index.html']"):
            continue  # a logo
        text = _clean_title(h1.text_content())
        if len(text) >= 4 and text != site and not _SITE_WORDS.search(text):
            return text
    return None


def _document_title(tree, site: str) -> str | None:
    node = tree.find(".//title")
    if node is None or not (node.text_content() or "").strip():
        return None
    text = _clean_title(node.text_content())
    pieces = [p for p in _TITLE_SEPARATORS.split(text) if p]
    kept = [p for p in pieces if not _is_site_name(p, site)]
    best = max(kept or pieces, key=len)
    # '标题-某某县人民政府': a bare hyphen is split off only when a site name follows it
    suffix = _HYPHEN_SUFFIX.search(best)
    if suffix and _is_site_name(suffix.group(1), site):
        best = best[: suffix.start()].strip()
    return best or None


def _is_site_name(piece: str, site: str) -> bool:
    return piece == site or bool(site and piece in site) or _SITE_WORDS.search(piece) is not None


def _title(tree, listing_title: str | None) -> str:
    site = _site_name(tree)
    title = ""
    for candidate in (_meta_title(tree), _h1_title(tree, site), _document_title(tree, site)):
        text = _clean_title(candidate or "")
        if text and text != site:
            title = text
            break
    listed = _clean_title(listing_title or "")
    # The page's title can be the site's name or a generic heading ('示例市人民政府',
    # '…门户网站') while the listing named the report: a whole listed title that reads as an
    # annual report wins over a page title that does not.
    if listed and (
        not title
        or (
            classify.classify_title(title) != classify.ANNUAL_REPORT
            and classify.classify_title(listed) == classify.ANNUAL_REPORT
            and not _TRUNCATED_TITLE.search(listed)
        )
    ):
        return listed
    return title


_TRUNCATED_TITLE = re.compile(r"(?:\.{2,}|…+)$")


def _attachments(tree, url: str) -> tuple[str, ...]:
    base = url
    base_el = tree.find(".//base[@href]")
    if base_el is not None:
        base = _join(url, base_el.get("href").strip()) or url
    seen: dict[str, None] = {}
    for a in tree.iter("a"):
        href = (a.get("href") or "").strip()
        if not href or href.lower().startswith(("javascript:", "mailto:", "#")):
            continue
        if not _is_document(href) or _CHROME_ANCESTOR(a):
            continue
        joined = _join(base, href)
        if joined:
            seen.setdefault(joined, None)
            if len(seen) >= MAX_ATTACHMENTS:
                break
    return tuple(seen)


def attachment_links(html: str, url: str) -> tuple[str, ...]:
    """The document links of an article page (absolute, in page order, page chrome left
    out), as `Extracted.attachments` lists them; for the spider, which fetches them before
    the page is extracted. A page the parser refuses has none."""
    if isinstance(html, str) and not _DOCUMENT_IN_PAGE.search(html):
        # No href could name a document: most report pages link none, and this runs on the
        # crawl's thread, where a parse costs as much as the rest of the page's checks.
        return ()
    try:
        tree = _parse(html, [])
    except (ExtractionError, TypeError):
        return ()
    return _attachments(tree, url)


def _join(base: str, href: str) -> str | None:
    """urljoin, or None for a link it cannot parse ('http://[::1/x'): skip it, keep the page."""
    try:
        return urljoin(base, href)
    except ValueError:
        return None


_DOCUMENT_HINT = re.compile(r"\.(?:pdf|docx?|wps|ofd|xlsx?|zip|rar)(?![a-z0-9])", re.I)
# The same in a page's source, where the dot may be written as a character reference.
_DOCUMENT_IN_PAGE = re.compile(r"(?:\.|&#0*46;|&#x0*2e;|&period;)(?:pdf|docx?|wps|ofd|xlsx?|zip|rar)(?![a-z0-9])", re.I)


def _is_document(href: str) -> bool:
    if not _DOCUMENT_HINT.search(href):  # cheap test first: portals have hundreds of links
        return False
    try:
        parts = urlsplit(href)
    except ValueError:  # unparseable link: not an attachment we could fetch
        return False
    if parts.path.lower().endswith(ATTACHMENT_EXTENSIONS):
        return True
    return any(v.lower().endswith(ATTACHMENT_EXTENSIONS) for _, v in parse_qsl(parts.query))


# --------------------------------------------------------------------------- entry point


# Characters libxml2 must not see: it turns NUL into U+FFFD, and control characters are not
# text. crawler.encoding already drops them from pages it decodes; this covers other callers.
_CONTROL = re.compile("[\x00-\x08\x0b\x0e-\x1f\x7f]")


def _parse(html: str, reasons: list[str]):
    if not isinstance(html, str):
        raise TypeError("extract_report takes decoded text, not bytes")
    html = _CONTROL.sub("", _XML_DECLARATION.sub("", html, count=1))
    if not html.strip():
        raise ExtractionError("empty page")
    tree, limit = _parse_once(html, huge=False)
    if limit:
        # libxml2 stopped at a resource limit (depth 256, or a text or attribute over 10 MB)
        # and silently dropped the rest: what is left is often only the navigation. Cap the
        # depth and parse again without the size limits; if that still fails, say so.
        flattened, _ = cap_depth(html, FLATTEN_DEPTH)
        reasons.append(f"parsed again flattened to depth {FLATTEN_DEPTH} (libxml2: {limit})")
        tree, limit = _parse_once(flattened, huge=True)
        if limit:
            raise ExtractionError(f"page exceeds the HTML parser's limits even flattened: {limit}")
    elements = _element_count(tree)
    if elements > MAX_ELEMENTS:
        raise ExtractionError(f"page has {elements} elements (more than {MAX_ELEMENTS}): not a report page")
    lxml.etree.strip_elements(tree, "rt", "rp", with_tail=False)
    return tree


def _element_count(tree) -> int:
    return int(tree.xpath("count(//*)"))  # in C: iterating 4 million proxies takes seconds


def _parse_once(html: str, *, huge: bool):
    """(tree, the resource-limit error libxml2 hit or None)."""
    parser = lxml.html.HTMLParser(huge_tree=huge)
    try:
        tree = lxml.html.document_fromstring(html, parser=parser)
    except (ValueError, lxml.etree.ParserError) as err:
        raise ExtractionError(f"unparsable HTML: {err}") from err
    # Content after an early </html> is a tree of its own: make the root hold the whole page.
    adopt_trailing_trees(tree)
    for error in parser.error_log:
        if error.type == lxml.etree.ErrorTypes.ERR_RESOURCE_LIMIT:
            return tree, error.message.strip()[:200]
    return tree, None


def _drop_title_lines(text: str, title: str) -> str:
    if not title:
        return text
    key = _squash(title)
    lines = text.split("\n")
    while lines and _squash(lines[0]) == key:
        lines.pop(0)
    while lines and _squash(lines[-1]) == key:
        lines.pop()
    return "\n".join(lines)


# A page whose body is empty: the method says so, the reasons say why (see extract_report).
PLACEHOLDER = "placeholder:metadata"
_ATTACHMENT_LEAD = re.compile(r"^(?:相关附件|附件下载|点击下载|下载|附件\s*\d*)\s*[:：.、]?\s*")
_FILE_NAME_LINE = re.compile(r"\.(?:pdf|docx?|wps|ofd|xlsx?|zip|rar)\s*(?:[（(][^)）]{0,20}[)）])?\s*$", re.I)


def _fields(cleaned) -> str:
    return f"{cleaned.metadata_lines} lines: {', '.join(cleaned.metadata_labels)}"


def _only_references(text: str, tree) -> bool:
    """Every line of `text` points elsewhere: an attachment ('附件：….pdf', a document link's
    text) or the page's other links (navigation). Nothing of the report's own."""
    documents = {_squash(normalize_chars(a.text_content())) for a in tree.iter("a")
                 if _is_document((a.get("href") or "").strip())}
    links = _link_texts(tree)
    for line in text.split("\n"):
        rest = _squash(_ATTACHMENT_LEAD.sub("", line))
        if not rest or rest in documents or (len(line) <= 120 and _FILE_NAME_LINE.search(line)):
            continue
        if _made_of_links(_squash(_BARS.sub("", line)), links):
            continue
        return False
    return True


def extract_report(
    html: str,
    url: str,
    *,
    listing_title: str | None = None,
    listing_date: str | None = None,
) -> Extracted:
    """Extract one report page; raise ExtractionError with a reason when nothing usable."""
    reasons: list[str] = []
    tree = _parse(html, reasons)
    title = _title(tree, listing_title)
    method, raw = _choose_text(tree, url, reasons)
    cleaned = clean(raw)
    text = _drop_title_lines(cleaned.text, title)
    if "\ufffd" in text:
        raise ExtractionError(f"U+FFFD in extracted text ({method}): the page was decoded wrongly")
    attachments = _attachments(tree, url)
    if cleaned.metadata_lines and _only_references(text, tree):
        # The body is empty (loaded by script, or only an attachment link) and what the
        # strategy found was the document's metadata block: not a text of its own.
        reasons.append(f"{PLACEHOLDER}: {method} found only a metadata block ({_fields(cleaned)})"
                       + (" and links" if text else "") + ": the report has no text of its own"
                       + ("; see its attachments" if attachments else "; its body is not in the page (loaded by script?)"))
        text, method = "", PLACEHOLDER
    elif cleaned.metadata_lines:
        reasons.append(f"dropped a metadata block ({_fields(cleaned)})")
    if cleaned.disclaimers:
        reasons.append(f"dropped {cleaned.disclaimers} sentence(s) of a repost disclaimer (转载, 不代表…立场, 侵权删除...)")
    if not text and not attachments and method != PLACEHOLDER:
        raise ExtractionError(f"no body text and no attachments ({method})")
    evidence = dates.page_date_evidence(tree) + dates.listing_evidence(listing_date)
    published, basis = dates.choose_date(evidence)
    attribution = classify.attribute_year(title, text, published)
    return Extracted(
        title=title,
        text=text,
        year=attribution.year,
        title_year=attribution.title_year,
        text_year=attribution.text_year,
        year_basis=attribution.basis,
        published_date=published,
        kind=classify.classify_title(title),
        attachments=attachments,
        method=method,
        reasons=tuple(reasons),
        published_basis=basis,
        date_evidence=tuple(evidence),
        issuer=classify.title_issuer(title) or classify.text_issuer(text),
    )
