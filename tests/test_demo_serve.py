"""`nianbao demo --serve`: the demo portal served alone, crawled and notified against."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import threading
import time
import urllib.request

import pytest
import yaml

from tests.conftest import FAST_SETTINGS, REPO, run_nianbao

pytestmark = pytest.mark.timeout(150)


class Running:
    def __init__(self, *args):
        self.proc = subprocess.Popen([sys.executable, "-m", "nianbao", "demo", "--serve", *args],
                                     cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     text=True)
        self.lines: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.proc.stdout:
            self.lines.append(line.rstrip("\n"))

    def wait_for(self, pattern: str, timeout: float = 30) -> re.Match:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for line in list(self.lines):
                if match := re.search(pattern, line):
                    return match
            if self.proc.poll() is not None:
                pytest.fail(f"demo exited {self.proc.returncode}: {self.proc.stderr.read()}")
            time.sleep(0.1)
        pytest.fail(f"no {pattern!r} in {self.lines}")


def test_demo_serve_can_be_crawled_and_notifies_its_receiver(tmp_path):
    out = tmp_path / "demo"
    demo = Running("--port", "0", "--receiver", "0", "--out", str(out))
    try:
        base = demo.wait_for(r"serving \d+ pages at (http://127\.0\.0\.1:\d+)").group(1)
        demo.wait_for(r"Notification receiver on http://127\.0\.0\.1:\d+/demo")
        config = demo.wait_for(r"^Registry: (.+)$").group(1)
        registry = yaml.safe_load(open(config, encoding="utf-8"))
        assert registry["notify"][0].startswith("json://127.0.0.1:")
        first = registry["agencies"][0]
        assert first["sources"][0].startswith(base)
        with urllib.request.urlopen(first["sources"][0], timeout=10) as answer:
            assert answer.status == 200 and answer.read()
        db = out / "nianbao.db"
        flags = [f"-s{k}={v}" for k, v in FAST_SETTINGS.items()]
        crawl = run_nianbao("crawl", "--config", config, "--db", str(db), "--agency", first["id"],
                            *flags, env={"NIANBAO_PROGRESS": "off"})
        assert crawl.returncode == 0, crawl.stderr[-2000:]
        notify = run_nianbao("notify", "--config", config, "--db", str(db))
        assert notify.returncode == 0, notify.stderr
        demo.wait_for(r"^--- notification: nianbao: .*新发现年报")
    finally:
        demo.proc.send_signal(signal.SIGTERM)
        assert demo.proc.wait(timeout=20) == 0
    assert "Demo portal stopped." in demo.lines


def test_demo_serve_refuses_a_busy_port(tmp_path):
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = run_nianbao("demo", "--serve", "--port", str(port), "--out", str(tmp_path), timeout=30)
    assert result.returncode == 1 and f"127.0.0.1:{port}" in result.stderr
