"""Messages the app's screens send each other, kept in one place.

They are small dataclasses: what a screen asks for (a scan) or what the
scan worker reports (progress is waiting). Progress is not carried in the
message itself: the worker records the latest state of each endpoint and
posts one `ProgressPosted` at a time, so a burst of probe events costs one
message and one repaint, however many endpoints moved.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from textual.message import Message

from mailtui.model import Endpoint
from mailtui.providers import Profile


@dataclass
class ScanRequested(Message):
    """The user chose what to scan (a profile, a provider, typed hosts)."""

    endpoints: list[Endpoint]
    target: str
    resolve: dict[str, str] = field(default_factory=dict)
    """Names pinned to addresses, as `--resolve` does."""
    ca_file: str | None = None
    """Extra trust anchors for this scan (PEM file)."""
    profile: Profile | None = None
    """The saved profile picked, whose options apply to the scan."""


@dataclass
class ProgressPosted(Message):
    """Probe events are waiting to be shown; the receiver drains them all."""
