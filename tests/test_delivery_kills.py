"""Kill the sender while notifications go out: nothing lost, nothing sent twice outside the
documented window ("Never cry wolf").

monitor.notify claims a message's (finding, target) pairs ('sending', claimed_by = its pid)
in one transaction before it sends, and records 'delivered' or 'failed' after. The documented
exception: a sender killed after its message reached the receiver and before its record is
committed leaves a claim that the next sender takes over, so that message arrives twice.

The tests steer real senders (`nianbao daemon` and `nianbao notify`, child processes, real
apprise json:// posts to a receiver on 127.0.0.1) into each window from outside, then
SIGKILL them:

  before-claim       the test holds SQLite's write lock: the sender waits at its claim
  claimed-not-sent   the receiver's listen queue is full: the sender's connect() hangs
  in-send            the receiver has read the message and holds its answer
  sent-not-recorded  the receiver has answered; the test holds the write lock, so the sender
                     waits at its record
  between-digests    digest k delivered and recorded, digest k+1 claimed, its connect hangs

The window a kill fell in is read from the evidence after it (the receiver's log and the
deliveries rows claimed by the dead pid), never assumed; kills at random moments are
classified the same way. Then a last sender finishes the backlog, and the tests check: every
finding reached every target; a (finding, target) arrived 1 + k times, k being the number of
kills in the in-send or sent-not-recorded window with it in flight; no claim is left; the
store passes integrity_problems().

NIANBAO_SOAK=1 runs test_soak too (marker `soak`): many more kills, windows in random order.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import random
import re
import select
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest
import yaml

from nianbao.monitor.notify import CLAIM_STALE_ENV, DIGEST_AFTER, DIGEST_SIZE, target_key
from nianbao.storage import AgencyRecord, ReportFetch, Store
from tests.conftest import REPO, query as conftest_query

pytestmark = pytest.mark.timeout(120)

SOAK = os.environ.get("NIANBAO_SOAK") == "1"
SOAK_KILLS = int(os.environ.get("NIANBAO_SOAK_KILLS") or 60)

WINDOWS = ("before-claim", "claimed-not-sent", "in-send", "sent-not-recorded", "between-digests")
# The documented at-least-once window: the message reached the receiver, its record did not.
RESENT_WINDOWS = ("in-send", "sent-not-recorded")
WAIT = 30.0  # the longest any step waits for a sender (a loaded 2-core machine is slow to start one)


def wait_for(predicate, what: str, proc=None, timeout: float = WAIT):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        if proc is not None and proc.poll() is not None:
            pytest.fail(f"{proc.sender} exited ({proc.returncode}) while waiting for {what}:\n"
                        f"{proc.output()[-3000:]}")
        time.sleep(0.02)
    pytest.fail(f"timed out after {timeout}s waiting for {what}")


# -- a receiver the test steers ------------------------------------------------------------------


@dataclass
class Post:
    """One message the receiver read in full. answered_at: when its 200 was written (monotonic),
    None while held or when the sender was gone."""

    path: str
    ids: tuple[int, ...]
    held: bool
    answered_at: float | None = None
    release: threading.Event = field(default_factory=threading.Event)


def message_ids(message: str) -> tuple[int, ...]:
    """The finding ids in one message: '…编号：#12' (one finding) or '#12 …' lines (a digest)."""
    found = re.findall(r"^编号：#(\d+)$", message, re.M) or re.findall(r"^#(\d+) ", message, re.M)
    return tuple(int(i) for i in found)


class GateReceiver:
    """A json:// receiver on 127.0.0.1 that a test steers into each window of a delivery.

    posts: every message read in full, in order. hold(): each message read from now on waits
    for its release (stop_holding) before it is answered: its sender is in the send.
    close_door(): new connections hang in connect() until open_door(): the listen queue
    (backlog 0) holds one connection of the receiver's own and nothing is accepted, so the
    kernel drops the sender's SYNs and no byte of its message leaves it. delay: seconds
    before each answer (a slow receiver, for kills at random moments).
    """

    def __init__(self):
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(0)
        self.port = self.listener.getsockname()[1]
        self.cond = threading.Condition()
        self.posts: list[Post] = []
        self.holding = False
        self.delay = 0.0
        self.door_open = True
        self.filler: socket.socket | None = None
        self.reading = 0  # connections accepted whose request is not read yet
        self.closed = False
        threading.Thread(target=self._accept_loop, daemon=True).start()

    def url(self, path: str) -> str:
        # apprise waits 4 s for a connection and 4 s for an answer by default; a test holds
        # either for a few seconds, which must not turn into a failed (and retried) send.
        return f"json://127.0.0.1:{self.port}/{path}?cto=30&rto=30"

    def _accept_loop(self) -> None:
        while not self.closed:
            if not self.door_open:
                time.sleep(0.01)
                continue
            try:
                ready, _, _ = select.select([self.listener], [], [], 0.05)
                with self.cond:
                    if not ready or not self.door_open:
                        continue
                    conn, (_, port) = self.listener.accept()
                    if self.filler is not None and port == self.filler.getsockname()[1]:
                        conn.close()
                        self.filler.close()
                        self.filler = None
                        self.cond.notify_all()
                        continue
                    self.reading += 1
            except OSError:  # closed
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        receiver, state = self, {"read": False}

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                post = receiver._received(self.path, raw)
                state["read"] = True
                if post is None:
                    return
                if post.held:
                    post.release.wait(60)
                if receiver.delay:
                    time.sleep(receiver.delay)
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()
                self.wfile.flush()
                with receiver.cond:
                    post.answered_at = time.monotonic()
                    receiver.cond.notify_all()

            def log_message(self, *args):
                pass

        conn.settimeout(60)
        try:
            Handler(conn, ("127.0.0.1", 0), self)
        except OSError:
            pass  # the sender is gone
        finally:
            conn.close()
            if not state["read"]:
                with self.cond:
                    self.reading -= 1
                    self.cond.notify_all()

    def _received(self, path: str, raw: bytes) -> Post | None:
        with self.cond:
            self.reading -= 1
            self.cond.notify_all()
            try:
                body = json.loads(raw.decode("utf-8"))
            except ValueError:
                return None  # cut off: the sender died while sending it
            post = Post(path.split("?")[0], message_ids(body["message"]), self.holding)
            self.posts.append(post)
            self.cond.notify_all()
            return post

    def hold(self) -> None:
        with self.cond:
            self.holding = True

    def stop_holding(self) -> None:
        """Answer every held message, and hold no more."""
        with self.cond:
            self.holding = False
            for post in self.posts:
                post.release.set()

    def wait_held(self, proc) -> Post:
        return wait_for(lambda: next((p for p in self.posts if p.held and not p.release.is_set()),
                                     None), "a message held by the receiver", proc)

    def close_door(self) -> None:
        with self.cond:
            self.door_open = False
            self.filler = socket.create_connection(("127.0.0.1", self.port), timeout=5)

    def open_door(self) -> None:
        """Accept again; returns once the filler has left the listen queue (until then a
        second close_door could not queue its own)."""
        with self.cond:
            self.door_open = True
            assert self.cond.wait_for(lambda: self.filler is None, 10), "the filler stays queued"

    def settle(self) -> None:
        """Wait until every connection a dead sender made has been read to its end."""
        time.sleep(0.2)  # one still in the listen queue is accepted meanwhile
        with self.cond:
            self.cond.wait_for(lambda: self.reading == 0, 10)

    def close(self) -> None:
        self.closed = True
        self.stop_holding()
        self.listener.close()


# -- the backlog, its senders and the kills ----------------------------------------------------


@dataclass
class Kill:
    """A sender stopped for good in the middle of a delivery (SIGKILL), or for a long while
    (SIGSTOP: its claim goes stale), and the window the evidence shows."""

    sender: str
    pid: int
    aimed_at: str | None  # None: a random moment
    window: str
    in_flight: dict[str, tuple[int, ...]]  # target path -> findings claimed by the dead sender
    signal: str = "SIGKILL"


def query(db, sql, params=()):
    return conftest_query(db, sql, params, timeout=20)


def zombie(pid: int) -> bool:
    """Has the process exited without its parent having waited for it yet (Linux /proc)?"""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rpartition(")")[2].split()[0] == "Z"


def has_open(pid: int, path: Path) -> bool:
    """Has the process opened this file (Linux /proc)?"""
    try:
        fds = os.listdir(f"/proc/{pid}/fd")
    except OSError:
        return False
    for fd in fds:
        with contextlib.suppress(OSError):
            if os.readlink(f"/proc/{pid}/fd/{fd}") == os.path.realpath(path):
                return True
    return False


class Deliveries:
    """One database with a backlog of findings for two targets on one GateReceiver (`/all`
    gets every finding, `/xian` those of agency xian-zf), the senders started on it and the
    kills performed, each with the window its evidence shows."""

    AGENCIES = (("shi-mzj", "示例市民政局", "department"), ("xian-zf", "示例县人民政府", "government"))

    def __init__(self, tmp_path: Path, receiver: GateReceiver):
        self.tmp = tmp_path
        self.db = tmp_path / "nianbao.db"
        self.receiver = receiver
        self.urls = {"/all": receiver.url("all"), "/xian": receiver.url("xian")}
        self.keys = {target_key(url): path for path, url in self.urls.items()}
        self.config = tmp_path / "agencies.yaml"
        self.config.write_text(yaml.safe_dump({
            "notify": [self.urls["/all"]],
            "agencies": [{"id": agency_id, "name": name, "kind": kind, "start_year": 2019,
                          "sources": [f"http://127.0.0.1:9/{agency_id}/index.html"],
                          **({"notify": [self.urls["/xian"]]} if agency_id == "xian-zf" else {})}
                         for agency_id, name, kind in self.AGENCIES],
        }, allow_unicode=True), encoding="utf-8")
        with Store(self.db) as store:
            store.agencies.sync([AgencyRecord(agency_id, name, kind, None, 2019, ("http://x/",))
                                 for agency_id, name, kind in self.AGENCIES])
            # Never due: the daemon starts no crawl child, it only delivers.
            store.schedule.add({agency_id: "2999-01-01T00:00:00Z" for agency_id, *_ in self.AGENCIES})
        self.procs: list[subprocess.Popen] = []
        self.kills: list[Kill] = []
        self.made = 0
        self.before_claim_runs = 0
        # The daily check far from now: it raises no findings of its own during a test.
        self.check_at = f"{(dt.datetime.now() + dt.timedelta(hours=12)):%H:%M}"

    # the backlog

    def add_findings(self, n: int) -> None:
        """n findings, agencies alternating: 'new' ones from recorded reports, 'missing' ones."""
        with Store(self.db) as store:
            for _ in range(n):
                self.made += 1
                agency_id = self.AGENCIES[self.made % 2][0]
                if self.made % 3 == 0:
                    store.history.record_report(ReportFetch(
                        agency_id=agency_id, url=f"http://x/{agency_id}/{self.made}.html",
                        title="2020年政府信息公开工作年度报告", text=f"正文 {self.made}",
                        kind="annual_report", year=2020, published_date=None,
                        raw_page=b"<html></html>", raw_encoding="utf-8",
                        fetched_at="2021-01-20T00:00:00Z"))
                else:
                    store.findings.record("missing", agency_id=agency_id, year=2000 + self.made,
                                          report_id=None, details={"deadline": "2021-01-31"},
                                          dedup_key=f"missing:{agency_id}:{self.made}")

    def pending(self, path: str) -> int:
        agencies = "" if path == "/all" else "AND f.agency_id = 'xian-zf'"
        key = next(k for k, p in self.keys.items() if p == path)
        return query(self.db, f"""SELECT count(*) AS n FROM findings f WHERE NOT EXISTS (
            SELECT 1 FROM deliveries d WHERE d.finding_id = f.id AND d.target_key = ?
            AND d.status = 'delivered') {agencies}""", (key,))[0]["n"]

    def top_up(self, path: str, at_least: int) -> None:
        """Findings until `path` has at least this many waiting (each new one is for xian-zf
        every other time: /xian fills half as fast)."""
        while (missing := at_least - self.pending(path)) > 0:
            self.add_findings(missing if path == "/all" else 2 * missing)

    def claims_of(self, pid: int) -> dict[str, tuple[int, ...]]:
        claimed: dict[str, list[int]] = {}
        for row in query(self.db, "SELECT finding_id, target_key FROM deliveries WHERE status = "
                                  "'sending' AND claimed_by = ? ORDER BY finding_id", (pid,)):
            claimed.setdefault(self.keys[row["target_key"]], []).append(row["finding_id"])
        return {path: tuple(ids) for path, ids in claimed.items()}

    def delivered(self, path: str, ids) -> bool:
        key = next(k for k, p in self.keys.items() if p == path)
        rows = query(self.db, "SELECT count(*) AS n FROM deliveries WHERE target_key = ? AND "
                              "status = 'delivered' AND finding_id IN (SELECT value FROM "
                              "json_each(?))", (key, json.dumps(list(ids))))
        return rows[0]["n"] == len(set(ids))

    @contextlib.contextmanager
    def write_lock(self):
        """Hold SQLite's write lock (as a long transaction of another process would): every
        claim and record waits for it (busy_timeout 10 s; the tests hold it for less)."""
        connection = sqlite3.connect(self.db, timeout=20, isolation_level=None)
        connection.execute("BEGIN IMMEDIATE")
        try:
            yield time.time()
        finally:
            connection.execute("ROLLBACK")
            connection.close()

    # the senders

    def start(self, sender: str, *flags: str, env: dict | None = None) -> subprocess.Popen:
        """`nianbao daemon` (delivering every second, never crawling) or `nianbao notify`."""
        log_path = self.tmp / f"{sender}-{len(self.procs)}.log"
        command = [sys.executable, "-m", "nianbao", sender, "--config", str(self.config),
                   "--db", str(self.db)]
        if sender == "daemon":
            command += ["--deliver-every", "1", "--dispatch-every", "60", "--heartbeat-every",
                        "1", "--stop-grace", "5", "--check-at", self.check_at]
        with open(log_path, "wb") as log:
            proc = subprocess.Popen([*command, *flags], cwd=REPO, stdout=log,
                                    stderr=subprocess.STDOUT, env={**os.environ, **(env or {})})
        proc.sender = sender
        proc.first_post = len(self.receiver.posts)  # the posts of this life start here
        proc.output = lambda: log_path.read_text(encoding="utf-8", errors="replace")
        self.procs.append(proc)
        return proc

    def kill(self, proc, aimed_at: str | None, *, reap: bool = True) -> Kill:
        """SIGKILL, then read which window the kill fell in from the evidence it left.
        reap=False: the process is left a zombie (its parent, the test, has not waited)."""
        assert proc.poll() is None, f"{proc.sender} exited before the kill:\n{proc.output()}"
        killed_at = time.monotonic()
        os.kill(proc.pid, signal.SIGKILL)
        if reap:
            proc.wait()
        else:
            wait_for(lambda: zombie(proc.pid), "a zombie")
        self.receiver.settle()
        in_flight = self.claims_of(proc.pid)
        assert len(in_flight) <= 1, f"one message in flight at a time, not {in_flight}"
        life = self.receiver.posts[proc.first_post:]
        window = "before-claim"
        for path, ids in in_flight.items():
            sent = [p for p in life if p.path == path and set(p.ids) == set(ids)]
            if sent:
                answered = sent[-1].answered_at
                window = "sent-not-recorded" if answered and answered < killed_at else "in-send"
            elif len(ids) > 1 and any(p.path == path and len(p.ids) > 1 for p in life):
                window = "between-digests"
            else:
                window = "claimed-not-sent"
        # Every other message of this life was recorded: the in-flight one is the only one.
        for post in life:
            if set(in_flight.get(post.path, ())) != set(post.ids):
                assert self.delivered(post.path, post.ids), (
                    f"{post.path} {post.ids} received but neither recorded nor in flight")
        kill = Kill(proc.sender, proc.pid, aimed_at, window, in_flight)
        self.kills.append(kill)
        return kill

    # steering a sender into a window

    @contextlib.contextmanager
    def steered(self, window: str, sender: str):
        """Start a sender and hold it in `window` (see the module docstring); yields it there.
        On leaving, the receiver and the database let it go on (if it still runs)."""
        with contextlib.ExitStack() as stack:
            stack.callback(self.receiver.open_door)
            stack.callback(self.receiver.stop_holding)
            if window == "between-digests":
                self.top_up("/all", DIGEST_SIZE + 5)  # two digests at least
            else:
                self.top_up("/all", 3)
            if window == "before-claim":
                yield self._before_claim(sender, stack)
                return
            if window == "claimed-not-sent":
                self.receiver.close_door()
                proc = self.start(sender)
                wait_for(lambda: self.claims_of(proc.pid), "a claim", proc)
            else:
                self.receiver.hold()
                proc = self.start(sender)
                held = self.receiver.wait_held(proc)
                if window == "sent-not-recorded":
                    stack.enter_context(self.write_lock())
                    self.receiver.stop_holding()
                    wait_for(lambda: held.answered_at, "the answer", proc)
                elif window == "between-digests":
                    assert held.path == "/all" and len(held.ids) > 1, held
                    self.receiver.close_door()
                    self.receiver.stop_holding()  # digest k answered, recorded; k+1 claimed
                    wait_for(lambda: set(self.claims_of(proc.pid).get("/all", held.ids))
                             != set(held.ids), "the next digest's claim", proc)
            # Time to get where it waits: in its record (the lock), in connect (the door).
            time.sleep(0.3)
            yield proc

    def _before_claim(self, sender: str, stack: contextlib.ExitStack):
        if sender == "notify":
            stack.enter_context(self.write_lock())
            proc = self.start(sender)
            # Once it has opened the database it reads what is pending and waits at its claim.
            wait_for(lambda: has_open(proc.pid, self.db), "notify to open the database", proc)
            time.sleep(0.5)
            return proc
        # A new interval each time, so that the deliver job is replaced and first runs a whole
        # interval after the start (a kept job due in the past would run at once, unlocked).
        self.before_claim_runs += 1
        every = 2 + self.before_claim_runs / 10
        proc = self.start(sender, "--deliver-every", str(every))
        wait_for(lambda: self.running(proc), "the daemon to run", proc)
        locked_at = stack.enter_context(self.write_lock())
        wait_for(lambda: self.deliver_ran_since(locked_at, every), "a deliver run", proc)
        time.sleep(0.3)
        return proc

    def deliver_ran_since(self, moment: float, every: float) -> bool:
        """Did the daemon start its deliver job after `moment`? Its next run then moved to
        (start + every) in the job store."""
        rows = query(f"{self.db}.scheduler",
                     "SELECT next_run_time FROM apscheduler_jobs WHERE id = 'deliver'")
        return bool(rows) and rows[0]["next_run_time"] - every > moment

    def kill_in(self, window: str, sender: str) -> Kill:
        with self.steered(window, sender) as proc:
            kill = self.kill(proc, window)
        assert kill.window == window, f"aimed at {window}, the evidence shows {kill}"
        return kill

    def kill_at_random(self, sender: str, rng: random.Random) -> Kill | None:
        """A slow receiver, one message per finding, a kill at a random moment once the sender
        is up (the daemon running, notify with the database open); None when it had finished."""
        self.top_up("/all", DIGEST_AFTER - 2)
        self.top_up("/xian", 3)
        self.receiver.delay = rng.uniform(0.05, 0.25)
        try:
            proc = self.start(sender)
            wait_for(lambda: proc.poll() is not None or (
                self.running(proc) if sender == "daemon"
                else has_open(proc.pid, self.db)), "the sender to start")
            time.sleep(rng.uniform(0.0, 2.0))
            if proc.poll() is not None:
                assert proc.returncode == 0, proc.output()
                return None
            return self.kill(proc, None)
        finally:
            self.receiver.delay = 0.0

    # the end

    @staticmethod
    def running(proc) -> bool:
        """The daemon has its signal handlers, the lock and its jobs."""
        return f"daemon {proc.pid} running" in proc.output()

    def all_delivered(self) -> bool:
        return self.pending("/all") == self.pending("/xian") == 0

    def run(self, sender: str, done=None, *, env: dict | None = None, linger: float = 0.0,
            timeout: float = WAIT) -> subprocess.Popen:
        """Run a sender to its end: notify ends by itself; the daemon gets SIGTERM once
        done() (default: nothing waits) has held for `linger` seconds. Both exit 0."""
        proc = self.start(sender, env=env)
        if sender == "notify":
            assert proc.wait(timeout) == 0, proc.output()
            return proc
        done = done or self.all_delivered
        # Up first: a SIGTERM before its handler is installed would kill it (nothing done yet).
        wait_for(lambda: self.running(proc) and done(), "the daemon's deliveries", proc, timeout)
        time.sleep(linger)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(WAIT) == 0, proc.output()
        return proc

    def finish(self, sender: str = "notify") -> None:
        """Let a last sender deliver everything, then check what arrived."""
        self.receiver.stop_holding()
        self.receiver.open_door()
        self.run(sender)
        self.check()

    def expected_receipts(self) -> Counter:
        findings = query(self.db, "SELECT id, agency_id FROM findings")
        expected = Counter({("/all", f["id"]): 1 for f in findings})
        expected.update({("/xian", f["id"]): 1 for f in findings if f["agency_id"] == "xian-zf"})
        for kill in self.kills:
            if kill.window in RESENT_WINDOWS:
                expected.update((path, i) for path, ids in kill.in_flight.items() for i in ids)
        return expected

    def check(self) -> None:
        expected = self.expected_receipts()
        received = Counter((post.path, i) for post in self.receiver.posts for i in post.ids)
        assert set(received) == set(expected), "every finding reaches every target, no other"
        wrong = {pair: (received[pair], expected[pair]) for pair in expected
                 if received[pair] != expected[pair]}
        assert wrong == {}, "(target, finding): (received, expected) where they differ"
        rows = query(self.db, "SELECT status, claimed_by, claimed_at, count(*) AS n FROM deliveries "
                              "GROUP BY 1, 2, 3")
        assert [(r["status"], r["claimed_by"], r["claimed_at"]) for r in rows] == [
            ("delivered", None, None)], rows
        assert sum(r["n"] for r in rows) == len(expected)
        with Store(self.db) as store:
            assert store.history.integrity_problems() == []
        for proc in self.procs:
            assert "Traceback" not in proc.output(), proc.output()

    def summary(self) -> str:
        windows = Counter((k.sender, k.signal, k.window, "aimed" if k.aimed_at else "random")
                          for k in self.kills)
        resent = sum(len(ids) for k in self.kills if k.window in RESENT_WINDOWS
                     for ids in k.in_flight.values())
        return (f"{len(self.kills)} kills {dict(windows)}; {len(self.receiver.posts)} messages, "
                f"{sum(len(p.ids) for p in self.receiver.posts)} (target, finding) receipts, "
                f"{resent} of them resends after a kill in {'/'.join(RESENT_WINDOWS)}")

    def stop_all(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()


@pytest.fixture
def receiver():
    running = GateReceiver()
    yield running
    running.close()


@pytest.fixture
def deliveries(tmp_path, receiver):
    backlog = Deliveries(tmp_path, receiver)
    yield backlog
    backlog.stop_all()


# -- SIGKILL -------------------------------------------------------------------------------------


@pytest.mark.parametrize("sender", ["daemon", "notify"])
def test_a_killed_sender_loses_nothing_and_resends_only_what_it_had_sent(deliveries, sender):
    deliveries.add_findings(2 * DIGEST_AFTER)
    for window in WINDOWS:
        deliveries.kill_in(window, sender)
    rng = random.Random(20240501)
    for _ in range(3 if sender == "notify" else 2):
        deliveries.kill_at_random(sender, rng)
    deliveries.finish(sender)
    print(deliveries.summary())


# -- SIGTERM -------------------------------------------------------------------------------------


@pytest.mark.parametrize("sender", ["daemon", "notify"])
def test_sigterm_during_delivery_finishes_the_message_in_flight_and_exits_0(deliveries, sender):
    deliveries.add_findings(DIGEST_AFTER)
    for window in WINDOWS:
        with deliveries.steered(window, sender) as proc:
            proc.send_signal(signal.SIGTERM)
            time.sleep(0.5)
            assert proc.poll() is None, f"{sender} died of SIGTERM in {window}:\n{proc.output()}"
        # Let go, it sends (or records) its message and stops before the next one.
        assert proc.wait(WAIT) == 0, proc.output()
        life = deliveries.receiver.posts[proc.first_post:]
        assert len(life) == (2 if window == "between-digests" else 1), (window, life)
        assert all(deliveries.delivered(post.path, post.ids) for post in life)
        assert deliveries.claims_of(proc.pid) == {}
        assert deliveries.pending("/all") + deliveries.pending("/xian") > 0  # the rest waits
    deliveries.finish(sender)  # and nothing arrived twice


# -- claims left behind ----------------------------------------------------------------------


@pytest.mark.parametrize("sender, window, taker", [
    ("notify", "claimed-not-sent", "daemon"),
    ("daemon", "in-send", "notify"),
])
def test_the_claim_of_a_killed_sender_not_yet_reaped_is_taken_over_at_once(
        deliveries, sender, window, taker):
    """A killed process stays a zombie until its parent waits for it (a supervisor or shell
    busy elsewhere); its pid still answers kill(pid, 0), but it holds no claim."""
    deliveries.add_findings(DIGEST_AFTER // 2)
    with deliveries.steered(window, sender) as dead:
        kill = deliveries.kill(dead, window, reap=False)
    try:
        assert kill.window == window and kill.in_flight
        deliveries.run(taker, timeout=15)
        assert deliveries.all_delivered()
    finally:
        dead.wait()
    deliveries.check()


@pytest.mark.parametrize("hung, window, taker", [
    ("notify", "in-send", "daemon"),
    ("daemon", "sent-not-recorded", "notify"),
])
def test_the_claim_of_a_hung_sender_is_taken_over_once_stale_and_not_before(
        deliveries, hung, window, taker):
    deliveries.add_findings(DIGEST_AFTER // 2)
    with deliveries.steered(window, hung) as stuck:
        stuck.send_signal(signal.SIGSTOP)  # alive, going nowhere (swapped out, a paused VM)
    try:
        in_flight = deliveries.claims_of(stuck.pid)
        [(path, ids)] = in_flight.items()
        other = "/xian" if path == "/all" else "/all"
        # The default stale time (10 min): the rest goes out, the claim is left to its sender.
        deliveries.run(taker, lambda: deliveries.pending(path) == len(ids)
                       and deliveries.pending(other) == 0, linger=2.5)
        assert deliveries.claims_of(stuck.pid) == in_flight
        assert [p.ids for p in deliveries.receiver.posts if p.path == path].count(ids) == 1
        # Older than NIANBAO_CLAIM_STALE_SECONDS: taken over and sent again.
        [claimed_at] = {r["claimed_at"] for r in query(
            deliveries.db, "SELECT claimed_at FROM deliveries WHERE claimed_by = ?", (stuck.pid,))}
        age = dt.datetime.now(dt.UTC) - dt.datetime.fromisoformat(claimed_at.replace("Z", "+00:00"))
        time.sleep(max(0.0, 3.5 - age.total_seconds()))
        deliveries.run(taker, env={CLAIM_STALE_ENV: "2"})
        assert deliveries.all_delivered() and deliveries.claims_of(stuck.pid) == {}
    finally:
        stuck.send_signal(signal.SIGCONT)
    # The hung sender goes on: its late record changes nothing, and it stops cleanly.
    if hung == "daemon":
        time.sleep(1.5)
        stuck.send_signal(signal.SIGTERM)
    assert stuck.wait(WAIT) == 0, stuck.output()
    deliveries.kills.append(Kill(hung, stuck.pid, window, window, in_flight, "SIGSTOP"))
    deliveries.check()


# -- soak ----------------------------------------------------------------------------------------


@pytest.mark.soak
@pytest.mark.skipif(not SOAK, reason="set NIANBAO_SOAK=1 to run the soak test")
@pytest.mark.timeout(3 * 3600)
def test_soak_kills_in_every_window_and_at_random(deliveries):
    """NIANBAO_SOAK_KILLS kills (60), senders, windows and moments drawn at random
    (NIANBAO_SOAK_SEED repeats a run), findings arriving meanwhile; then the same checks."""
    seed = int(os.environ.get("NIANBAO_SOAK_SEED") or time.time_ns() % 10**9)
    print(f"NIANBAO_SOAK_SEED={seed}")
    rng = random.Random(seed)
    deliveries.add_findings(2 * DIGEST_AFTER)
    while len(deliveries.kills) < SOAK_KILLS:
        sender = rng.choice(["daemon", "notify"])
        if rng.random() < 0.5:
            deliveries.kill_in(rng.choice(WINDOWS), sender)
        else:
            deliveries.kill_at_random(sender, rng)
        if rng.random() < 0.2:
            deliveries.add_findings(rng.randint(1, 2 * DIGEST_SIZE))  # findings keep coming
    deliveries.finish(rng.choice(["daemon", "notify"]))
    print(deliveries.summary())


@pytest.mark.parametrize("value, seconds", [
    (None, 600.0), ("", 600.0), ("2", 2.0), (" 0.5 ", 0.5), ("0", 600.0), ("-3", 600.0),
    ("10m", 600.0), ("nan", 600.0),
])
def test_the_stale_claim_time_comes_from_the_environment_when_it_is_a_number(
        monkeypatch, value, seconds):
    from nianbao.monitor.notify import claim_stale_seconds

    if value is None:
        monkeypatch.delenv(CLAIM_STALE_ENV, raising=False)
    else:
        monkeypatch.setenv(CLAIM_STALE_ENV, value)
    assert claim_stale_seconds() == seconds


def test_a_zombie_holds_no_claim_a_stopped_process_does():
    from nianbao.storage.deliveries import pid_alive

    exited = subprocess.Popen([sys.executable, "-c", "pass"])
    stopped = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        wait_for(lambda: zombie(exited.pid), "a zombie")  # exited, not waited for
        stopped.send_signal(signal.SIGSTOP)
        assert not pid_alive(exited.pid)
        assert pid_alive(stopped.pid) and pid_alive(os.getpid())
    finally:
        exited.wait()
        stopped.kill()
        stopped.wait()
    assert not pid_alive(exited.pid) and not pid_alive(stopped.pid)
