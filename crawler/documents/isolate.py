"""Read a document in a child process with a time limit and a memory cap.

A hostile or broken file can make a parser loop, allocate without end or crash in C code;
run in the crawl's own process it would stop every agency's crawl. Each file is read in a
child of its own, killed after NIANBAO_DOCUMENT_TIMEOUT seconds and capped (RLIMIT_AS) at
NIANBAO_DOCUMENT_MAX_MEMORY bytes of address space.

The children are forked from a multiprocessing fork server that imported the readers
(pdfplumber, lxml, ...) once: a fresh Python per file cost about 0.35 s of CPU, nearly all
of it imports, which on a portal that publishes its reports as PDFs was most of a first
crawl's CPU (bench/README.md). The fork server is a single-threaded process of its own, so
forking it is safe where forking the crawl (which has threads) would not be; it exits with
the process that started it. The memory cap counts the readers already loaded (about 60 MB).
"""

from __future__ import annotations

import multiprocessing
import os
import threading
from dataclasses import dataclass

from .model import MALFORMED, TOO_LARGE, DocumentText
from .sniff import document_kind

# What the fork server imports before it forks a reader: everything `read_document` needs.
PRELOAD = ["nianbao.crawler.documents.preload"]
_context_lock = threading.Lock()
_context = None


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


def _readers():
    global _context
    with _context_lock:
        if _context is None:
            context = multiprocessing.get_context("forkserver")
            context.set_forkserver_preload(PRELOAD)
            _context = context
        return _context


def _read_in_child(connection, body: bytes, content_type: str, url: str, max_pages: int,
                   max_memory: int) -> None:
    """The child: cap its memory before touching the file, answer one message, exit."""
    import resource

    try:
        resource.setrlimit(resource.RLIMIT_AS, (max_memory, max_memory))
        from .formats import read_document

        answer = ("ok", read_document(body, content_type, url, max_pages=max_pages).to_json())
    except MemoryError:
        answer = ("memory", "MemoryError")
    except BaseException as exc:  # the file's fault, reported as its status
        answer = ("error", f"{type(exc).__name__}: {exc}")
    try:
        connection.send(answer)
    except MemoryError:
        os._exit(3)
    finally:
        connection.close()


def read_isolated(body: bytes, content_type: str = "", url: str = "",
                  limits: DocumentLimits | None = None) -> DocumentText:
    """The document's text or status, read in a child process; never raises for the file."""
    limits = limits or DocumentLimits.from_env()
    kind = document_kind(body, content_type, url)
    if len(body) > limits.max_bytes:
        return DocumentText(kind, TOO_LARGE, f"{len(body)} bytes (more than "
                            f"NIANBAO_DOCUMENT_MAX_BYTES={limits.max_bytes}); the file is kept, not read")

    context = _readers()
    ours, theirs = context.Pipe(duplex=False)
    child = context.Process(target=_read_in_child, daemon=True,
                            args=(theirs, body, content_type or "", url or "",
                                  limits.max_pages, limits.max_memory))
    child.start()
    theirs.close()  # so that a child dying without an answer reads as end of file here
    try:
        if not ours.poll(limits.timeout):
            return DocumentText(kind, MALFORMED, f"reading took longer than {limits.timeout:g} s "
                                "(NIANBAO_DOCUMENT_TIMEOUT): a hostile or broken file?")
        try:
            status, payload = ours.recv()
        except (EOFError, OSError):
            status, payload = "died", None
    finally:
        ours.close()
        if child.is_alive():
            child.kill()
        child.join(5)
    if status == "ok":
        try:
            return DocumentText.from_json(payload)
        except (ValueError, KeyError, TypeError) as exc:
            return DocumentText(kind, MALFORMED, f"the reader gave no answer: {exc}"[:200])
    if status in ("memory", "died"):
        why = payload or f"exit code {child.exitcode}"
        return DocumentText(kind, MALFORMED, f"the reader died ({why}): "
                            f"more memory than NIANBAO_DOCUMENT_MAX_MEMORY={limits.max_memory}?")
    return DocumentText(kind, MALFORMED, f"the reader failed: {payload}"[:200])
