"""A report's text from its article and its files.

- The article only points at its file ("详见附件", "现将…予以公布", a file name, a download
  prompt; fewer than POINTER_MAX_CHARS Chinese characters besides such lines): the report's
  text is the file's (several files: each under a `【附件：name】` line).
- The article has a text of its own: the article, then each readable file under a
  `【附件：name】` line, so search and statistics see both.
- No file could be read: the article's text alone (which may be empty; a file-only report is
  then identified by its bytes, storage.history.fetch_hash).
Year, text year and issuer are read again from the combined text: the statistics period is
in the file.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence
from urllib.parse import unquote, urlsplit

from nianbao.crawler import classify
from nianbao.crawler.cleanup import normalize_title
from nianbao.storage import AttachmentFile

from .isolate import DocumentLimits, read_isolated
from .sniff import document_kind

# An article with fewer Chinese characters than this outside its pointer lines has no text
# of its own (a real report, even a short one, has thousands).
POINTER_MAX_CHARS = 80
_POINTER_LINE = re.compile(
    r"详见|见附件|附件|请(?:查看|下载|点击)|点击|下载|查看|全文|原文|予以公[布开]|现将|印发|公布如下|如下"
    r"|\.(?:pdf|docx?|wps|ofd|xlsx?)\b", re.I)
_CJK = re.compile(r"[\u4e00-\u9fff]")


def read_file(url: str, body: bytes, content_type: str, *, final_url: str | None = None,
              limits: DocumentLimits | None = None) -> AttachmentFile:
    """Read one file (in a child process, under the limits) into what the store keeps."""
    result = read_isolated(body, content_type, final_url or url, limits)
    return AttachmentFile(url=url, body=body, content_type=content_type,
                          kind=document_kind(body, content_type, final_url or url),
                          extraction_status=result.status, reason=result.reason,
                          text=result.text, pages=result.pages,
                          final_url=final_url if final_url and final_url != url else None)


def is_pointer(text: str) -> bool:
    """Does an article's text only point at its attachment?"""
    substance = 0
    for line in text.splitlines():
        if len(line) <= 120 and _POINTER_LINE.search(line):
            continue
        substance += len(_CJK.findall(line))
    return substance < POINTER_MAX_CHARS


def file_label(url: str) -> str:
    """A file's name for the separator line: the link's last path segment, decoded."""
    try:
        path = urlsplit(url).path
    except ValueError:
        path = url
    return normalize_title(unquote(path.rstrip("/").rsplit("/", 1)[-1])) or "附件"


def combined_text(article: str, files: Sequence[AttachmentFile]) -> str:
    readable = [f for f in files if f.text]
    if not readable:
        return article
    pointer = is_pointer(article)
    if pointer and len(readable) == 1:
        return readable[0].text
    parts = [] if pointer else [article]
    for f in readable:
        parts.append(f"【附件：{file_label(f.url)}】\n{f.text}")
    return "\n\n".join(p for p in parts if p)


def with_files(extracted, files: Sequence[AttachmentFile]):
    """An Extracted (crawler.extract) whose text takes in its files' texts (see the module)."""
    text = combined_text(extracted.text, files)
    if text == extracted.text:
        return extracted
    attribution = classify.attribute_year(extracted.title, text, extracted.published_date)
    read = [f"{f.kind} {f.extraction_status}" + (f": {f.reason}" if f.reason else "") for f in files]
    return dataclasses.replace(
        extracted, text=text, year=attribution.year, title_year=attribution.title_year,
        text_year=attribution.text_year, year_basis=attribution.basis,
        issuer=extracted.issuer or classify.text_issuer(text),
        reasons=(*extracted.reasons, "text from attachments: " + "; ".join(read)),
    )
