"""`nianbao extract URL_OR_FILE`: what nianbao would store for one page, and why.

The first command to reach for when a site looks wrong. A URL is fetched once, politely
(monitor.page_fetch); a file is read. The bytes are decoded by the crawl's decoder and
extracted by the crawl's extractor, so what is printed is what a crawl would store: cleaned
text, title, issuer, year and where it came from, date and where it came from, kind,
attachments, the strategy that won and the reasons. `--json` prints the same under the
`reports` table's column names, plus `method` and `reasons`.

PDF, DOC and other documents are recognised (by type, extension or first bytes) and only
described: their text extraction does not exist yet.

Exit status: 0 with a result; 1 when the page could not be fetched, decoded or extracted;
2 for a file that does not exist. Errors are one line, never a traceback. Scrapy is never imported: the crawler modules used here are plain functions.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import NoReturn
from urllib.parse import unquote, urlsplit

import click

from nianbao import __version__

FAILED = 1  # the page could not be fetched, decoded or extracted
NO_SUCH_FILE = 2  # like a usage error: nothing was read


def _http_url(ctx, param, value: str | None) -> str | None:
    if value is not None and not _is_url(value):
        raise click.BadParameter("must be an http:// or https:// URL")
    return value


@click.command()
@click.argument("source", metavar="URL_OR_FILE")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object (the reports columns, method, reasons).")
@click.option("--url", "page_url", metavar="URL", callback=_http_url,
              help="For a saved FILE: the address it was saved from (resolves its links and attachments).")
@click.option("--timeout", type=click.FloatRange(1, 300), default=30, show_default=True, metavar="SECONDS",
              help="Give up on a URL that has not answered after this long.")
def extract(source: str, as_json: bool, page_url: str | None, timeout: float) -> None:
    """Show what nianbao would store for one page or document: its text, title, issuer, year,
    date, kind, attachments, and which extraction strategy won and why.

    URL_OR_FILE is an http(s) URL (fetched once, with nianbao's User-Agent, obeying
    robots.txt) or a saved HTML page, PDF or DOC file.
    """
    if _is_url(source):
        body, content_type, url, final_url = _fetch(source, timeout)
    else:
        path = Path(source)
        if not path.is_file():
            fail(f"{source}: no such file (give a saved page or document, or an http:// or https:// URL)",
                 NO_SUCH_FILE)
        body, content_type = path.read_bytes(), None
        url = final_url = page_url or path.resolve().as_uri()
    if _is_document(final_url, content_type, body):
        result = _document(url, final_url, content_type, body)
    else:
        result = _page(url, final_url, content_type, body)
    if as_json:
        click.echo(json.dumps(result, ensure_ascii=False, indent=2))
    else:
        click.echo(_describe(result))


def _is_url(source: str) -> bool:
    return source.lower().startswith(("http://", "https://"))


def fail(message: str, status: int = FAILED) -> NoReturn:
    click.echo(f"nianbao: {message}", err=True)
    sys.exit(status)


def _fetch(url: str, timeout: float) -> tuple[bytes, str | None, str, str]:
    from nianbao.crawler.settings import DOWNLOAD_MAXSIZE, NIANBAO_CONTACT_URL
    from nianbao.monitor.page_fetch import FetchError, fetch

    user_agent = f"nianbao/{__version__} (+{NIANBAO_CONTACT_URL})"  # the crawl's User-Agent
    try:
        page = fetch(url, user_agent=user_agent, timeout=timeout, max_bytes=DOWNLOAD_MAXSIZE)
    except FetchError as err:
        fail(f"fetch failed: {err}")
    return page.body, page.content_type, page.url, page.final_url


def _is_document(url: str, content_type: str | None, body: bytes) -> bool:
    """The crawl's rule (crawler.documents.sniff): the bytes first, then type and extension."""
    from nianbao.crawler.documents import is_document_response

    return is_document_response(body, content_type or "", url)


