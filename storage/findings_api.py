"""Store methods for the monitor's findings, deadlines and coverage inputs (mixed into Store)."""

from __future__ import annotations


class FindingsMixin:
    """Implemented by the monitor work; see the Store class for the shared connection."""
