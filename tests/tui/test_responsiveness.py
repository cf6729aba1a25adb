"""The app stays responsive while a thousand endpoints report progress.

A thousand lab servers run in a separate process (benchmarks/many_lab.py),
with some imitated latency so the scan lasts; the app scans them for real
while the test presses keys and times each one.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from textual import events

from mailtui.probe import ProbeOptions
from mailtui.targets import parse_resolve, parse_targets, pin
from mailtui.tui.app import TEST_SIZE, create_app
from mailtui.tui.screens.scan import ScanScreen

from .pilots import wait_until

MANY_LAB = Path(__file__).parents[2] / "benchmarks" / "many_lab.py"
COUNT = 1000


@pytest.fixture(scope="module")
def many_lab() -> Iterator[dict[str, Any]]:
    if not MANY_LAB.exists():
        pytest.skip("benchmarks/many_lab.py is not in this tree")
    process = subprocess.Popen(
        [sys.executable, str(MANY_LAB), "--count", str(COUNT), "--latency", "150"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        yield json.loads(process.stdout.readline())
    finally:
        process.terminate()
        process.wait(timeout=30)


async def test_key_presses_stay_fast_during_a_1000_endpoint_scan(
    many_lab: dict[str, Any],
) -> None:
    resolve = dict(parse_resolve(spec) for spec in many_lab["resolve"])
    endpoints = pin(parse_targets(many_lab["endpoints"]), resolve)
    options = ProbeOptions(
        timeout=10.0, deadline=60.0, ca_file=Path(many_lab["ca_file"])
    )
    app = create_app(endpoints, options)
    async with app.run_test(size=TEST_SIZE) as pilot:
        await wait_until(pilot, lambda: isinstance(app.screen, ScanScreen))
        screen = app.screen
        assert isinstance(screen, ScanScreen)
        await wait_until(pilot, lambda: len(screen.grid._shown) == COUNT)

        # Pilot.press() waits for the app to fall idle, which a scan in full
        # flow rarely does: time from posting the key to the cursor moving.
        timings: list[float] = []
        while screen.running and len(timings) < 40:
            row = screen.grid.cursor_row
            started = time.perf_counter()
            app.post_message(events.Key("down", None))
            while screen.grid.cursor_row == row:
                await asyncio.sleep(0.002)
            timings.append(time.perf_counter() - started)
            await asyncio.sleep(0.05)

        assert len(timings) >= 20, "the scan ended before the keys were timed"
        assert statistics.median(timings) < 0.1, timings
