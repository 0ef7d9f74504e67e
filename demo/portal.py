"""Serve the demo portal on 127.0.0.1 (a real HTTP server, in a thread).

Used by `make demo` and as the fixture of the end-to-end tests, which change pages between
crawls (`set_page`, `set_status`, `set_delay`) to make a report change, vanish or hang.
"""

from __future__ import annotations

import socket
import threading
import time
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import yaml

from nianbao.demo.documents import build_attach
from nianbao.demo.ground import build_ground
from nianbao.demo.redesign import build_redesign, redesign
from nianbao.demo.site import Page, build_site, hanweb_proxy_reply

NOT_FOUND = Page(b"<html><body><h1>404 Not Found</h1></body></html>", status=404)


def closed_port() -> int:
    """A port on 127.0.0.1 with nothing listening (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class DemoPortal:
    """A small portal with several agencies, on a free port of 127.0.0.1."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0):
        self._server = ThreadingHTTPServer((host, port), _Handler)
        self._server.daemon_threads = True
        self._server.portal = self
        self.base_url = f"http://{host}:{self._server.server_address[1]}"
        self.dead_url = f"http://127.0.0.1:{closed_port()}/xxgk/index.html"
        self.site = build_site(self.base_url, self.dead_url)
        build_ground(self.site, self.base_url)
        build_redesign(self.site, self.base_url)
        build_attach(self.site, self.base_url)  # after the others: tests use the first five
        self.requests: list[tuple[str, str]] = []  # (method, path) of every request served
        self.user_agents: list[str] = []
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    # --- lifecycle ------------------------------------------------------------------------
    def start(self) -> "DemoPortal":
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> "DemoPortal":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # --- what tests change --------------------------------------------------------------------
    def page(self, path: str) -> Page:
        return self.site.pages[path]

    def set_page(self, path: str, page: Page) -> None:
        with self._lock:
            self.site.pages[path] = page

    def set_status(self, path: str, status: int) -> None:
        self.set_page(path, replace(self.site.pages.get(path, NOT_FOUND), status=status))

    def set_delay(self, path: str, seconds: float) -> None:
        self.set_page(path, replace(self.site.pages[path], delay=seconds))

    def redesign(self) -> None:
        """Redesign demo-redesign's site: new layout, new URLs, every old URL 404."""
        with self._lock:
            redesign(self.site)

    def write_registry(self, path: str | Path) -> Path:
        """Write an agencies.yaml for this portal and return its path."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        document = {"agencies": self.site.agencies}
        path.write_text(yaml.safe_dump(document, allow_unicode=True, sort_keys=False), encoding="utf-8")
        return path

    # --- serving ------------------------------------------------------------------------------
    def resolve(self, method: str, raw_path: str, form: dict[str, list[str]], user_agent: str = "") -> Page:
        with self._lock:
            self.requests.append((method, raw_path))
            self.user_agents.append(user_agent)
        parts = urlsplit(raw_path)
        if parts.path.endswith("/dataproxy.jsp"):
            query = parse_qs(parts.query)
            params = {**form, **query}
            if params.get("columnid") != ["1422"]:
                return NOT_FOUND
            start, end = int(params["startrecord"][0]), int(params["endrecord"][0])
            return Page(hanweb_proxy_reply(self.site.hanweb_records, start, end),
                        content_type="text/xml; charset=utf-8")
        for prefix, handler in self.site.handlers.items():
            if parts.path.startswith(prefix):
                return handler(method, parts.path, parts.query)
        with self._lock:
            return self.site.pages.get(raw_path) or self.site.pages.get(parts.path) or NOT_FOUND


class _Handler(BaseHTTPRequestHandler):
    server_version = "DemoPortal/1.0"

    def do_GET(self):
        self._answer("GET", {})

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        form = parse_qs(self.rfile.read(length).decode("utf-8")) if length else {}
        self._answer("POST", form)

    def _answer(self, method: str, form: dict) -> None:
        page = self.server.portal.resolve(method, self.path, form, self.headers.get("User-Agent", ""))
        if page.delay:
            time.sleep(page.delay)
        try:
            self.send_response(page.status)
            self.send_header("Content-Type", page.content_type)
            self.send_header("Content-Length", str(len(page.body)))
            self.end_headers()
            self.wfile.write(page.body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the crawler gave up waiting (a timeout test); nothing to tell it

    def log_message(self, format, *args):  # keep test and demo output quiet
        pass
