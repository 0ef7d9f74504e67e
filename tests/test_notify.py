"""Notifications: real apprise json:// deliveries to an HTTP receiver on 127.0.0.1."""

from __future__ import annotations

import json
import logging
import os
import re
import sqlite3
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from click.testing import CliRunner

from nianbao.config.registry import load_registry
from nianbao.demo.portal import closed_port
from nianbao.monitor.notify import (
    DIGEST_AFTER,
    compose,
    deliver_pending,
    masked_url,
    redact,
    target_key,
    targets_of,
)
from nianbao.storage import AgencyRecord, ReportFetch, Store
from nianbao.storage.part import fetch_all
from tests.conftest import REPO

pytestmark = pytest.mark.timeout(60)


class Receiver:
    """Collects the JSON bodies POSTed to it; `status` is what it answers, after `delay`
    seconds."""

    def __init__(self, port: int = 0):
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length).decode("utf-8"))
                with receiver.lock:
                    receiver.posts.append((self.path, body))
                    receiver.headers.append(dict(self.headers))
                if receiver.delay:
                    time.sleep(receiver.delay)
                self.send_response(receiver.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.posts: list[tuple[str, dict]] = []
        self.headers: list[dict] = []
        self.status = 200
        self.delay = 0.0
        self.lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path: str = "hook") -> str:
        return f"json://127.0.0.1:{self.port}/{path}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    running = Receiver()
    yield running
    running.close()


def write_config(tmp_path, notify=(), agency_notify=None):
    agencies = [
        {"id": "shi-mzj", "name": "示例市民政局", "kind": "department", "start_year": 2019,
         "sources": ["http://127.0.0.1:9/a/index.html"]},
        {"id": "xian-zf", "name": "示例县人民政府", "kind": "government", "start_year": 2019,
         "sources": ["http://127.0.0.1:9/b/index.html"]},
    ]
    if agency_notify:
        agencies[1]["notify"] = list(agency_notify)
    path = tmp_path / "agencies.yaml"
    path.write_text(json.dumps({"notify": list(notify), "agencies": agencies},
                               ensure_ascii=False), encoding="utf-8")
    return load_registry(path)


@pytest.fixture
def store(tmp_path):
    with Store(tmp_path / "nianbao.db") as opened:
        opened.agencies.sync([
            AgencyRecord("shi-mzj", "示例市民政局", "department", None, 2019, ("http://x/",)),
            AgencyRecord("xian-zf", "示例县人民政府", "government", None, 2019, ("http://y/",)),
        ])
        yield opened


def add_report(store, agency_id, year, n=1):
    for i in range(n):
        store.history.record_report(ReportFetch(
            agency_id=agency_id, url=f"http://x/{agency_id}/{year}/{i}.html",
            title=f"{year}年政府信息公开工作年度报告", text=f"正文 {i}", kind="annual_report",
            year=year, published_date=None, raw_page=b"<html></html>", raw_encoding="utf-8",
            fetched_at="2021-01-20T00:00:00Z"))


def deliveries(store):
    return [dict(r) for r in fetch_all(store.db, "SELECT * FROM deliveries ORDER BY finding_id, target")]


def test_each_finding_is_delivered_once_with_a_readable_message(tmp_path, store, receiver):
    registry = write_config(tmp_path, notify=[receiver.url()])
    add_report(store, "shi-mzj", 2020)
    report = deliver_pending(store, registry)
    assert (report.delivered, report.failed, report.messages) == (1, 0, 1)
    [(path, body)] = receiver.posts
    assert path == "/hook"
    assert body["title"] == "nianbao: 新发现年报 — 示例市民政局 2020年度"
    assert "机构：示例市民政局（shi-mzj）" in body["message"]
    assert "报告网址：http://x/shi-mzj/2020/0.html" in body["message"]
    assert (body["finding_id"], body["kind"], body["agency_id"], body["year"]) == (1, "new", "shi-mzj", 2020)
    [row] = deliveries(store)
    assert (row["status"], row["attempts"], row["target_key"]) == (
        "delivered", 1, target_key(receiver.url()))
    # Running again delivers nothing more.
    again = deliver_pending(store, registry)
    assert (again.delivered, again.failed) == (0, 0)
    assert len(receiver.posts) == 1


