"""A report's bytes -> what nianbao stores of it, the same way for a fetch and for a stored page.

The pipeline extracts what a crawl fetched; `nianbao reextract` and a crawl meeting a report
whose text an older extractor made extract the raw page stored with a version. Both go through
`extract_pages` (an article and the further parts of a split article) or `extract_document`
(a PDF/DOC stored as a file), so a re-extraction is exactly what a fetch of the same bytes
would give. No Scrapy here: the monitor's `reextract` command imports this module.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from nianbao.crawler import classify
from nianbao.crawler.cleanup import to_simplified
from nianbao.crawler.dates import choose_date, listing_evidence
from nianbao.crawler.encoding import decode_html
from nianbao.crawler.extract import EXTRACTOR_VERSION, ExtractionError, Extracted, extract_report
from nianbao.crawler.items import PART_SEPARATOR
from nianbao.crawler.stats import read_stats
from nianbao.crawler.documents.combine import read_file, with_files
from nianbao.crawler.documents.isolate import DocumentLimits
from nianbao.storage import BINARY_ENCODING, AttachmentFile, Reextraction, split_attachment_marks

__all__ = ["extract_pages", "extract_document", "extract_with_files", "read_document_file",
           "StoredPage", "reextract_stored", "take_in_files", "reextract_stored_files",
           "stored_fields", "reextraction", "EXTRACTOR_VERSION", "ExtractionError"]


def stored_fields(extracted: Extracted) -> dict:
    """What the store keeps of an extraction, under the names of ReportFetch and
    Reextraction (counts_for is the caller's: it needs the registry)."""
    return {
        "title": extracted.title, "text": extracted.text, "kind": extracted.kind,
        "year": extracted.year, "title_year": extracted.title_year,
        "text_year": extracted.text_year, "year_basis": extracted.year_basis,
        "published_date": extracted.published_date, "published_basis": extracted.published_basis,
        "date_evidence": tuple(e.to_json() for e in extracted.date_evidence),
        "attachments": extracted.attachments, "issuer": extracted.issuer,
        "extractor_version": EXTRACTOR_VERSION,
        "figures": extracted.figures, "checks": extracted.checks,
    }


def with_stats(extracted: Extracted, pages: Sequence[str]) -> Extracted:
    """The extraction with the statistics of its pages' tables and of its text. Reading
    them never loses the report: a parser failure is a reason, and no figures."""
    try:
        stats = read_stats(pages, extracted.text)
    except Exception as exc:  # a bug or an input nobody foresaw: the text is still stored
        return dataclasses.replace(extracted, reasons=(
            *extracted.reasons, f"statistics not read: {type(exc).__name__}: {exc}"[:300]))
    return dataclasses.replace(extracted, figures=stats.figures, checks=stats.checks)


def extract_pages(pages: Sequence[str], url: str, *, listing_title: str | None = None,
                  listing_date: str | None = None) -> Extracted:
    """The report of an article (decoded HTML) and the further parts of a split article: the
    first part gives the metadata, the texts (and attachments) of all parts are joined in
    order. Raises ExtractionError."""
    extracted = extract_report(pages[0], url, listing_title=listing_title, listing_date=listing_date)
    if len(pages) == 1:
        return with_stats(extracted, pages)
    texts, attachments = [extracted.text], list(extracted.attachments)
    for part in pages[1:]:
        more = extract_report(part, url, listing_title=extracted.title)
        texts.append(more.text)
        attachments.extend(a for a in more.attachments if a not in attachments)
    return with_stats(dataclasses.replace(
        extracted, text="\n".join(t for t in texts if t), attachments=tuple(attachments)
    ), pages)


def extract_document(url: str, listing_title: str | None, listing_date: str | None,
                     file: AttachmentFile | None = None) -> Extracted:
    """A report published only as a file (PDF, DOC...) linked from a listing: the listing's
    title (the anchor's text) and date, the year from the title, and the file's text when it
    could be read (`file`, see `read_document_file`); otherwise an empty text, and the file
    is kept so a later extractor can read it without a re-crawl.
    """
    title = to_simplified(listing_title or url.rsplit("/", 1)[-1])
    year = classify.report_year(title)
    evidence = listing_evidence(listing_date)
    published, basis = choose_date(evidence)
    extracted = Extracted(
        title=title, text="", year=year, published_date=published, kind=classify.classify_title(title),
        attachments=(), method="document", title_year=year, text_year=None,
        year_basis="title" if year else None, published_basis=basis,
        date_evidence=tuple(evidence), issuer=classify.title_issuer(title),
    )
    # a file's tables come as text rows (`a | b | c`): its statistics are read from its text
    return with_stats(with_files(extracted, [file]) if file is not None else extracted, ())


def read_document_file(url: str, body: bytes, content_type: str = "", *,
                       limits: DocumentLimits | None = None) -> AttachmentFile:
    """A report's own file (or an attachment) read under the limits, in a child process."""
    return read_file(url, body, content_type, limits=limits)


def extract_with_files(pages: Sequence[str], url: str, files: Sequence[AttachmentFile], *,
                       listing_title: str | None = None, listing_date: str | None = None) -> Extracted:
    """`extract_pages`, then the files' texts taken in (crawler.documents.combine), and the
    statistics read again when the files added text (their tables are text rows)."""
    extracted = extract_pages(pages, url, listing_title=listing_title, listing_date=listing_date)
    return take_in_files(extracted, files, pages) if files else extracted


def take_in_files(extracted: Extracted, files: Sequence[AttachmentFile], pages: Sequence[str]) -> Extracted:
    """An article's extraction (`extract_pages` of `pages`) with its files' texts taken in
    (crawler.documents.combine) and its statistics read again when they added text: a file's
    tables are text rows, and a report that only points at its PDF or DOCX has no others.
    The crawl and `reextract` both come here, so both store the same figures."""
    combined = with_files(extracted, files)
    return combined if combined is extracted else with_stats(combined, pages)


@dataclass(frozen=True)
class StoredPage:
    """A version's raw page as the store keeps it (`store.history.stored_pages` + `raw_page`)."""

    url: str
    final_url: str | None
    raw: bytes
    encoding: str
    listing_title: str | None
    listing_date: str | None


def reextract_stored(page: StoredPage, files: Callable[[str], bytes | None] | None = None,
                     limits: DocumentLimits | None = None) -> Extracted:
    """Extract a stored raw page again with this extractor, as its fetch was extracted: the
    bytes decoded in the stored encoding (with the crawl's repairs), a split article's parts
    cut at PART_SEPARATOR, the files it was read with (its attachment marks) read again from
    the store (`files`: sha256 -> bytes, e.g. store.attachments.content; without it, or for a
    file no longer stored, the page alone). A file-only report's file is read again.
    Raises ExtractionError."""
    return reextract_stored_files(page, files, limits)[0]


def reextract_stored_files(page: StoredPage, files: Callable[[str], bytes | None] | None = None,
                           limits: DocumentLimits | None = None) -> tuple[Extracted, tuple[AttachmentFile, ...]]:
    """`reextract_stored` and the files it read again."""
    if page.encoding == BINARY_ENCODING:
        file = read_document_file(page.url, page.raw, limits=limits)
        return extract_document(page.url, page.listing_title, page.listing_date, file), (file,)
    marks, raw = split_attachment_marks(page.raw)
    read = []
    for sha256, url in marks:
        body = files(sha256) if files is not None else None
        if body is not None:
            read.append(read_file(url, body, "", limits=limits))
    parts = [decode_html(part, page.encoding).text for part in raw.split(PART_SEPARATOR)]
    extracted = extract_with_files(parts, page.final_url or page.url, read,
                                   listing_title=page.listing_title, listing_date=page.listing_date)
    return extracted, tuple(read)


def stored_page(row: dict, raw: bytes) -> StoredPage:
    """A `store.history.stored_pages` row and its raw bytes as a StoredPage. The version's
    listing title is the extraction's input; before versions kept it (migration m007), the
    version's own title stands in for it."""
    return StoredPage(url=row["url"], final_url=row["final_url"], raw=raw,
                      encoding=row["raw_encoding"],
                      listing_title=row["listing_title"] or row["title"],
                      listing_date=row["listing_date"])


def reextraction(row: dict, extracted: Extracted, *, counts_for: str | None,
                 crawl_id: int | None = None, files: Sequence[AttachmentFile] = ()) -> Reextraction:
    """The store's record of a stored page extracted again (`store.history.record_reextraction`)."""
    return Reextraction(report_id=row["report_id"], raw_version_id=row["raw_version_id"],
                        counts_for=counts_for, crawl_id=crawl_id, files=tuple(files),
                        **stored_fields(extracted))
