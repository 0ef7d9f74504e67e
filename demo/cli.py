"""`nianbao demo`: the demo portal, crawled once (what `make demo` does), or served alone.

`nianbao demo --serve` serves the portal on 127.0.0.1 until Ctrl-C or SIGTERM and writes a
registry for it (`demo-output/agencies.yaml`), so that `nianbao crawl`, `nianbao daemon`,
`nianbao notify` and `nianbao serve` can be tried against it. With `--receiver`, a webhook
receiver on 127.0.0.1 prints every notification it gets (title, then message) and the
registry's `notify` points at it (`json://127.0.0.1:PORT/demo`).

Only click is imported at the top: `nianbao --help` must not load the portal (or Scrapy).
"""

from __future__ import annotations

import json
import signal
import sys
import threading
from pathlib import Path

import click

DEFAULT_PORT = 8765  # fixed: reports are identified by URL, a second run must see the same ones


def _receiver(port: int):
    """A json:// receiver on 127.0.0.1 that prints each message; returns the server."""
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length)
            try:
                body = json.loads(raw.decode("utf-8"))
            except ValueError:
                body = {"title": "(not JSON)", "message": raw.decode("utf-8", "replace")}
            click.echo(f"--- notification: {body.get('title', '')}\n{body.get('message', '')}\n")
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def serve_demo(out: Path, port: int, receiver_port: int | None) -> None:
    import yaml

    from nianbao.demo.portal import DemoPortal

    try:
        portal = DemoPortal(port=port)
    except OSError as exc:
        raise click.ClickException(f"cannot listen on 127.0.0.1:{port} ({exc.strerror}); try --port N")
    receiver = None
    if receiver_port is not None:
        try:
            receiver = _receiver(receiver_port)
        except OSError as exc:
            portal.stop()
            raise click.ClickException(f"cannot listen on 127.0.0.1:{receiver_port} ({exc.strerror})")
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    with portal:
        config = portal.write_registry(out / "agencies.yaml")
        if receiver is not None:
            document = yaml.safe_load(config.read_text(encoding="utf-8"))
            url = f"json://127.0.0.1:{receiver.server_address[1]}/demo"
            config.write_text(yaml.safe_dump({"notify": [url], **document}, allow_unicode=True,
                                             sort_keys=False), encoding="utf-8")
        db = out / "nianbao.db"
        click.echo(f"Demo portal serving {len(portal.site.pages)} pages at {portal.base_url} "
                   f"({len(portal.site.agencies)} agencies)")
        if receiver is not None:
            click.echo(f"Notification receiver on http://127.0.0.1:{receiver.server_address[1]}/demo")
        click.echo(f"Registry: {config}\nTry, in another terminal:\n"
                   f"  nianbao crawl --config {config} --db {db}\n"
                   f"  nianbao daemon --config {config} --db {db}\n"
                   f"  nianbao notify --config {config} --db {db}\n"
                   "Ctrl-C stops the portal.", )
        sys.stdout.flush()
        while not stop.wait(0.5):
            pass
    if receiver is not None:
        receiver.shutdown()
        receiver.server_close()
    click.echo("Demo portal stopped.")


@click.command()
@click.option("--serve", is_flag=True,
              help="Only serve the portal (and write its registry) until Ctrl-C, to try "
                   "crawl, daemon and notifications against it.")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=Path("demo-output"),
              show_default=True, help="Folder for the registry and the database.")
@click.option("--port", type=click.IntRange(0, 65535), default=DEFAULT_PORT, show_default=True,
              help="Port on 127.0.0.1 (0: any free port).")
@click.option("--receiver", "receiver_port", type=click.IntRange(0, 65535), default=None,
              help="With --serve: also run a webhook receiver on this port of 127.0.0.1 that "
                   "prints each notification (0: any free port), named in the registry's notify.")
@click.option("--fresh", is_flag=True, help="Without --serve: delete the demo database first.")
def demo(serve, out, port, receiver_port, fresh) -> None:
    """The demo portal on 127.0.0.1: crawled once and reported, or served alone (--serve)."""
    out.mkdir(parents=True, exist_ok=True)
    if serve:
        serve_demo(out, port, receiver_port)
        return
    if receiver_port is not None:
        raise click.UsageError("--receiver goes with --serve")
    from nianbao.demo.__main__ import run_demo

    run_demo(out, fresh=fresh, port=port)