def test_receiver_down_then_up_is_retried_and_delivered_once(tmp_path, store):
    port = closed_port()
    url = f"json://127.0.0.1:{port}/hook"
    registry = write_config(tmp_path, notify=[url])
    add_report(store, "shi-mzj", 2020)
    add_report(store, "xian-zf", 2020)

    down = deliver_pending(store, registry)
    # A target that is down is tried once per call, then left for the next cycle.
    assert (down.delivered, down.failed, down.waiting) == (0, 1, 1)
    assert down.errors and "127.0.0.1" in down.errors[0]
    [row] = deliveries(store)
    assert (row["status"], row["attempts"]) == ("failed", 1)
    assert row["error"]

    up = Receiver(port)
    try:
        report = deliver_pending(store, registry)
        assert (report.delivered, report.failed) == (2, 0)
        assert len(up.posts) == 2
        rows = deliveries(store)
        assert [(r["status"], r["attempts"]) for r in rows] == [("delivered", 2), ("delivered", 1)]
        assert all(r["error"] is None and r["delivered_at"] for r in rows)
        assert deliver_pending(store, registry).delivered == 0
        assert len(up.posts) == 2
    finally:
        up.close()


def test_a_failing_target_does_not_block_another(tmp_path, store, receiver):
    down = f"json://127.0.0.1:{closed_port()}/hook"
    registry = write_config(tmp_path, notify=[down, receiver.url()])
    add_report(store, "shi-mzj", 2020)
    report = deliver_pending(store, registry)
    assert (report.delivered, report.failed) == (1, 1)
    assert len(receiver.posts) == 1
    assert {r["status"] for r in deliveries(store)} == {"delivered", "failed"}


def test_agency_targets_get_only_their_agency_and_http_errors_fail(tmp_path, store, receiver):
    registry = write_config(tmp_path, agency_notify=[receiver.url("xian")])
    add_report(store, "shi-mzj", 2020)
    add_report(store, "xian-zf", 2020)
    receiver.status = 500
    failed = deliver_pending(store, registry)
    assert (failed.delivered, failed.failed) == (0, 1)
    assert "500" in deliveries(store)[0]["error"]
    receiver.status = 200
    report = deliver_pending(store, registry)
    assert report.delivered == 1
    assert [body["title"] for _, body in receiver.posts][-1] == "nianbao: 新发现年报 — 示例县人民政府 2020年度"
    assert [t.agency_ids for t in targets_of(registry)] == [frozenset({"xian-zf"})]


def test_a_backlog_is_sent_as_digests_capped_per_call(tmp_path, store, receiver):
    registry = write_config(tmp_path, notify=[receiver.url()])
    add_report(store, "shi-mzj", 2020, n=DIGEST_AFTER + 5)  # 15 findings
    report = deliver_pending(store, registry, limit=1, digest_size=10)
    assert (report.messages, report.delivered) == (1, 10) and report.waiting > 0
    assert receiver.posts[0][1]["title"] == "nianbao: 10 条发现（新发现年报 10）"
    assert len(receiver.posts[0][1]["findings"]) == 10
    assert receiver.posts[0][1]["message"].count("\n") == 9
    # Five left: few enough to go one message per finding.
    rest = deliver_pending(store, registry, limit=10, digest_size=10)
    assert (rest.messages, rest.delivered, rest.waiting) == (5, 5, 0)
    assert deliver_pending(store, registry).delivered == 0


def test_message_for_each_kind_and_masked_targets():
    finding = {"id": 7, "kind": "missing", "agency_id": "shi-mzj", "agency_name": "示例市民政局",
               "year": 2020, "detected_at": "2021-02-01T06:00:00Z",
               "details": {"deadline": "2021-01-31", "diff": None}}
    title, body = compose([finding])
    assert title == "nianbao: 逾期未发布 — 示例市民政局 2020年度"
    assert "【逾期未发布】" in body and "截止日期：2021-01-31" in body
    assert "发现时间：2021-02-01 14:00 (北京时间)" in body
    failing = {**finding, "kind": "site_failing", "year": None, "details": {
        "summary": "示例市民政局: listing pages failed in 3 crawls in a row",
        "crawls": [{"id": n, "errors": ["x" * 100]} for n in range(20)]}}
    title, body = compose([failing])
    assert title == "nianbao: 网站持续无法访问 — 示例市民政局"
    assert "年报栏目多次抓取失败" in body.splitlines()[1]
    assert "xxxx" not in body and "{" not in body  # in words, never raw JSON
    assert len(body) < 1000
    secret = "dingtalk://abcdefghijklmnopqrstuvwxyz0123456789/"
    assert "abcdefghijklmnopqrstuvwxyz0123456789" not in masked_url(secret)


