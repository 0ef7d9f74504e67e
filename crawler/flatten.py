"""Cap how deep an HTML document nests, so that lxml parses all of it.

libxml2 stops building the tree at depth 256 (2048 with XML_PARSE_HUGE), records a
"resource limit" error and silently drops everything deeper, so a page that nests too deep
loses its body and keeps the navigation that comes first. A real report gets there through
unclosed inline tags (a Word export with one unclosed <font> per paragraph), a hostile page on
purpose. `cap_depth` rewrites the document with the tags beyond `max_depth` removed (a block
element becomes a line break): all the text stays, and so does the outer structure (the CMS
body container, the navigation) that extraction relies on.

The tokenizer is the standard library's `html.parser` (linear, tolerant); the open-element
stack imitates the HTML rules that matter for depth (void elements, a <p>/<li>/<td> closed by
the next one), and every element it closes is closed explicitly in the output, so libxml2
builds exactly the nesting counted here.
"""

from __future__ import annotations

import html
from html.parser import HTMLParser

__all__ = ["cap_depth"]

_VOID = frozenset({"area", "base", "basefont", "br", "col", "embed", "frame", "hr", "img", "input",
                   "isindex", "keygen", "link", "meta", "param", "source", "track", "wbr"})
# An open element of the key's group is closed by a new start tag of that group.
_CLOSED_BY = {
    "p": {"p"}, "li": {"li"}, "dt": {"dt", "dd"}, "dd": {"dt", "dd"}, "option": {"option"},
    "td": {"td", "th"}, "th": {"td", "th"}, "tr": {"tr", "td", "th"},
}
# Elements that break lines: one beyond the cap is replaced by a <br>, so that its paragraphs
# stay lines of their own.
_BLOCKS = frozenset({"address", "article", "aside", "blockquote", "caption", "center", "dd", "div", "dl",
                     "dt", "fieldset", "figure", "footer", "form", "h1", "h2", "h3", "h4", "h5", "h6",
                     "header", "li", "main", "nav", "ol", "p", "pre", "section", "table", "tbody", "td",
                     "tfoot", "th", "thead", "tr", "ul"})
# Block starts that close an open <p>, as in HTML.
_CLOSES_P = frozenset({"address", "article", "aside", "blockquote", "div", "dl", "fieldset", "footer",
                       "form", "h1", "h2", "h3", "h4", "h5", "h6", "header", "hr", "menu", "nav", "ol",
                       "p", "pre", "section", "table", "ul"})


class _DepthCapper(HTMLParser):
    def __init__(self, max_depth: int):
        super().__init__(convert_charrefs=True)
        self.max_depth = max_depth
        self.out: list[str] = []
        self.stack: list[tuple[str, bool]] = []  # (tag, written to the output)
        self.open_count: dict[str, int] = {}
        self.depth = 0  # written elements on the stack
        self.dropped = 0

    # -- stack ---------------------------------------------------------------------------------
    def _push(self, tag: str, written: bool) -> None:
        self.stack.append((tag, written))
        self.open_count[tag] = self.open_count.get(tag, 0) + 1
        self.depth += written

    def _pop(self) -> None:
        tag, written = self.stack.pop()
        self.open_count[tag] -= 1
        if written:
            self.depth -= 1
            self.out.append(f"</{tag}>")
        elif tag in _BLOCKS:
            self.out.append("<br>")

    def _close_up_to(self, tag: str) -> None:
        """Close the innermost open `tag` and everything inside it (each pop is paid for by
        its push: linear overall)."""
        while self.stack:
            top = self.stack[-1][0]
            self._pop()
            if top == tag:
                return

    # -- tokens --------------------------------------------------------------------------------
    def handle_starttag(self, tag, attrs):
        raw = self.get_starttag_text() or f"<{tag}>"
        if tag in _VOID:
            self.out.append(raw)
            return
        if self.stack:
            top = self.stack[-1][0]
            if top in _CLOSED_BY.get(tag, ()) or (top == "p" and tag in _CLOSES_P):
                self._pop()
        written = self.depth < self.max_depth
        if written:
            self.out.append(raw)
        else:
            self.dropped += 1
            if tag in _BLOCKS:
                self.out.append("<br>")
        self._push(tag, written)

    def handle_startendtag(self, tag, attrs):
        self.out.append(self.get_starttag_text() or f"<{tag}/>")

    def handle_endtag(self, tag):
        if self.open_count.get(tag):
            self._close_up_to(tag)
        # an end tag with nothing to close is dropped, as HTML parsers do

    def handle_data(self, data):
        # script/style content is raw text; everything else was unescaped by the tokenizer
        self.out.append(data if self.cdata_elem else html.escape(data, quote=False))

    def handle_comment(self, data):
        self.out.append(f"<!--{data}-->")  # Hanweb's ZJEG_RSS body markers are comments

    def handle_decl(self, decl):
        self.out.append(f"<!{decl}>")

    def handle_pi(self, data):
        self.out.append(f"<?{data}>")

    def unknown_decl(self, data):
        self.out.append(f"<![{data}]>")


def cap_depth(document: str, max_depth: int) -> tuple[str, int]:
    """(document with no element nested deeper than `max_depth`, number of tags removed)."""
    capper = _DepthCapper(max_depth)
    capper.feed(document)
    capper.close()
    while capper.stack:
        capper._pop()
    return "".join(capper.out), capper.dropped
