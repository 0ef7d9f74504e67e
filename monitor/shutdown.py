"""How the daemon stops: SIGTERM or SIGINT sets STOPPING, and every part of it watches that.

The handler only sets the event (a signal may arrive in the middle of anything). The main
thread then stops the scheduler (monitor.daemon), a running crawl child is stopped
(monitor.processes), a delivery run stops before its next message (monitor.jobs) and the
heartbeat says 'stopping' (monitor.heartbeat).
"""

from __future__ import annotations

import contextlib
import logging
import signal
import threading
from collections.abc import Iterator

logger = logging.getLogger("nianbao.daemon")  # one logger name for the whole daemon's log

# Set by SIGTERM/SIGINT: jobs that have not started return at once, a running crawl is stopped.
STOPPING = threading.Event()


@contextlib.contextmanager
def stopping_on_signals(stop_grace: float) -> Iterator[threading.Event]:
    """Clear STOPPING; inside the block SIGTERM and SIGINT set it (and do nothing else);
    the previous handlers are back after it. stop_grace is only told in the log line."""
    STOPPING.clear()

    def on_signal(signum, frame):
        if not STOPPING.is_set():
            logger.info("%s received: stopping (no new jobs; a running crawl gets %gs)",
                        signal.Signals(signum).name, stop_grace)
        STOPPING.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield STOPPING
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