def test_notify_command_delivers_pending(tmp_path, store, receiver):
    from nianbao.monitor.daemon_cmd import notify

    registry = write_config(tmp_path, notify=[receiver.url()])
    add_report(store, "shi-mzj", 2020)
    result = CliRunner().invoke(notify, ["--config", registry.path, "--db", str(store.path)])
    assert result.exit_code == 0, result.output
    assert "delivered 1" in result.output
    assert len(receiver.posts) == 1


# -- secrets never leave the URL ------------------------------------------------------------------

SECRETS = ("SECRET1x", "SECRET2y", "SECRETPATH3", "nianbaoUSER", "pa55SECRET4")


def secret_url(port: int) -> str:
    return (f"json://nianbaoUSER:pa55SECRET4@127.0.0.1:{port}/hook/SECRETPATH3"
            f"?+Authorization=Bearer%20SECRET1x&-token=SECRET2y")


def leaked(text: str) -> list[str]:
    return [secret for secret in SECRETS if secret in text]


def database_text(path) -> str:
    connection = sqlite3.connect(path)
    try:
        return "\n".join(connection.iterdump())
    finally:
        connection.close()


@pytest.mark.parametrize("receiver_state", ["down", "error", "up"])
def test_no_secret_of_a_target_url_is_stored_logged_or_printed(
        tmp_path, store, caplog, capfd, receiver_state):
    from nianbao.monitor.daemon_cmd import notify as notify_command

    caplog.set_level(logging.DEBUG)  # every logger, apprise's and urllib3's included
    up = Receiver() if receiver_state != "down" else None
    port = up.port if up else closed_port()
    if up and receiver_state == "error":
        up.status = 500
    try:
        url = secret_url(port)
        registry = write_config(tmp_path, notify=[url])
        add_report(store, "shi-mzj", 2020)
        report = deliver_pending(store, registry)
        add_report(store, "xian-zf", 2020)
        result = CliRunner().invoke(notify_command,
                                    ["--config", registry.path, "--db", str(store.path)])
    finally:
        if up:
            up.close()
    if receiver_state == "up":
        assert report.delivered == 1 and result.exit_code == 0, result.output
        # The receiver got the path and the payload field: the URL was used in full.
        assert up.posts[0][0] == "/hook/SECRETPATH3?token=SECRET2y"
    else:
        assert report.failed == 1 and result.exit_code == 1
        assert report.errors and "127.0.0.1" in report.errors[0]
    rows = deliveries(store)
    assert rows and {r["target"] for r in rows} == {masked_url(url)}
    assert masked_url(url) == f"json://127.0.0.1#{target_key(url)[:8]}"
    if receiver_state == "error":
        assert "500" in rows[0]["error"]
    stored = database_text(store.path)
    out, err = capfd.readouterr()
    logged = "\n".join(f"{r.name} {r.getMessage()}" for r in caplog.records)
    for where, text in [("the database", stored), ("the report", "\n".join(report.errors)),
                        ("`nianbao notify` output", result.output), ("logs", logged),
                        ("stdout/stderr", out + err)]:
        assert leaked(text) == [], f"{leaked(text)} in {where}"


def test_redact_and_labels_hide_tokens_wherever_they_sit():
    lark = "lark://SECRETTOKEN123456/"
    warning = ("Lark Exception: HTTPSConnectionPool(host='open.larksuite.com', port=443): Max "
               "retries exceeded with url: /open-apis/bot/v2/hook/SECRETTOKEN123456")
    assert "SECRETTOKEN123456" not in redact(warning, lark)
    assert "open.larksuite.com" in redact(warning, lark)
    assert masked_url(lark).startswith("lark://…#")
    url = secret_url(8080)
    text = ("POST http://127.0.0.1:8080/hook/SECRETPATH3?token=SECRET2y "
            "Authorization: Bearer%20SECRET1x user nianbaoUSER:pa55SECRET4 "
            "quoted pa55SECRET4 SECRET1x")
    assert leaked(redact(text, url)) == []
    assert "127.0.0.1:8080" in redact(text, url)
    mail = "mailto://someone:p@ss/w0rd@mail.example.com?to=x@example.org"
    assert "p@ss/w0rd" not in redact("login p@ss/w0rd refused", mail)
    assert masked_url(mail).startswith("mailto://mail.example.com#")


