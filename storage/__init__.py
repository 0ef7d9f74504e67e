"""nianbao's storage: one SQLite file, one entry point (`Store`), plain data in and out.

storage imports neither crawler nor monitor nor config; see storage/SCHEMA.md for the tables
and storage/store.py for the parts (`store.history`, `store.findings`, ...).
"""

from .db import connect, migrate
from .migrations import MIGRATIONS
from .models import (
    AGENCY_KINDS,
    BINARY_ENCODING,
    FETCH_PURPOSES,
    FINDING_KINDS,
    OUTCOMES,
    PUBLISHED_BASES,
    REPORT_KINDS,
    REPORT_STATUSES,
    VERSION_SOURCES,
    AgencyRecord,
    AgencySummary,
    Outcome,
    Reextraction,
    ReportFetch,
    content_hash,
    normalize_text,
    utc_now,
)
from .attachments import AttachmentFile, split_attachment_marks, with_attachment_marks
from .errors import StorageError, UnknownAgency, UnknownCrawl, UnknownVersion
from .store import Store
from .stats import CHECK_RESULTS, STAT_SOURCES, Figure, StatCheck

__all__ = [
    "AGENCY_KINDS",
    "BINARY_ENCODING",
    "FETCH_PURPOSES",
    "FINDING_KINDS",
    "MIGRATIONS",
    "OUTCOMES",
    "PUBLISHED_BASES",
    "REPORT_KINDS",
    "REPORT_STATUSES",
    "VERSION_SOURCES",
    "CHECK_RESULTS",
    "STAT_SOURCES",
    "Figure",
    "StatCheck",
    "AgencyRecord",
    "AttachmentFile",
    "split_attachment_marks",
    "with_attachment_marks",
    "AgencySummary",
    "Outcome",
    "Reextraction",
    "ReportFetch",
    "StorageError",
    "Store",
    "UnknownAgency",
    "UnknownCrawl",
    "UnknownVersion",
    "connect",
    "content_hash",
    "migrate",
    "normalize_text",
    "utc_now",
]
