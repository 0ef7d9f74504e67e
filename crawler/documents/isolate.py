"""Read a document in a child process with a time limit and a memory cap.

A hostile or broken file can make a parser loop, allocate without end or crash in C code;
run in the crawl's own process it would stop every agency's crawl. The child is a fresh
Python (`python -m nianbao.crawler.documents.worker`) given the file on stdin and answering
one JSON object on stdout; it is killed after NIANBAO_DOCUMENT_TIMEOUT seconds and may not
use more than NIANBAO_DOCUMENT_MAX_MEMORY bytes. Starting it costs about 0.3 s, small next
to a download; a crawl reads few files.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass

from .model import MALFORMED, TOO_LARGE, DocumentText
from .sniff import document_kind


def _env_int(name: str, default: int) -> int:
    try:
        return int(float(os.environ.get(name, default)))
    except ValueError:
        return default


@dataclass(frozen=True)
class DocumentLimits:
    """Caps on reading one document. Scrapy settings of the same names override them in a
    crawl (`-s NIANBAO_DOCUMENT_MAX_BYTES=...`); elsewhere the environment variables do."""

    max_bytes: int = 20 * 1024 * 1024   # NIANBAO_DOCUMENT_MAX_BYTES: larger files are kept, not read
    max_pages: int = 500                # NIANBAO_DOCUMENT_MAX_PAGES
    timeout: float = 60.0               # NIANBAO_DOCUMENT_TIMEOUT, seconds per file
    max_memory: int = 1024 * 1024 * 1024  # NIANBAO_DOCUMENT_MAX_MEMORY, bytes of the child

    @classmethod
    def from_env(cls) -> DocumentLimits:
        d = cls()
        return cls(max_bytes=_env_int("NIANBAO_DOCUMENT_MAX_BYTES", d.max_bytes),
                   max_pages=_env_int("NIANBAO_DOCUMENT_MAX_PAGES", d.max_pages),
                   timeout=float(_env_int("NIANBAO_DOCUMENT_TIMEOUT", int(d.timeout))),
                   max_memory=_env_int("NIANBAO_DOCUMENT_MAX_MEMORY", d.max_memory))

    @classmethod
    def from_settings(cls, settings) -> DocumentLimits:
        d = cls.from_env()
        return cls(max_bytes=settings.getint("NIANBAO_DOCUMENT_MAX_BYTES", d.max_bytes),
                   max_pages=settings.getint("NIANBAO_DOCUMENT_MAX_PAGES", d.max_pages),
                   timeout=settings.getfloat("NIANBAO_DOCUMENT_TIMEOUT", d.timeout),
                   max_memory=settings.getint("NIANBAO_DOCUMENT_MAX_MEMORY", d.max_memory))


def read_isolated(body: bytes, content_type: str = "", url: str = "",
                  limits: DocumentLimits | None = None) -> DocumentText:
    """The document's text or status, read in a child process; never raises for the file."""
    limits = limits or DocumentLimits.from_env()
    kind = document_kind(body, content_type, url)
    if len(body) > limits.max_bytes:
        return DocumentText(kind, TOO_LARGE, f"{len(body)} bytes (more than "
                            f"NIANBAO_DOCUMENT_MAX_BYTES={limits.max_bytes}); the file is kept, not read")

    # The child caps its own memory (RLIMIT_AS) first thing: a preexec_fn would run between
    # fork and exec in a process that has threads (Scrapy's), which Python warns against.
    command = [sys.executable, "-m", "nianbao.crawler.documents.worker",
               content_type or "", url or "", str(limits.max_pages), str(limits.max_memory)]
    try:
        done = subprocess.run(command, input=body, capture_output=True, timeout=limits.timeout)
    except subprocess.TimeoutExpired:
        return DocumentText(kind, MALFORMED, f"reading took longer than {limits.timeout:g} s "
                            "(NIANBAO_DOCUMENT_TIMEOUT): a hostile or broken file?")
    if done.returncode != 0:
        tail = done.stderr.decode("utf-8", "replace").strip().splitlines()[-1:] or [""]
        if "MemoryError" in tail[0] or done.returncode < 0:
            return DocumentText(kind, MALFORMED, f"the reader died ({tail[0][:150] or done.returncode}): "
                                f"more memory than NIANBAO_DOCUMENT_MAX_MEMORY={limits.max_memory}?")
        return DocumentText(kind, MALFORMED, f"the reader failed: {tail[0][:200]}")
    try:
        return DocumentText.from_json(json.loads(done.stdout))
    except (ValueError, KeyError) as exc:
        return DocumentText(kind, MALFORMED, f"the reader gave no answer: {exc}"[:200])
