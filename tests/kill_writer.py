"""A writer script run in a child and SIGKILLed mid-write, as the crash tests of the store do."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time


def kill_writer_after(script: str, delay: float) -> int:
    """Run `script` (which prints "ready" once it has started writing) in a child, SIGKILL it
    `delay` seconds after "ready"; its return code."""
    child = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline().strip() == "ready", child.stderr.read()
        time.sleep(delay)
        assert child.poll() is None, child.stderr.read()
        os.kill(child.pid, signal.SIGKILL)
    finally:
        child.wait(timeout=10)
        child.stdout.close()
        child.stderr.close()
    return child.returncode
