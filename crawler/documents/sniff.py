"""What kind of document a download is: first bytes, then Content-Type, then the extension.

The bytes decide when they say something: servers send PDFs as application/octet-stream or
text/html, and sites name a DOCX `.doc`. A ZIP is told apart by its members (word/ for DOCX,
xl/ for XLSX, OFD.xml for OFD); an OLE file (DOC, WPS, XLS) by its extension or type.
"""

from __future__ import annotations

import io
import zipfile
from urllib.parse import parse_qsl, unquote, urlsplit

DOCUMENT_EXTENSIONS = (".pdf", ".doc", ".docx", ".wps", ".ofd", ".xls", ".xlsx", ".zip", ".rar")

_BY_EXTENSION = {ext: ext[1:] for ext in DOCUMENT_EXTENSIONS}
_BY_TYPE = {
    "application/pdf": "pdf",
    "application/x-pdf": "pdf",
    "application/msword": "doc",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "docx",
    "application/kswps": "wps",
    "application/vnd.ms-works": "wps",
    "application/wps-office.wps": "wps",
    "application/ofd": "ofd",
    "application/vnd.ofd": "ofd",
    "application/vnd.ms-excel": "xls",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "xlsx",
    "application/zip": "zip",
    "application/x-rar-compressed": "rar",
    "application/vnd.rar": "rar",
}
_OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
# A body that starts as a ZIP but cannot be opened as one (cut in transfer, damaged).
BROKEN_ZIP = "broken-zip"


def extension_kind(url: str) -> str | None:
    """The kind a URL's extension names (also in a query value: download.jsp?file=a.pdf)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    candidates = [unquote(parts.path)] + [v for _, v in parse_qsl(parts.query)]
    for value in candidates:
        value = value.lower().strip()
        for ext, kind in _BY_EXTENSION.items():
            if value.endswith(ext):
                return kind
    return None


def type_kind(content_type: str) -> str | None:
    base = (content_type or "").split(";")[0].strip().lower()
    return _BY_TYPE.get(base)


def bytes_kind(body: bytes) -> str | None:
    """The kind the first bytes prove, None when they prove none."""
    head = body[:1024].lstrip()
    if head.startswith(b"%PDF") or b"%PDF-" in body[:1024]:
        return "pdf"
    if body.startswith(b"PK\x03\x04"):
        try:
            names = zipfile.ZipFile(io.BytesIO(body)).namelist()
        except (zipfile.BadZipFile, ValueError, OSError):
            return BROKEN_ZIP
        if "OFD.xml" in names or any(n.lower() == "ofd.xml" for n in names):
            return "ofd"
        if any(n.startswith("word/") for n in names):
            return "docx"
        if any(n.startswith("xl/") for n in names):
            return "xlsx"
        return "zip"
    if body.startswith(_OLE):
        return "ole"
    if body.startswith(b"Rar!"):
        return "rar"
    if body.startswith(b"{\\rtf"):
        return "rtf"
    return None


def document_kind(body: bytes, content_type: str = "", url: str = "") -> str:
    """pdf, docx, doc, wps, ofd, xlsx, xls, zip, rar, rtf or unknown."""
    by_bytes = bytes_kind(body)
    declared = type_kind(content_type) or extension_kind(url)
    if by_bytes == BROKEN_ZIP:  # cut or damaged: what it says it is, else a ZIP
        return declared if declared in ("docx", "xlsx", "ofd") else "zip"
    if by_bytes == "ole":  # DOC, WPS and XLS share the container: the name or type tells
        return declared if declared in ("doc", "wps", "xls") else "doc"
    if by_bytes is not None:
        return by_bytes
    return declared or "unknown"


def is_document_response(body: bytes, content_type: str, url: str) -> bool:
    """Is an answer a document file rather than a page? A page typed text/html is a page
    unless its bytes are a document's; an octet-stream or a document type is a document
    unless it is plainly markup; otherwise the extension decides."""
    by_bytes = bytes_kind(body)
    if by_bytes is not None:
        return True
    base = (content_type or "").split(";")[0].strip().lower()
    if base.startswith("text/") or base in ("application/xhtml+xml",):
        return False
    head = body[:512].lstrip().lower()
    if head.startswith((b"<!doctype html", b"<html", b"<?xml", b"<head", b"<body")):
        return False
    return type_kind(content_type) is not None or base == "application/octet-stream" \
        or extension_kind(url) is not None
