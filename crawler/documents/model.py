"""What reading a document gives: its text, or a status with the reason it has none."""

from __future__ import annotations

from dataclasses import dataclass

OK = "ok"                    # text read
EMPTY = "empty"              # a well-formed file without text (no text layer and no images)
SCANNED = "scanned"          # pages of images without a text layer (a scan; OCR is not done)
ENCRYPTED = "encrypted"      # needs a password
UNSUPPORTED = "unsupported"  # a kind nianbao does not read (XLS, RAR, a font without Unicode map)
TOO_LARGE = "too_large"      # over NIANBAO_DOCUMENT_MAX_BYTES or NIANBAO_DOCUMENT_MAX_PAGES
MALFORMED = "malformed"      # broken, hostile (zip bomb, XML entities) or too slow to read
EXTRACTION_STATUSES = (OK, EMPTY, SCANNED, ENCRYPTED, UNSUPPORTED, TOO_LARGE, MALFORMED)


@dataclass(frozen=True)
class DocumentText:
    """kind: pdf, docx, doc, wps, ofd, xlsx, xls, zip, rar or unknown. text: one line per
    paragraph, table rows as `a | b | c`; empty unless status is 'ok'. pages: how many the
    file has, when the format says."""

    kind: str
    status: str
    reason: str = ""
    text: str = ""
    pages: int | None = None

    def to_json(self) -> dict:
        return {"kind": self.kind, "status": self.status, "reason": self.reason,
                "text": self.text, "pages": self.pages}

    @classmethod
    def from_json(cls, data: dict) -> DocumentText:
        return cls(kind=data["kind"], status=data["status"], reason=data.get("reason", ""),
                   text=data.get("text", ""), pages=data.get("pages"))
