"""Documents: reports and attachments published as files (PDF, DOCX, DOC, WPS, OFD, XLS/XLSX).

- `sniff`: what kind of file a download is, from its first bytes, its Content-Type and its
  URL's extension (the bytes win when they disagree: portals serve PDFs as
  application/octet-stream and name DOCX files .doc);
- `formats`: one reader per kind, each turning bytes into text rows (tables as `a | b | c`)
  or a status with a reason (`ok`, `empty`, `scanned`, `encrypted`, `unsupported`,
  `too_large`, `malformed`);
- `isolate`: every file is read in a child process with a time limit and a memory cap, so a
  hostile file (zip bomb, entity expansion, a PDF that loops) costs one attachment, never
  the crawl;
- `combine`: a report's text from its article and its attachments.

No Scrapy here: `nianbao reextract` and `nianbao extract` read stored files the same way.
The library comparison behind the choices is in docs/documents.md.
"""

from __future__ import annotations

from .isolate import DocumentLimits, read_isolated
from .model import (
    DocumentText,
    EMPTY,
    ENCRYPTED,
    EXTRACTION_STATUSES,
    MALFORMED,
    OK,
    SCANNED,
    TOO_LARGE,
    UNSUPPORTED,
)
from .sniff import DOCUMENT_EXTENSIONS, document_kind, is_document_response
from .formats import read_document

__all__ = ["DocumentLimits", "DocumentText", "read_document", "read_isolated", "document_kind",
           "is_document_response", "DOCUMENT_EXTENSIONS", "EXTRACTION_STATUSES", "OK", "EMPTY",
           "SCANNED", "ENCRYPTED", "UNSUPPORTED", "TOO_LARGE", "MALFORMED"]
