"""Attachments: the files of reports (PDF, DOC, OFD...), each stored once by content hash.

- `attachment_files`: one row per distinct file (sha256 of its bytes), the bytes
  zlib-compressed in the database itself, named `<sha256>.<kind>`: a name made from the hash,
  never from the server. In the database, not in a folder beside it, so that a copy of the
  file is a copy of everything, a write is one transaction with the report's version, and
  Datasette users see the files' sizes and names next to the reports;
- `attachments`: one row per file seen with a report's version (report_id, version, url,
  sha256) with what reading it gave (`extraction_status`, `reason`). The same file seen again
  with the same version adds nothing; a re-saved file (other bytes, same text) is a new row
  of the same version, not a change of the report.

A version's raw page records which files it was read with: a line
`<!-- nianbao: attachment SHA256 URL -->` per file before the page's own bytes
(`with_attachment_marks`), so that re-extraction finds the files in `attachment_files`, and a
page whose file changed is not the same source as before.
"""

from __future__ import annotations

import hashlib
import json
import re
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from urllib.parse import quote, unquote

from sqlite_utils import Database

from .part import StorePart

ZLIB_LEVEL = 6
_MARK = re.compile(rb"\A<!-- nianbao: attachment ([0-9a-f]{64}) (\S+) -->\n")


@dataclass(frozen=True)
class AttachmentFile:
    """A file fetched with a report, and what reading it gave.

    url: the link as the page gave it (absolute); final_url: after redirects. body: the bytes
    as served. kind: pdf, docx, doc, wps, ofd, xlsx, xls, zip, rar, rtf or unknown (from its
    bytes first). extraction_status: ok, empty, scanned, encrypted, unsupported, too_large or
    malformed; reason: why, in words. text: the text read ('' unless ok); pages: when known.
    """

    url: str
    body: bytes
    content_type: str
    kind: str
    extraction_status: str
    reason: str = ""
    text: str = ""
    pages: int | None = None
    final_url: str | None = None

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.body).hexdigest()

    def __repr__(self) -> str:
        return (f"AttachmentFile({self.url[:200]}: {self.kind} {len(self.body)} bytes, "
                f"{self.extraction_status}, {len(self.text)} chars)")


def with_attachment_marks(page: bytes, files: Sequence[AttachmentFile]) -> bytes:
    """The raw page to store: one mark line per file (hash and URL), then the page."""
    marks = b"".join(b"<!-- nianbao: attachment " + f.sha256.encode() + b" "
                     + quote(f.url, safe=":/?&=%#;,+@").encode("ascii") + b" -->\n" for f in files)
    return marks + page


def split_attachment_marks(raw: bytes) -> tuple[list[tuple[str, str]], bytes]:
    """([(sha256, url), ...], the page's own bytes) of a stored raw page."""
    marks = []
    while True:
        match = _MARK.match(raw)
        if match is None:
            return marks, raw
        marks.append((match.group(1).decode(), unquote(match.group(2).decode("ascii"))))
        raw = raw[match.end():]


def same_page_more_files(old_raw: bytes, new_raw: bytes) -> bool:
    """The same page bytes, read with every file it was read with before and more: the
    report's source did not change, nianbao read more of it (its attachments for the first
    time, or one that failed before)."""
    old_marks, old_page = split_attachment_marks(old_raw)
    new_marks, new_page = split_attachment_marks(new_raw)
    return old_page == new_page and set(old_marks) < set(new_marks)


def insert_attachments(db: Database, report_id: int, version: int,
                       files: Iterable[AttachmentFile], *, at: str, crawl_id: int | None,
                       extractor_version: int | None) -> None:
    """Store each file once (by hash) and one `attachments` row per file of this version;
    part of the caller's transaction (store.history.record_report)."""
    for f in files:
        digest = f.sha256
        db.execute(
            "INSERT OR IGNORE INTO attachment_files (sha256, file_name, kind, size, content, first_seen) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (digest, f"{digest}.{f.kind}", f.kind, len(f.body), zlib.compress(f.body, ZLIB_LEVEL), at))
        db.execute(
            "INSERT OR IGNORE INTO attachments (report_id, version, url, final_url, sha256, "
            "content_type, kind, size, extraction_status, reason, pages, text_chars, text, "
            "extractor_version, fetched_at, crawl_id) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (report_id, version, f.url, f.final_url, digest, f.content_type or None, f.kind,
             len(f.body), f.extraction_status, f.reason or None, f.pages, len(f.text), f.text,
             extractor_version, at, crawl_id))


class Attachments(StorePart):
    """`store.attachments`: the stored files of reports and what reading them gave."""

    def content(self, sha256: str) -> bytes | None:
        """A stored file's bytes by its hash, None when no such file is stored."""
        row = self._one("SELECT content FROM attachment_files WHERE sha256 = ?", (sha256,))
        return zlib.decompress(row["content"]) if row is not None else None

    def reading(self, sha256: str, extractor_version: int,
                statuses: Sequence[str] = ("ok", "empty", "scanned", "encrypted", "unsupported")) -> dict | None:
        """What reading the file with this hash gave with this extractor before (kind,
        extraction_status, reason, pages, text), or None: a crawl need not read an unchanged
        file again. Only outcomes that do not depend on the caps (not too_large, not
        malformed: a timeout may pass with more time) are given back."""
        row = self._one(
            "SELECT kind, extraction_status, reason, pages, text FROM attachments "
            "WHERE sha256 = ? AND extractor_version = ? AND extraction_status IN "
            "(SELECT value FROM json_each(?)) ORDER BY id DESC LIMIT 1",
            (sha256, extractor_version, json.dumps(list(statuses))))
        return dict(row) if row is not None else None

    def of_report(self, report_id: int) -> list[dict]:
        """Every attachments row of a report, oldest first."""
        return [dict(r) for r in self._all(
            "SELECT * FROM attachments WHERE report_id = ? ORDER BY version, id", (report_id,))]

    def urls(self, agency_id: str, url: str, *, status: str | None = None) -> set[str]:
        """The attachment URLs ever read with the report at (agency_id, url); with `status`,
        those that gave that extraction_status."""
        return {r["url"] for r in self._all(
            "SELECT DISTINCT a.url FROM attachments a JOIN reports r ON r.id = a.report_id "
            "WHERE r.agency_id = ? AND r.url = ? AND (? IS NULL OR a.extraction_status = ?)",
            (agency_id, url, status, status))}

    def record(self, report_id: int, version: int, files: Iterable[AttachmentFile], *,
               at: str, crawl_id: int | None = None, extractor_version: int | None = None) -> None:
        """Record files read with a report's version (re-extraction); one transaction."""
        with self._write():
            insert_attachments(self.db, report_id, version, files, at=at, crawl_id=crawl_id,
                               extractor_version=extractor_version)
