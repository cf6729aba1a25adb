"""How fast the app paints, and how fast it answers keys during a big scan.

Two figures, each the median of several runs:

1. First paint: the time from starting `mailtui demo` to the first frame
   that shows the grid. The real command runs in a subprocess on a
   pseudo-terminal of 80x24, exactly as a user starts it; the clock stops
   when the grid's heading ("STARTTLS") reaches the terminal; the lab's
   rows arrive in the same frame. Target < 1 s.

2. Key reaction: while the app scans 1,000 lab endpoints for real (served
   by `benchmarks/many_lab.py` in another process, with imitated latency so
   the scan lasts), a "down" key is posted every 50 ms and timed until the
   grid's cursor has moved. The app runs in-process under `App.run_test`
   (headless, 100x30), because the cursor is what a key press changes.
   Pilot.press() would wait for the app to fall idle, which a scan in full
   flow rarely does, so the key is posted as an event. Target: median
   < 100 ms; the worst is reported too.

    python benchmarks/bench_app.py [--runs 5] [--key-runs 3] [--count 1000]

Profiles and history go to a throwaway folder.
"""

from __future__ import annotations

import argparse
import asyncio
import fcntl
import json
import os
import pty
import select
import signal
import statistics
import struct
import subprocess
import sys
import tempfile
import termios
import time
from pathlib import Path
from typing import Any

MANY_LAB = Path(__file__).with_name("many_lab.py")

GRID_MARK = b"STARTTLS"
"""A heading of the grid: once it is on the terminal, the grid is painted."""


def first_paint(pycache: Path, timeout: float = 20.0) -> float:
    """Seconds from starting `mailtui demo` on a 80x24 pty to the grid.

    Bytecode is cached in `pycache`, as it is for an installed package
    (this machine sets PYTHONDONTWRITEBYTECODE, which would otherwise make
    every run compile mailtui from source, about 0.1 s).
    """
    pid, fd = pty.fork()
    if pid == 0:  # the child: become `mailtui demo`
        os.environ["TERM"] = "xterm-256color"
        os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
        os.environ["PYTHONPYCACHEPREFIX"] = str(pycache)
        os.execvp(sys.executable, [sys.executable, "-m", "mailtui", "demo"])
    started = time.perf_counter()
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
    seen = b""
    try:
        while time.perf_counter() - started < timeout:
            ready, _, _ = select.select([fd], [], [], 0.05)
            if not ready:
                continue
            try:
                chunk = os.read(fd, 65536)
            except OSError:
                break  # the app exited
            # Keep a tail so a heading split across two reads is still seen.
            seen = seen[-len(GRID_MARK) :] + chunk
            if GRID_MARK in seen:
                return time.perf_counter() - started
        raise RuntimeError("the grid never appeared")
    finally:
        os.kill(pid, signal.SIGTERM)
        os.waitpid(pid, 0)
        os.close(fd)


async def key_reactions(lab: dict[str, Any], presses: int = 40) -> list[float]:
    """Seconds from posting "down" to the cursor moving, during one scan."""
    from textual import events

    from mailtui.probe import ProbeOptions
    from mailtui.targets import parse_resolve, parse_targets, pin
    from mailtui.tui.app import TEST_SIZE, MailTuiApp
    from mailtui.tui.screens.scan import ScanScreen

    resolve = dict(parse_resolve(spec) for spec in lab["resolve"])
    endpoints = pin(parse_targets(lab["endpoints"]), resolve)
    options = ProbeOptions(timeout=10.0, deadline=60.0, ca_file=Path(lab["ca_file"]))
    app = MailTuiApp(endpoints, options, target="bench", save_history=False)
    timings: list[float] = []
    async with app.run_test(size=TEST_SIZE) as pilot:
        while not isinstance(app.screen, ScanScreen) or not app.screen.running:
            await pilot.pause(0.05)
        screen = app.screen
        while screen.running and len(timings) < presses:
            row = screen.grid.cursor_row
            started = time.perf_counter()
            app.post_message(events.Key("down", None))
            while screen.grid.cursor_row == row:
                await asyncio.sleep(0.001)
            timings.append(time.perf_counter() - started)
            await asyncio.sleep(0.05)
        if screen.running:
            screen.action_cancel_scan()
    return timings


def start_many_lab(count: int, latency_ms: float) -> tuple[Any, dict[str, Any]]:
    process = subprocess.Popen(
        [
            sys.executable,
            str(MANY_LAB),
            "--count",
            str(count),
            "--latency",
            str(latency_ms),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    return process, json.loads(process.stdout.readline())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="first-paint runs")
    parser.add_argument("--key-runs", type=int, default=3, help="scans timed")
    parser.add_argument("--count", type=int, default=1000, help="endpoints")
    parser.add_argument("--latency", type=float, default=150.0, help="lab ms")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="mailtui-bench-") as home:
        os.environ["MAILTUI_CONFIG_DIR"] = str(Path(home) / "config")
        os.environ["MAILTUI_DATA_DIR"] = str(Path(home) / "data")

        pycache = Path(home) / "pycache"
        first_paint(pycache)  # warm-up: writes the bytecode cache
        paints = [first_paint(pycache) for _ in range(args.runs)]
        print(
            f"first paint of `mailtui demo` (pty, 80x24), {args.runs} runs: "
            f"median {statistics.median(paints) * 1000:.0f} ms, "
            f"worst {max(paints) * 1000:.0f} ms (target < 1000 ms)"
        )

        process, lab = start_many_lab(args.count, args.latency)
        try:
            medians, worst, total = [], 0.0, 0
            for _ in range(args.key_runs):
                timings = asyncio.run(key_reactions(lab))
                medians.append(statistics.median(timings))
                worst = max(worst, max(timings))
                total += len(timings)
        finally:
            process.terminate()
            process.wait(timeout=30)
        print(
            f"key reaction during a {args.count}-endpoint scan (run_test, "
            f"{total} keys over {args.key_runs} scans): median "
            f"{statistics.median(medians) * 1000:.1f} ms, worst "
            f"{worst * 1000:.1f} ms (target: median < 100 ms)"
        )


if __name__ == "__main__":
    main()
