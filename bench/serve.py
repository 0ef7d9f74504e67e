"""Serve a directory on 127.0.0.1: nginx from Debian when it is installed or installable,
else Python's threaded HTTP server (say which: the numbers differ).

nginx is what real portals run behind (ETag and Last-Modified on static files, 304s to
conditional requests, keep-alive); the threaded server also answers If-Modified-Since with
304 but sends no ETag and costs more per request itself.
"""

from __future__ import annotations

import functools
import os
import shutil
import socket
import subprocess
import threading
import time
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

NGINX_CONF = """worker_processes 2;
daemon off;
pid {work}/nginx.pid;
error_log {work}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    include /etc/nginx/mime.types;
    types {{ text/html htm html shtml; application/pdf pdf; }}
    default_type application/octet-stream;
    access_log off;
    sendfile on;
    etag on;
    keepalive_requests 100000;
    client_body_temp_path {work}/body;
    proxy_temp_path {work}/proxy;
    fastcgi_temp_path {work}/fastcgi;
    uwsgi_temp_path {work}/uwsgi;
    scgi_temp_path {work}/scgi;
    server {{
        listen 127.0.0.1:{port};
        root {root};
    }}
}}
"""


def ensure_nginx(install: bool = True) -> str | None:
    """The nginx binary; installed with apt-get first when missing and we are root (guarded:
    only when missing, only once). None when it cannot be had."""
    found = shutil.which("nginx") or (os.path.exists("/usr/sbin/nginx") and "/usr/sbin/nginx")
    if found or not install or os.geteuid() != 0 or not shutil.which("apt-get"):
        return found or None
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for command in (["apt-get", "install", "-y", "-q", "nginx-light"],
                    ["apt-get", "update", "-q"], ["apt-get", "install", "-y", "-q", "nginx-light"]):
        subprocess.run(command, env=env, capture_output=True, timeout=900)
        found = shutil.which("nginx") or (os.path.exists("/usr/sbin/nginx") and "/usr/sbin/nginx")
        if found:
            return found
    return None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class _Quiet(SimpleHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as nginx

    def log_message(self, format, *args):
        pass


class Server:
    """`with Server(root) as server:` serves root at server.base (http://127.0.0.1:PORT)."""

    def __init__(self, root: Path, *, prefer_nginx: bool = True, install: bool = True):
        self.root = Path(root)
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.kind = "threaded"
        self._nginx = ensure_nginx(install) if prefer_nginx else None
        self._process: subprocess.Popen | None = None
        self._httpd: ThreadingHTTPServer | None = None

    def __enter__(self) -> "Server":
        if self._nginx:
            self._start_nginx()
        else:
            handler = functools.partial(_Quiet, directory=str(self.root))
            self._httpd = ThreadingHTTPServer(("127.0.0.1", self.port), handler)
            self._httpd.daemon_threads = True
            threading.Thread(target=self._httpd.serve_forever, daemon=True).start()
        self._wait()
        return self

    def _start_nginx(self) -> None:
        work = self.root.parent / f"nginx-{self.port}"
        work.mkdir(parents=True, exist_ok=True)
        # nginx's workers run as an unprivileged user: every folder on the way must be readable.
        for folder in (self.root, *self.root.parents):
            if folder == Path("/"):
                break
            mode = folder.stat().st_mode
            if not mode & 0o005:
                folder.chmod(mode | 0o755)
        conf = work / "nginx.conf"
        conf.write_text(NGINX_CONF.format(work=work, port=self.port, root=self.root))
        self._process = subprocess.Popen([self._nginx, "-c", str(conf), "-p", str(work)],
                                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        self.kind = "nginx"

    def _wait(self) -> None:
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if self._process is not None and self._process.poll() is not None:
                raise RuntimeError(f"nginx exited: {self._process.stderr.read().decode()[-2000:]}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"{self.kind} server did not listen on port {self.port}")

    def __exit__(self, *exc) -> None:
        if self._process is not None:
            self._process.terminate()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
