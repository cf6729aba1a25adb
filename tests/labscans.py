"""Real scans of the lab, shared by the report, history, diff and client tests.

Each test module scans the lab once (a module-scoped fixture calls
`scan_lab()`), then slices the result per profile. The lab is stopped
before the tests run: reports, diffs and settings need the scan, not the
servers.
"""

from __future__ import annotations

import asyncio
import copy
from collections.abc import Callable

from mailtui.lab import Lab
from mailtui.model import Direction, ProbeResult, Scan, TranscriptEvent
from mailtui.probe import ProbeOptions, run_scan

TIMEOUT = 1.5

SCRIPT_BANNER = (
    "220 <script>document.body.setAttribute('data-pwned','1')</script>"
    "<img src=x onerror=\"document.title='pwned'\"> | `tick` ``` [x](http://a.invalid)"
)
"""HTML and Markdown that must come out as text, not markup."""


def scan_lab(profiles: list[str] | None = None) -> Scan:
    """Scan every endpoint of `profiles` (all when None), with the TLS sweep."""

    async def scan() -> Scan:
        async with Lab(profiles) as lab:
            options = ProbeOptions(ca_file=lab.ca_file, timeout=TIMEOUT, sweep=True)
            return await run_scan(lab.endpoints, options, target="lab")

    return asyncio.run(scan())


def profile_of(r: ProbeResult) -> str:
    return r.endpoint.host.split(".")[-3]


def profile_scan(scan: Scan, profile: str) -> Scan:
    """The part of `scan` that covers one lab profile, as its own scan."""
    part = copy.deepcopy(scan)
    part.target = profile
    part.results = [r for r in part.results if profile_of(r) == profile]
    return part


def find(scan: Scan, match: Callable[[ProbeResult], bool]) -> ProbeResult:
    [result] = [r for r in scan.results if match(r)]
    return result


def broken(scan: Scan, slug: str) -> ProbeResult:
    """The broken profile's endpoint whose host starts with `slug`."""
    return find(scan, lambda r: r.endpoint.host == f"{slug}.broken.lab.test")


def with_script_banner(scan: Scan) -> Scan:
    """A copy of `scan` whose hostile-banner endpoint greets with a script.

    The lab's own hostile banner carries terminal and Rich markup, not HTML;
    rather than add a server to the lab, this rewrites the greeting and its
    transcript line of a real scan, which is all a report ever reads.
    """
    hostile = copy.deepcopy(scan)
    r = broken(hostile, "markup")
    r.greeting = SCRIPT_BANNER
    r.transcript.insert(0, TranscriptEvent(0.0, Direction.SERVER, SCRIPT_BANNER))
    return hostile