def _record(url: str, final_url: str, **fields) -> dict:
    """The reports columns (and method, reasons) in a fixed order."""
    record = {"url": url, "final_url": final_url, "title": None, "text": "", "issuer": None, "year": None,
              "title_year": None, "text_year": None, "year_basis": None, "published_date": None,
              "published_basis": None, "kind": None, "attachments": [], "method": None, "reasons": []}
    record.update(fields)
    return record


def _document(url: str, final_url: str, content_type: str | None, body: bytes) -> dict:
    """What a crawl keeps of a report that is only a document: its name's title and year (a
    crawl takes the listing's anchor instead) and the file's text, read as the crawl reads
    it (in a child process, under the NIANBAO_DOCUMENT_* caps of the environment)."""
    from nianbao.crawler.cleanup import normalize_title
    from nianbao.crawler.report_extract import extract_document, read_document_file

    name = unquote(urlsplit(final_url).path.rsplit("/", 1)[-1])
    title = normalize_title(name.rsplit(".", 1)[0] if "." in name else name)
    file = read_document_file(final_url, body, content_type or "")
    result = extract_document(final_url, title, None, file)
    what = f"{content_type or 'no Content-Type'}, {len(body)} bytes"
    reasons = [f"document: {file.kind}, {what}: extraction_status {file.extraction_status}"
               + (f" ({file.reason})" if file.reason else ""), *result.reasons]
    return _record(url, final_url, title=result.title, text=result.text, issuer=result.issuer,
                   year=result.year, title_year=result.title_year, text_year=result.text_year,
                   year_basis=result.year_basis, kind=result.kind, method="document", reasons=reasons)


def _page(url: str, final_url: str, content_type: str | None, body: bytes) -> dict:
    from nianbao.crawler.encoding import decode_body
    from nianbao.crawler.extract import ExtractionError, extract_report

    decoded = decode_body(body, content_type)
    if decoded.undecodable:
        fail(f"{url}: undecodable: {decoded.describe()}")
    try:
        result = extract_report(decoded.text, final_url)
    except ExtractionError as err:
        fail(f"{url}: extraction failed: {err}")
    reasons = list(result.reasons)
    reasons.append(f"decoded as {decoded.encoding}" + (f" ({decoded.describe()})" if decoded.repaired else ""))
    basis = result.published_basis
    return _record(url, final_url, title=result.title, text=result.text, issuer=result.issuer,
                   year=result.year, title_year=result.title_year, text_year=result.text_year,
                   year_basis=result.year_basis, published_date=result.published_date, published_basis=basis,
                   kind=result.kind, attachments=list(result.attachments), method=result.method, reasons=reasons)


def _describe(record: dict) -> str:
    """The record for a person: the metadata, why, then the text."""
    year = record["year"]
    if year is not None:
        said = [f"{where} says {record[f'{where}_year']}" for where in ("title", "text") if record[f"{where}_year"]]
        year = f"{year} (from the {record['year_basis']}" + (f"; {', '.join(said)})" if said else ")")
    date = record["published_date"]
    if date is not None:
        date = f"{date} ({record['published_basis']})"
    else:
        date = "none on the page (a crawl would use the listing's date, else the day it first saw it)"
    lines = [
        f"url:         {record['url']}" + (f" -> {record['final_url']}" if record["final_url"] != record["url"] else ""),
        f"title:       {record['title']}",
        f"issuer:      {record['issuer'] or 'not named (the agency whose site it is on)'}",
        f"year:        {year or 'unknown'}",
        f"published:   {date}",
        f"kind:        {record['kind']}",
        f"method:      {record['method']}",
        "why:",
        *(f"  - {reason}" for reason in record["reasons"]),
        f"attachments: {len(record['attachments'])}",
        *(f"  - {attachment}" for attachment in record["attachments"]),
    ]
    text = record["text"]
    lines.append(f"text:        {len(text)} characters" + ("" if text else " (none of its own)"))
    if text:
        lines.extend(["", text])
    return "\n".join(lines)
