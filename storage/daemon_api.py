"""Store methods for the daemon: crawl schedule, deliveries, heartbeat (mixed into Store)."""

from __future__ import annotations


class DaemonMixin:
    """Implemented by the daemon work; see the Store class for the shared connection."""
