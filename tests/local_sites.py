"""Small HTTP servers on loopback addresses for crawl tests: pages, redirects, a request log.

Unlike the demo portal (one whole site), a LocalSite is built by the test that needs it:
`page()`, `data()` and `redirect()` add answers, `handle()` answers a path by a function of
the method, query and form (a data proxy, a JSON API), `delays` slows a path's answer,
`requests` lists the paths asked for
and `calls` the (method, path) of each. Several sites on different ports (or on 127.0.0.2)
make "another port" and "another address" real.
"""

from __future__ import annotations

import email.utils
import hashlib
import html
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable
from urllib.parse import parse_qsl, urlsplit

import yaml

from nianbao.demo.site import paragraphs, report_text, trs_article


# Last-Modified of the n-th edit of a LocalSite answer: long settled, later for later edits.
FIRST_EDIT = 1_700_000_000


class LocalSite:
    def __init__(self, host: str = "127.0.0.1", validators: str | None = None):
        """validators: None (no ETag, no Last-Modified, conditional headers ignored), "etag"
        (an ETag per body; If-None-Match answered 304) or "last_modified" (a Last-Modified
        per edit; If-Modified-Since answered 304), as web servers do."""
        self.validators = validators
        self._edits: dict[str, int] = {}  # path -> the number of the edit that set its answer
        self._edit_count = 0
        self.not_modified: list[str] = []  # paths answered 304
        self._server = ThreadingHTTPServer((host, 0), _Handler)
        self._server.daemon_threads = True
        self._server.site = self
        self.host = host
        self.port = self._server.server_address[1]
        self.answers: dict[str, tuple[int, dict[str, str], bytes]] = {
            "/robots.txt": (200, {"Content-Type": "text/plain"}, b"User-agent: *\nAllow: /\n"),
        }
        self.requests: list[str] = []
        self.calls: list[tuple[str, str]] = []
        # path (no query) -> fn(method, query pairs, form pairs) -> (status, content type, body)
        self.handlers: dict[str, Callable] = {}
        self.user_agents: list[str | None] = []  # the User-Agent of each request, in order
        # path -> seconds to wait before answering (a slow server: controls the answers' order)
        self.delays: dict[str, float] = {}
        self._lock = threading.Lock()

    def url(self, path: str = "/", host: str | None = None) -> str:
        return f"http://{host or self.host}:{self.port}{path}"

    # --- answers --------------------------------------------------------------------------
    def page(self, path: str, body: str, status: int = 200) -> None:
        self._edit_count += 1
        self._edits[path] = self._edit_count
        self.answers[path] = (status, {"Content-Type": "text/html; charset=utf-8"}, body.encode("utf-8"))

    def data(self, path: str, body: str, content_type: str = "application/json; charset=utf-8",
             status: int = 200) -> None:
        self.answers[path] = (status, {"Content-Type": content_type}, body.encode("utf-8"))

    def handle(self, path: str, fn: Callable) -> None:
        self.handlers[path] = fn

    def redirect(self, path: str, location: str, status: int = 302) -> None:
        self.answers[path] = (status, {"Location": location, "Content-Type": "text/html"}, b"<html>moved</html>")

    def report(self, path: str, title: str, year: int) -> None:
        """An annual report article (TRS style) that the crawler stores if it fetches it."""
        self.page(path, trs_article(title, f"{year + 1}-01-20", paragraphs(report_text("示例县人民政府", year))))

    def listing(self, path: str, links: list[tuple[str, str]]) -> None:
        """A listing page: (href, title) per row; a title 下一页 makes a pager link."""
        rows = "\n".join(f'<li><a href="{html.escape(href)}">{html.escape(title)}</a><span>2020-01-20</span></li>'
                         for href, title in links)
        self.page(path, f"<html><head><meta charset='utf-8'><title>年报</title></head><body><ul>{rows}</ul></body></html>")

    def conditional(self, path: str, status: int, headers: dict[str, str], body: bytes,
                    request_headers) -> tuple[int, dict[str, str], bytes]:
        """The answer with validators, or a 304 when the request's validator still holds."""
        if self.validators is None or status != 200:
            return status, headers, body
        headers = dict(headers)
        if self.validators == "etag":
            tag = '"' + hashlib.sha1(body).hexdigest()[:16] + '"'
            headers["ETag"] = tag
            fresh = request_headers.get("If-None-Match") == tag
        else:
            stamp = email.utils.formatdate(FIRST_EDIT + 3600 * self._edits.get(path, 0), usegmt=True)
            headers["Last-Modified"] = stamp
            fresh = request_headers.get("If-Modified-Since") == stamp
        if fresh:
            with self._lock:
                self.not_modified.append(path)
            return 304, {k: v for k, v in headers.items() if k != "Content-Type"}, b""
        return status, headers, body

    def served(self, path: str) -> bool:
        return path in self.requests

    # --- lifecycle ------------------------------------------------------------------------
    def __enter__(self) -> "LocalSite":
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _answer(self, path: str, method: str = "GET", form: str = "",
                user_agent: str | None = None) -> tuple[int, dict[str, str], bytes]:
        with self._lock:
            self.requests.append(path)
            self.calls.append((method, path))
            self.user_agents.append(user_agent)
        if path in self.delays:
            time.sleep(self.delays[path])
        parts = urlsplit(path)
        handler = self.handlers.get(parts.path)
        if handler is not None:
            status, content_type, body = handler(method, parse_qsl(parts.query, keep_blank_values=True),
                                                 parse_qsl(form, keep_blank_values=True))
            return status, {"Content-Type": content_type}, body.encode("utf-8")
        missing = (404, {"Content-Type": "text/html"}, b"<html>404</html>")
        if method != "GET":  # a page that exists answers other methods with 405
            return (405, {"Content-Type": "text/html"}, b"<html>405 Method Not Allowed</html>"
                    ) if path in self.answers else missing
        return self.answers.get(path, missing)


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        site = self.server.site
        answer = site._answer(self.path, user_agent=self.headers.get("User-Agent"))
        self._send(*site.conditional(self.path, *answer, self.headers))

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        form = self.rfile.read(length).decode("utf-8") if length else ""
        self._send(*self.server.site._answer(self.path, "POST", form,
                                             user_agent=self.headers.get("User-Agent")))

    def _send(self, status, headers, body):
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format, *args):
        pass


def write_registry(path, *agencies: dict):
    """agencies.yaml with the given agencies (id, sources, optional domains)."""
    document = {"agencies": [
        {"name": "示例县人民政府", "kind": "government", "start_year": 2015, **agency} for agency in agencies
    ]}
    path.write_text(yaml.safe_dump(document, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path
