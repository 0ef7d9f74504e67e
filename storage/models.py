"""Plain data that goes in and out of the store, the closed vocabularies, and text hashing.

Nothing here touches the database; the crawler and the monitor build these objects and the
store takes them. Every vocabulary is a set of constants plus a tuple of allowed values, and
the tuple is what validation uses.
"""

from __future__ import annotations

import datetime as _dt
import enum
import hashlib
import re
from dataclasses import dataclass

# -- Vocabularies ----------------------------------------------------------------------------

AGENCY_DEPARTMENT = "department"
AGENCY_GOVERNMENT = "government"
AGENCY_KINDS = (AGENCY_DEPARTMENT, AGENCY_GOVERNMENT)

REPORT_ANNUAL = "annual_report"
REPORT_OTHER = "other"
REPORT_KINDS = (REPORT_ANNUAL, REPORT_OTHER)

STATUS_LIVE = "live"
STATUS_REMOVED = "removed"
REPORT_STATUSES = (STATUS_LIVE, STATUS_REMOVED)
# versions.raw_encoding of a report stored as a document file rather than a decoded page.
BINARY_ENCODING = "binary"

FINDING_NEW = "new"
FINDING_CHANGED = "changed"
FINDING_REMOVED = "removed"
FINDING_RESTORED = "restored"
# A known report turned up at a new URL (storage/moves.py); the site's report column moved
# (crawler/discovery.py found it again after the old one kept failing).
FINDING_MOVED = "moved"
FINDING_COLUMN_MOVED = "column_moved"
# Raised by the monitor (monitor/findings.py), each once per dedup_key: a deadline passed with
# no report; a report appeared after its deadline; a report turned up for a year that had a
# `missing` finding; an agency's listings failed in several crawls in a row.
FINDING_MISSING = "missing"
FINDING_LATE = "late"
FINDING_TURNED_UP = "turned_up"
FINDING_SITE_FAILING = "site_failing"
# Raised by the monitor from report_checks: a report version whose statistical tables fail one
# of their own arithmetic checks (one finding per report version).
FINDING_INCONSISTENT = "inconsistent"
# The kinds the store accepts. The column has no CHECK constraint: a later change adds kinds
# by extending this tuple, with no table rebuild.
FINDING_KINDS = (FINDING_NEW, FINDING_CHANGED, FINDING_REMOVED, FINDING_RESTORED,
                 FINDING_MISSING, FINDING_LATE, FINDING_TURNED_UP, FINDING_SITE_FAILING,
                 FINDING_INCONSISTENT, FINDING_MOVED, FINDING_COLUMN_MOVED)

# reports.published_basis: where published_date came from (see crawler/dates.py). 'page' is
# the value of rows stored before m007 (the page's date by the old rule, which one unknown).
BASIS_PRINTED = "printed"
BASIS_META = "meta"
BASIS_LISTING = "listing"
BASIS_WRITTEN = "written"
BASIS_PAGE = "page"
PUBLISHED_BASES = (BASIS_PRINTED, BASIS_META, BASIS_LISTING, BASIS_WRITTEN, BASIS_PAGE)
# What coverage says of a report without a date of its own (never stored in the column).
BASIS_FIRST_SEEN = "first_seen"

# versions.source: a fetched page, or an earlier version's raw page extracted again.
SOURCE_CRAWL = "crawl"
SOURCE_REEXTRACT = "reextract"
VERSION_SOURCES = (SOURCE_CRAWL, SOURCE_REEXTRACT)

# Known values of fetch_log.purpose; the column accepts others.
PURPOSE_LISTING = "listing"
PURPOSE_REPORT = "report"
PURPOSE_ROBOTS = "robots"
PURPOSE_ATTACHMENT = "attachment"
# A page fetched while looking for the report column of a `discover` source.
PURPOSE_DISCOVERY = "discovery"
FETCH_PURPOSES = (PURPOSE_LISTING, PURPOSE_REPORT, PURPOSE_ROBOTS, PURPOSE_ATTACHMENT,
                  PURPOSE_DISCOVERY)


class Outcome(enum.StrEnum):
    """What `store.history.record_report` did with a fetched report. Members compare equal to strings."""

    NEW = "new"  # first sight: report row, version 1, a `new` finding
    CHANGED = "changed"  # text hash differs: version n+1, a `changed` finding
    UNCHANGED = "unchanged"  # same text hash: nothing but last_seen and blank metadata
    RESTORED = "restored"  # was removed, is back: a `restored` finding (and `changed` if edited)
    MOVED = "moved"  # a known report at a new URL: its url follows, a `moved` finding


OUTCOMES = tuple(o.value for o in Outcome)


# -- Time and text ---------------------------------------------------------------------------


