"""Statistics of a report: the standard tables (2019 and 2021 formats) and prose figures,
read into canonical keys, with the tables' own arithmetic checked.

`read_stats(pages, text)` is what the crawl and `nianbao reextract` / `nianbao stats --rebuild`
call: the tables come from the pages' DOM (every part of a split article, in order); a table
the DOM does not give (a report only as a document, tables lost) is read from the text's
table rows (`a | b | c`); prose figures come from the text. Pure functions, no Scrapy.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from nianbao.crawler.stats.checks import CHECK_KEYS, RULES, run_checks
from nianbao.crawler.stats.grid import html_tables, text_rows
from nianbao.crawler.stats.prose import read_prose
from nianbao.crawler.stats.tables import TableReader
from nianbao.storage.stats import Figure, StatCheck

__all__ = ["CHECK_KEYS", "RULES", "ReportStats", "read_stats", "read_tables", "read_text_tables",
           "stored_stats"]


@dataclass(frozen=True)
class ReportStats:
    figures: tuple[Figure, ...] = ()
    checks: tuple[StatCheck, ...] = ()


def read_tables(pages: Sequence[str]) -> list[Figure]:
    """The standard tables' figures from the DOM of a report's pages (decoded HTML)."""
    reader = TableReader()
    for page in pages:
        for grid in html_tables(page):
            reader.feed_all(grid)
    return list(reader.figures.values())


def read_text_tables(text: str) -> list[Figure]:
    """The standard tables' figures from text rows (`a | b | c`, or numbers one per line)."""
    reader = TableReader()
    reader.feed_all(text_rows(text))
    return list(reader.figures.values())


def read_stats(pages: Sequence[str], text: str) -> ReportStats:
    """Figures and checks of one report version: its pages' HTML (may be empty: a document)
    and its extracted text."""
    figures = read_tables(pages)
    have = {f.table_key for f in figures}
    figures += [f for f in read_text_tables(text) if f.table_key not in have]
    figures += read_prose(text)
    return ReportStats(tuple(figures), tuple(run_checks(figures)))


def stored_stats(raw: bytes, encoding: str, text: str) -> ReportStats:
    """The statistics of a version as the store keeps it: its raw page (a split article's
    parts joined by PART_SEPARATOR; a document file has no DOM) decoded as its fetch was,
    and its text."""
    # imported here: crawler.encoding pulls in the charset machinery only when needed
    from nianbao.crawler.encoding import decode_html
    from nianbao.crawler.items import PART_SEPARATOR
    from nianbao.storage import BINARY_ENCODING

    pages = [] if encoding == BINARY_ENCODING or not raw else [
        decode_html(part, encoding).text for part in raw.split(PART_SEPARATOR)]
    return read_stats(pages, text)
