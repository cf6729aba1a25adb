"""The asyncio probe engine: one coroutine per endpoint, bounded and timed.

(API stub; the implementation lands next.)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from mailtui.model import Endpoint, ProbeResult, Scan, Stage


@dataclass
class ProbeOptions:
    """Knobs of a scan; every one has a default a user can live with."""

    timeout: float = 5.0
    """Seconds allowed for each stage (connect, each reply, handshake)."""
    deadline: float = 30.0
    """Seconds allowed for a whole endpoint."""
    concurrency: int = 64
    """Endpoints probed at once, in all."""
    per_host: int = 8
    """Endpoints probed at once on one address."""
    client_name: str = "mailtui.localhost"
    """The name sent in SMTP EHLO."""
    ca_file: Path | None = None
    """Extra trust anchors (PEM); the system store is used as well."""
    resolve: dict[str, str] = field(default_factory=dict)
    """Names pinned to addresses, as curl's --resolve does."""
    all_addresses: bool = False
    """Probe every address a name resolves to, not only the first."""


@dataclass(frozen=True)
class StageChanged:
    """A probe moved on; posted often, safe to coalesce per endpoint."""

    endpoint: Endpoint
    stage: Stage


@dataclass(frozen=True)
class ProbeFinished:
    """A probe is over, with findings and verdict already computed."""

    result: ProbeResult


ProbeEvent = StageChanged | ProbeFinished
ProgressCallback = Callable[[ProbeEvent], None]


async def probe_endpoint(
    endpoint: Endpoint,
    options: ProbeOptions,
    on_event: ProgressCallback | None = None,
) -> ProbeResult:
    """Probe one endpoint; never raises for anything the network does."""
    raise NotImplementedError


async def run_scan(
    endpoints: list[Endpoint],
    options: ProbeOptions,
    on_event: ProgressCallback | None = None,
    target: str = "",
) -> Scan:
    """Probe every endpoint concurrently; results keep the input order.

    Cancelling the task cancels every probe and closes its socket.
    """
    raise NotImplementedError