def utc_iso(moment: _dt.datetime) -> str:
    """An aware datetime as the store keeps times: ISO-8601 UTC, whole seconds, 'Z'."""
    return moment.astimezone(_dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def utc_now() -> str:
    """The current time as an ISO-8601 UTC string, e.g. '2026-11-21T21:30:05Z'."""
    return utc_iso(_dt.datetime.now(_dt.UTC))


# Characters that are not str.isspace() but render as nothing or as a space.
_INVISIBLE = re.compile("[\u200b\u200c\u200d\u2060\ufeff]")


def normalize_text(text: str) -> str:
    """`text` with whitespace normalised: the form that is hashed and diffed.

    Each line has its runs of whitespace (including U+3000 and no-break spaces) collapsed to
    one space and is stripped; zero-width characters are dropped; blank lines are dropped.
    So trailing spaces, indentation, CRLF and blank-line changes are not changes.
    """
    lines = (" ".join(_INVISIBLE.sub("", line).split()) for line in text.splitlines())
    return "\n".join(line for line in lines if line)


def content_hash(text: str) -> str:
    """sha256 hex digest of `normalize_text(text)`, UTF-8 encoded."""
    return hashlib.sha256(normalize_text(text).encode("utf-8")).hexdigest()


# -- Records ---------------------------------------------------------------------------------


def _check_choice(owner: str, field: str, value: object, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise ValueError(f"{owner}.{field} is {value!r}; expected one of {', '.join(allowed)}")


def _check_iso_date(owner: str, field: str, value: str | None) -> None:
    if value is None:
        return
    try:
        ok = len(value) == 10 and _dt.date.fromisoformat(value).isoformat() == value
    except (TypeError, ValueError):
        ok = False
    if not ok:
        raise ValueError(f"{owner}.{field} is {value!r}; expected 'YYYY-MM-DD' or None")


@dataclass(frozen=True)
class AgencyRecord:
    """An agency as the registry declares it; `store.agencies.sync` writes these.

    id: stable slug, the primary key (e.g. 'mof'). name: official Chinese name.
    kind: one of AGENCY_KINDS. region: administrative region, None for central departments.
    start_year: first report year expected from this agency.
    sources: listing-page URLs the crawler starts from (a list is accepted and made a tuple).
    deadline: the registry's "MM-DD" override of the legal deadline (a day of year Y+1), or None.
    """

    id: str
    name: str
    kind: str
    region: str | None
    start_year: int
    sources: tuple[str, ...]
    deadline: str | None = None

    @classmethod
    def from_agency(cls, agency) -> AgencyRecord:
        """The record of a registry agency (config.registry.Agency, or any object with these
        attributes: storage does not import config)."""
        return cls(id=agency.id, name=agency.name, kind=agency.kind, region=agency.region,
                   start_year=agency.start_year, sources=agency.sources,
                   deadline=agency.deadline)

    def __post_init__(self) -> None:
        if not self.id:
            raise ValueError("AgencyRecord.id is empty")
        _check_choice(f"AgencyRecord({self.id})", "kind", self.kind, AGENCY_KINDS)
        object.__setattr__(self, "sources", tuple(self.sources))
        object.__setattr__(self, "start_year", int(self.start_year))


@dataclass(frozen=True)
class ReportFetch:
    """One successfully fetched and extracted report page; `store.history.record_report` takes these.

    agency_id: id of a synced agency. url: the report URL as listed (the identity of the report
    within its agency). title: extracted title. text: cleaned text (hashed after whitespace
    normalisation). kind: one of REPORT_KINDS. year: report year, None if unknown.
    published_date: 'YYYY-MM-DD' or None. raw_page: the bytes exactly as served (stored
    zlib-compressed). raw_encoding: the encoding used to decode raw_page. fetched_at: ISO-8601
    UTC time of the fetch. crawl_id: from `store.crawls.start`, None outside a crawl.
    final_url: URL after redirects, if different. attachments: URLs of attached files.
    title_year / text_year: the year the title names and the year the text's statistics cover
    (None when absent); year_basis: which one `year` was taken from, 'title' or 'text'.
    suspect: why the page may not be the report it would replace (a reason from
    crawler/plausibility.py, e.g. 'shrank: 915 -> 397 characters'), None when it plainly is;
    `store.held.record_suspect` holds such a page until a later crawl sees it again.
    decoding_loss: bytes of raw_page that no charset could read (dropped from the text);
    decoding_note: what decoding repaired or lost, in words (None for a clean page). Not
    stored yet.
    published_basis: where published_date came from, one of PUBLISHED_BASES ('page' when a
    date is given without one); None without a date. date_evidence: every date candidate,
    dicts with source, date, label (crawler.dates.DateEvidence.to_json).
    issuer: the issuer the title or first lines name, None when none is named (the host's).
    counts_for: the registry agency the report counts for: always agency_id when issuer is
    None; None with an issuer means outside the registry.
    extractor_version: the extractor that made the text (crawler.extract.EXTRACTOR_VERSION);
    None when not made by nianbao's extractor (tests). listing_title / listing_date: what the
    listing said of the report, the extraction's input besides the page.
    figures / checks: the statistics read from the page (storage.stats.Figure) and their
    arithmetic checks (storage.stats.StatCheck), stored with the version the fetch becomes.
    etag / last_modified: the answer's ETag and Last-Modified headers (None when absent or for
    a split article), kept in report_validators when the fetch becomes the current version.
    """

    agency_id: str
    url: str
    title: str
    text: str
    kind: str
    year: int | None
    published_date: str | None
    raw_page: bytes
    raw_encoding: str
    fetched_at: str
    crawl_id: int | None = None
    final_url: str | None = None
    attachments: tuple[str, ...] = ()
    title_year: int | None = None
    text_year: int | None = None
    year_basis: str | None = None
    suspect: str | None = None
    decoding_loss: int = 0
    decoding_note: str | None = None
    published_basis: str | None = None
    date_evidence: tuple[dict, ...] = ()
    issuer: str | None = None
    counts_for: str | None = None
    extractor_version: int | None = None
    listing_title: str | None = None
    listing_date: str | None = None
    figures: tuple = ()
    checks: tuple = ()
    # Files read with the report (storage.attachments.AttachmentFile): stored once by hash,
    # one `attachments` row each with the version this fetch is recorded as.
    files: tuple = ()
    # The page's own text is the stored text, and the difference comes only from files read
    # for the first time (an upgrade that reads attachments, a file that failed before): a
    # version without a `changed` finding, even when the page's bytes moved (a view counter).
    files_read_first: bool = False
    etag: str | None = None
    last_modified: str | None = None

    def __repr__(self) -> str:  # short: Scrapy logs items, and raw_page can be megabytes
        return (f"ReportFetch({self.agency_id} {self.url[:200]}: {self.kind} {self.year}, "
                f"{len(self.text)} chars, {len(self.raw_page)} bytes)")

    def __post_init__(self) -> None:
        owner = f"ReportFetch({self.url})"
        if not self.agency_id or not self.url:
            raise ValueError(f"{owner}: agency_id and url must not be empty")
        _check_choice(owner, "kind", self.kind, REPORT_KINDS)
        _check_iso_date(owner, "published_date", self.published_date)
        if not isinstance(self.raw_page, (bytes, bytearray, memoryview)):
            raise ValueError(f"{owner}.raw_page is {type(self.raw_page).__name__}, not bytes")
        if self.year is not None:
            object.__setattr__(self, "year", int(self.year))
        object.__setattr__(self, "attachments", tuple(self.attachments))
        _check_dating(self, owner)
        if self.issuer is None:
            object.__setattr__(self, "counts_for", self.agency_id)


def _check_dating(record, owner: str) -> None:
    """published_basis goes with published_date: none without a date (a copy made with
    `dataclasses.replace(fetch, published_date=None)` drops it), 'page' for a date given
    without one."""
    if record.published_date is None:
        object.__setattr__(record, "published_basis", None)
    elif record.published_basis is None:
        object.__setattr__(record, "published_basis", BASIS_PAGE)
    else:
        _check_choice(owner, "published_basis", record.published_basis, PUBLISHED_BASES)
    object.__setattr__(record, "date_evidence", tuple(dict(e) for e in record.date_evidence))


@dataclass(frozen=True)
class Reextraction:
    """What a newer extractor makes of a version's stored raw page (`store.history.record_reextraction`).

    report_id: the report. raw_version_id: versions.id of the version whose raw page was read
    (the current version, or the crawl version a current re-extraction read). The other fields
    are ReportFetch's, from the extraction. extracted_at: ISO-8601 UTC, now if None.
    crawl_id: the crawl that did it, None for `nianbao reextract`.
    """

    report_id: int
    raw_version_id: int
    title: str
    text: str
    kind: str
    year: int | None
    published_date: str | None
    extractor_version: int
    published_basis: str | None = None
    date_evidence: tuple[dict, ...] = ()
    title_year: int | None = None
    text_year: int | None = None
    year_basis: str | None = None
    attachments: tuple[str, ...] = ()
    issuer: str | None = None
    counts_for: str | None = None
    extracted_at: str | None = None
    crawl_id: int | None = None
    figures: tuple = ()
    checks: tuple = ()
    files: tuple = ()  # the stored files read again (storage.attachments.AttachmentFile)

    def __repr__(self) -> str:
        return (f"Reextraction(report {self.report_id} from version {self.raw_version_id}: "
                f"{self.kind} {self.year}, {len(self.text)} chars, extractor {self.extractor_version})")

    def __post_init__(self) -> None:
        owner = f"Reextraction(report {self.report_id})"
        _check_choice(owner, "kind", self.kind, REPORT_KINDS)
        _check_iso_date(owner, "published_date", self.published_date)
        object.__setattr__(self, "attachments", tuple(self.attachments))
        _check_dating(self, owner)


@dataclass(frozen=True)
class AgencySummary:
    """What one crawl did for one agency (`store.crawls.summary`).

    reports_found: reports recorded in the crawl, whatever the outcome. new, changed, removed,
    restored: findings of that kind written in the crawl. fetch_errors: fetch_log rows of the
    crawl with an error or an HTTP status >= 400 (not the 'held:' and 'gone:' notes on pages that
    arrived). held: removals and changed texts this crawl
    saw that wait in pending_findings for a later crawl to confirm them.
    """

    agency_id: str
    name: str
    reports_found: int
    new: int
    changed: int
    removed: int
    restored: int
    fetch_errors: int
    held: int = 0
