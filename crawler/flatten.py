"""Make lxml's tree hold the whole document: cap how deep it nests, adopt what follows </html>.

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

libxml2 (2.14, the HTML5 tokenizer) also ends the document element at `</html>`: whatever
follows becomes a further top-level `<html>` element, a sibling of the root. lxml hands back
the first one, and every walk that starts at an element (`iter()`, CSS selectors, relative
XPath, trafilatura) sees only it, while an absolute XPath (`//*`) sees them all. Pages made of
server-side includes close the document early: a header include ending in `</body></html>`
left a State Council-style article's body (`div#UCAP-CONTENT`) outside the root, and only the
header navigation inside. `adopt_trailing_trees` moves that content into the root's body, as
a browser does (HTML5's "after after body" mode reprocesses it in the body).
"""

from __future__ import annotations

import html
from html.parser import HTMLParser

import lxml.etree

__all__ = ["adopt_trailing_trees", "cap_depth"]

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


def adopt_trailing_trees(root) -> int:
    """Move every top-level node after `root` (the implicit `<html>` trees libxml2 starts after
    `</html>`, comments between them) into `root`'s body, in document order; the head elements
    of those trees go to `root`'s head. Returns the number of top-level nodes adopted (0: a
    page whose document element holds all of it)."""
    node = root.getnext()
    if node is None:
        return 0
    body = _child(root, "body")
    adopted = 0
    while node is not None:
        following = node.getnext()
        if isinstance(node.tag, str) and node.tag.lower() == "html":
            _append_text(body, node.text)
            for child in list(node):
                tag = child.tag.lower() if isinstance(child.tag, str) else ""
                if tag in ("head", "body"):
                    target = body if tag == "body" else _child(root, "head")
                    _append_text(target, child.text)
                    for grandchild in list(child):
                        target.append(grandchild)  # an element's tail moves with it
                    _append_text(body, child.tail)
                else:
                    body.append(child)
            # A top-level element has no parent to remove it from: move it in, then drop it.
            node.text = node.tail = None
            body.append(node)
            body.remove(node)
        else:
            body.append(node)  # a comment or processing instruction between the trees
        adopted += 1
        node = following
    return adopted


def _child(root, tag: str):
    """`root`'s head or body, made if missing (a head first, a body last)."""
    found = root.find(tag)
    if found is None:
        found = lxml.etree.Element(tag)
        if tag == "head":
            root.insert(0, found)
        else:
            root.append(found)
    return found


def _append_text(parent, text: str | None) -> None:
    if not text:
        return
    if len(parent):
        last = parent[-1]
        last.tail = (last.tail or "") + text
    else:
        parent.text = (parent.text or "") + text
