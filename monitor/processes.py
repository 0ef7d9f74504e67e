"""Crawl child processes: the command that starts one, running it in a process group of its
own with a time limit, and stopping the ones an earlier daemon left running.

The daemon never imports Scrapy or Twisted (Twisted's reactor cannot be restarted in one
process): every crawl is a `python -m nianbao crawl --agency ...` child. The child leads a
new process group, so SIGTERM and SIGKILL reach whatever it started as well.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from nianbao.storage.deliveries import pid_alive

logger = logging.getLogger("nianbao.daemon")  # one logger name for the whole daemon's log

OUTPUT_TAIL_CHARS = 3000
POLL_SECONDS = 0.2


@dataclass
class ChildResult:
    """How a crawl child ended. returncode: its exit status (negative: killed by a signal).
    timed_out: stopped for running past the limit. interrupted: stopped because the daemon is
    stopping. output: the tail of its stdout and stderr. seconds: how long it ran."""

    returncode: int | None
    timed_out: bool = False
    interrupted: bool = False
    output: str = ""
    seconds: float = 0.0
    pid: int | None = None


def crawl_command(config_path: str, db_path: str, agency_ids: Sequence[str],
                  settings: Sequence[str] = ()) -> list[str]:
    # No progress lines: the child's output goes to a file of which only the tail is kept
    # (for the reason of a failure); a --crawl-setting NIANBAO_PROGRESS=... still overrides.
    command = [sys.executable, "-m", "nianbao", "crawl", "--config", config_path,
               "--db", db_path, "-sNIANBAO_PROGRESS=off"]
    for setting in settings:
        command.append(f"-s{setting}")
    for agency_id in agency_ids:
        command += ["--agency", agency_id]
    return command


def signal_group(pid: int, sig: int) -> None:
    """Send sig to the process group led by pid; a group that is gone is no error."""
    try:
        os.killpg(pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def run_child(command: Sequence[str], *, timeout: float, grace: float,
              stop: threading.Event | None = None, on_start=None) -> ChildResult:
    """Run a command in its own process group with a time limit.

    On timeout, or when `stop` is set, the group gets SIGTERM and, `grace` seconds later,
    SIGKILL. on_start(pid) is called once the child exists. Output goes to a temporary file
    (a pipe nobody reads would block a chatty child); its tail is returned.
    """
    stop = stop or threading.Event()
    started = time.monotonic()
    with tempfile.TemporaryFile() as output:
        process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=output,
                                   stderr=subprocess.STDOUT, start_new_session=True)
        result = ChildResult(returncode=None, pid=process.pid)
        try:
            if on_start:
                on_start(process.pid)
            kill_at = None
            while True:
                try:
                    result.returncode = process.wait(timeout=POLL_SECONDS)
                    break
                except subprocess.TimeoutExpired:
                    pass
                now = time.monotonic()
                if kill_at is None and (stop.is_set() or now - started > timeout):
                    result.interrupted = stop.is_set()
                    result.timed_out = not result.interrupted
                    logger.warning("crawl child %d: %s; sending SIGTERM", process.pid,
                                   "daemon stopping" if result.interrupted
                                   else f"running longer than {timeout:g}s")
                    signal_group(process.pid, signal.SIGTERM)
                    kill_at = now + grace
                elif kill_at is not None and now > kill_at:
                    logger.warning("crawl child %d did not stop within %gs; SIGKILL",
                                   process.pid, grace)
                    signal_group(process.pid, signal.SIGKILL)
                    kill_at = float("inf")
        except BaseException:
            signal_group(process.pid, signal.SIGKILL)
            process.wait()
            raise
        result.seconds = time.monotonic() - started
        output.seek(0, os.SEEK_END)
        output.seek(max(output.tell() - 4 * OUTPUT_TAIL_CHARS, 0))
        result.output = output.read().decode("utf-8", "replace")[-OUTPUT_TAIL_CHARS:]
    return result


def is_crawl_child(pid: int) -> bool:
    """Is pid a `nianbao crawl` process (and not another program that got a reused pid)?"""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    return b"nianbao" in cmdline and b"crawl" in cmdline


def stop_crawl_children(pids: Iterable[int], grace: float) -> None:
    """Stop the crawl children among pids, left running by an earlier daemon: SIGTERM to
    each one's process group, SIGKILL to those still running `grace` seconds later. Our own
    pid, a pid that is gone and one reused by another program are left alone."""
    orphans = {pid for pid in pids
               if pid != os.getpid() and pid_alive(pid) and is_crawl_child(pid)}
    for pid in orphans:
        logger.warning("stopping crawl child %d left by an earlier daemon", pid)
        signal_group(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while orphans and time.monotonic() < deadline:
        orphans = {pid for pid in orphans if pid_alive(pid) and is_crawl_child(pid)}
        time.sleep(POLL_SECONDS)
    for pid in orphans:
        signal_group(pid, signal.SIGKILL)