# -- each finding once, however many senders --------------------------------------------------


def posted_ids(receiver) -> list[int]:
    """The finding ids in every message received (one full message or a digest's lines)."""
    ids = []
    for _, body in receiver.posts:
        found = re.findall(r"^编号：#(\d+)$", body["message"], re.M)
        found = found or re.findall(r"^#(\d+) ", body["message"], re.M)
        ids += [int(i) for i in found]
    return ids


@pytest.mark.parametrize("n", [6, DIGEST_AFTER + 10], ids=["one-by-one", "digests"])
def test_two_senders_at_once_send_each_finding_once(tmp_path, store, receiver, n):
    registry = write_config(tmp_path, notify=[receiver.url()])
    add_report(store, "shi-mzj", 2020, n=n)
    receiver.delay = 0.2  # both senders are mid-run at the same time
    start = threading.Barrier(2)
    reports = []

    def sender():
        with Store(store.path) as own:
            start.wait()
            reports.append(deliver_pending(own, registry, digest_size=5))

    threads = [threading.Thread(target=sender) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    ids = posted_ids(receiver)
    assert sorted(ids) == sorted(set(ids)) and len(ids) == n
    assert sum(r.delivered for r in reports) == n and all(r.failed == 0 for r in reports)
    assert all(r["status"] == "delivered" and r["attempts"] == 1 and r["claimed_by"] is None
               for r in deliveries(store))
    assert len(deliveries(store)) == n


def test_two_notify_processes_at_once_send_each_finding_once(tmp_path, store, receiver):
    registry = write_config(tmp_path, notify=[receiver.url()])
    add_report(store, "shi-mzj", 2020, n=8)
    receiver.delay = 0.3
    command = [sys.executable, "-m", "nianbao", "notify", "--config", str(registry.path),
               "--db", str(store.path)]
    procs = [subprocess.Popen(command, cwd=REPO, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outputs = [proc.communicate(timeout=60) for proc in procs]
    assert [proc.returncode for proc in procs] == [0, 0], outputs
    ids = posted_ids(receiver)
    assert len(ids) == 8 and len(set(ids)) == 8


def test_claims_of_live_senders_are_respected_stale_and_dead_ones_taken_over(store):
    add_report(store, "shi-mzj", 2020, n=3)
    first, second, third = [f["id"] for f in store.deliveries.pending("k")]
    other = os.getppid()  # alive, and not us
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    claim = dict(target_key="k", target="json://x#k")
    assert store.deliveries.claim([first], pid=other, **claim) == [first]
    assert store.deliveries.claim([second], pid=dead.pid, **claim) == [second]
    assert store.deliveries.claim([third], pid=other, at="2020-01-01T00:00:00Z", **claim) == [third]
    # Fresh and alive: left alone; its process gone, or older than 10 minutes: taken over.
    assert store.deliveries.claim([first, second, third], pid=os.getpid(), **claim) == [
        second, third]
    # Our own fresh claims (another thread of this process) are left alone too.
    assert store.deliveries.claim([second, third], pid=os.getpid(), **claim) == []
    store.deliveries.record([second], delivered=True, pid=os.getpid(), **claim)
    # A failure recorded by a sender whose claim was taken over does not clear the new claim.
    store.deliveries.record([first], delivered=False, error="x", pid=dead.pid, **claim)
    rows = {r["finding_id"]: r for r in deliveries(store)}
    assert (rows[first]["status"], rows[first]["claimed_by"]) == ("sending", other)
    assert (rows[second]["status"], rows[second]["attempts"]) == ("delivered", 1)
    assert rows[second]["claimed_by"] is None and rows[second]["claimed_at"] is None
    assert store.deliveries.claim([second], pid=other, **claim) == []  # delivered: never again


def test_should_stop_ends_a_delivery_run_between_messages(tmp_path, store, receiver):
    registry = write_config(tmp_path, notify=[receiver.url()])
    add_report(store, "shi-mzj", 2020, n=3)
    report = deliver_pending(store, registry, should_stop=lambda: len(receiver.posts) >= 1)
    assert (report.messages, report.delivered, report.waiting) == (1, 1, 2)
    assert len(receiver.posts) == 1
    assert [r["status"] for r in deliveries(store)] == ["delivered"]  # nothing left claimed
    assert deliver_pending(store, registry).delivered == 2
