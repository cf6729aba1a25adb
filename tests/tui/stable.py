"""Make a lab scan the same on every run, so snapshots can compare it.

The lab listens on free ports, mints certificates dated today with random
keys, and the network takes a different time each run. Everything else a
scan records is fixed by the lab's profiles, so masking ports, times, dates
and fingerprints leaves a scan that only changes when the app or the engine
does.
"""

from __future__ import annotations

import asyncio
import re
from typing import Any

from mailtui.lab import PROFILES, Lab
from mailtui.model import Scan
from mailtui.probe import ProbeOptions, run_scan
from mailtui.tui.screens.picker import Choice

_DATE = re.compile(
    r"\d{4}-\d\d-\d\d(?:[T ]\d\d:\d\d(?::\d\d)?(?:\.\d+)?)?(?:Z|[+-]\d\d:\d\d)?"
)
_MS = re.compile(r"\b\d+(?:\.\d+)? ms\b")
_HEX = re.compile(r"\b[0-9A-Fa-f:]{40,}\b")


def _mask_text(text: str, ports: dict[int, int]) -> str:
    text = _DATE.sub("2026-01-01", text)
    text = _MS.sub("1.0 ms", text)
    text = _HEX.sub("<fingerprint>", text)
    for real, fixed in ports.items():
        text = re.sub(rf"(?<=:){real}\b", str(fixed), text)
    return text


def _mask(value: Any, ports: dict[int, int]) -> Any:
    if isinstance(value, str):
        return _mask_text(value, ports)
    if isinstance(value, list):
        return [_mask(v, ports) for v in value]
    if isinstance(value, dict):
        return {k: _mask_field(k, v, ports) for k, v in value.items()}
    return value


def _mask_field(key: str, value: Any, ports: dict[int, int]) -> Any:
    if key == "port":
        return ports.get(value, value)
    if key in ("elapsed_ms", "t_ms"):
        return 1.0
    if key == "timings_ms":
        return {k: 1.0 for k in value}
    if key in ("sha256", "serial"):
        return "<masked>"
    if key == "pem":
        return ""
    return _mask(value, ports)


def stable_scan(scan: Scan) -> Scan:
    """`scan` with ports, times, dates and fingerprints fixed."""
    data = scan.to_dict()
    ports = {e["port"]: 10000 + i for i, e in enumerate(data["endpoints"])}
    return Scan.from_dict(_mask(data, ports))


def lab_scan(profiles: list[str]) -> Scan:
    """Scan the lab once (in its own event loop) and make the result stable."""

    async def scan() -> Scan:
        async with Lab(profiles) as lab:
            options = ProbeOptions(timeout=1.0, deadline=5.0, ca_file=lab.ca_file)
            return await run_scan(lab.endpoints, options, target="lab (simulated)")

    return stable_scan(asyncio.run(scan()))


def lab_choices() -> list[Choice]:
    """The picker entries of the lab profiles, without starting the lab."""
    return [
        Choice(f"lab:{p.name}", f"(simulated) {p.description}", [])
        for p in PROFILES.values()
    ]
