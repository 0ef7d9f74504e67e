"""One table cell: is it a number (with its unit and note), a blank, or a label?

Real cells: '12', '１２' (full-width), '1,234', '0.5万元', '3件', '5（其中转办2件）', '-2' (a
change), '—' or '/' or '无' (nothing stated), '' (blank). A label such as '1.属于国家秘密'
starts with a digit too: a number must be followed by nothing, a unit, or a note in
brackets.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from dataclasses import dataclass

from nianbao.crawler.cleanup import normalize_chars

# What stands for "nothing stated" in a cell (after NFKC).
BLANK_MARKS = frozenset({"", "-", "--", "—", "——", "―", "–", "/", "\\", "无", "空", "×", "x"})
_UNITS = "万元|亿元|元|件|条|个|项|次|人次|份|篇|起"
_NUMBER = re.compile(
    rf"^(?P<sign>[-+−])?\s*(?P<digits>\d{{1,3}}(?:,\d{{3}})+|\d+)(?P<fraction>\.\d+)?\s*"
    rf"(?P<unit>{_UNITS})?\s*(?P<rest>.*)$", re.S)
# What may follow a number in the same cell: a note in brackets or after a mark.
_NOTE = re.compile(r"^(?:[(\[{【<]|注|备注|\*|※|其中|含|;|,|。)")


@dataclass(frozen=True)
class Cell:
    """A parsed cell. kind: 'number', 'blank' or 'label'."""

    kind: str
    raw: str
    value: int | float | None = None
    unit: str | None = None


def nfkc(text: str) -> str:
    return unicodedata.normalize("NFKC", text or "")


# Labels repeat (a merged cell is copied into every position it covers; every report prints
# the same labels): OpenCC per call would double the time of reading a report's tables.
@functools.lru_cache(maxsize=8192)
def squash(text: str) -> str:
    """A label as matched: simplified, NFKC (full-width brackets -> ASCII), no whitespace."""
    return "".join(nfkc(normalize_chars(text)).split())


@functools.lru_cache(maxsize=8192)
def printed(text: str) -> str:
    """A label as stored: simplified characters, whitespace collapsed to single spaces."""
    return " ".join(normalize_chars(text or "").split())


@functools.lru_cache(maxsize=8192)
def parse_cell(text: str) -> Cell:
    """raw: the cell as nianbao stores text (simplified, full-width digits ASCII: no
    traditional characters in the store)."""
    raw = printed(text)
    plain = nfkc(raw).strip()
    if plain in BLANK_MARKS or not plain.strip("-—―–_ "):
        return Cell("blank", raw)
    match = _NUMBER.match(plain)
    if match is None:
        return Cell("label", raw)
    rest = match["rest"].strip()
    if rest and not _NOTE.match(rest):
        return Cell("label", raw)
    digits = match["digits"].replace(",", "")
    value: int | float
    if match["fraction"]:
        value = float(digits + match["fraction"])
    else:
        value = int(digits)
    if match["sign"] in ("-", "−"):
        value = -value
    return Cell("number", raw, value, match["unit"])


def label_unit(label: str) -> str | None:
    """The unit a column label states: '本年收费金额（单位：万元）' -> '万元'."""
    match = re.search(r"(?:单位[:：]?\s*)?(万元|亿元|元)\s*[)）]?\s*$", nfkc(label))
    return match.group(1) if match else None
