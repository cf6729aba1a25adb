"""Drive the real app on the embedded lab and save SVG screenshots.

The README's pictures come from here, so anyone can remake them after a
change to the app:

    python scripts/screenshots.py [--out screenshots] [--size 120x36]

It runs `mailtui demo` headless (the lab on loopback, no network needed,
with the TLS version sweep on), waits for the scan to finish, then visits
every screen: the grid in the dark and the light theme, each tab of one
STARTTLS endpoint's detail, the TLS pane of the TLS 1.0 endpoint, the
hostile-banner endpoint, the client settings, the history after a rescan,
the export and save dialogs, the picker with the catalog, the host form
and the legend; then the grid again at 80x24.

Profiles and history go to a throwaway folder, never the user's own.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import time
from pathlib import Path

from textual.pilot import Pilot
from textual.widgets import Input

from mailtui.probe import ProbeOptions
from mailtui.providers.paths import CONFIG_ENV, DATA_ENV
from mailtui.tui.app import MailTuiApp
from mailtui.tui.screens.scan import ScanScreen


async def _wait_for_scan(pilot: Pilot, timeout: float = 60.0) -> ScanScreen:
    deadline = time.monotonic() + timeout
    while True:
        screen = pilot.app.screen
        if isinstance(screen, ScanScreen) and screen.scan and not screen.running:
            await pilot.pause(0.2)
            return screen
        if time.monotonic() > deadline:
            raise SystemExit("the lab scan did not finish in time")
        await pilot.pause(0.1)


async def _open_row(pilot: Pilot, screen: ScanScreen, host: str, service: str) -> None:
    key = next(
        e.key for e in screen.endpoints if e.host == host and e.service == service
    )
    screen.grid.move_cursor(row=screen.grid.get_row_index(key))
    screen.grid.focus()
    await pilot.press("enter")
    await pilot.pause(0.2)


def _demo() -> MailTuiApp:
    options = ProbeOptions(timeout=2.0, deadline=10.0, sweep=True)
    return MailTuiApp(options=options, demo=True)


async def take(out: Path, size: tuple[int, int]) -> list[Path]:
    """Every screenshot, in the order a visitor would meet the screens."""
    saved: list[Path] = []
    app = _demo()

    def shot(name: str) -> None:
        saved.append(Path(app.save_screenshot(f"{name}.svg", path=str(out))))

    async with app.run_test(size=size) as pilot:
        screen = await _wait_for_scan(pilot)
        shot("grid")

        await _open_row(pilot, screen, "imap.modern.lab.test", "imap")
        for key, name in (
            ("1", "transcript"),
            ("2", "chain"),
            ("3", "tls"),
            ("4", "findings"),
        ):
            await pilot.press(key)
            await pilot.pause(0.1)
            shot(f"detail-{name}")
        await pilot.press("escape")

        await _open_row(pilot, screen, "tls10.broken.lab.test", "imaps")
        await pilot.press("3")
        await pilot.pause(0.1)
        shot("detail-tls-sweep")
        await pilot.press("escape")

        await _open_row(pilot, screen, "markup.broken.lab.test", "smtp")
        shot("hostile-banner")
        await pilot.press("escape")

        for key, name in (("m", "client-settings"), ("w", "save-profile")):
            await pilot.press(key)
            await pilot.pause(0.2)
            shot(name)
            await pilot.press("escape")
            await pilot.pause(0.1)

        await pilot.press("e")
        await pilot.pause(0.2)
        # The default path names the throwaway folder; show a usual one.
        app.screen.query_one("#export-path", Input).value = "~/lab-report.html"
        await pilot.pause(0.1)
        shot("export")
        await pilot.press("escape")
        await pilot.pause(0.1)

        await pilot.press("s")
        screen = await _wait_for_scan(pilot)
        while len(screen.saved_scans) < 2:
            await pilot.pause(0.1)
        await pilot.press("h")
        await pilot.pause(0.5)
        shot("history")
        await pilot.press("escape")

        await pilot.press("f1")
        await pilot.pause(0.1)
        shot("help")
        await pilot.press("escape")

        app.theme = "textual-light"
        await pilot.pause(0.2)
        shot("grid-light")
        app.theme = "textual-dark"

        await pilot.press("escape")
        await pilot.pause(0.1)
        shot("picker")
        await pilot.press(*"gmx")
        await pilot.pause(0.1)
        shot("picker-filtered")
        await pilot.press("ctrl+t", *"imap.example:143", "enter")
        await pilot.pause(0.1)
        shot("picker-form")

    app = _demo()
    async with app.run_test(size=(80, 24)) as pilot:
        await _wait_for_scan(pilot)
        shot("grid-80x24")
    return saved


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("screenshots"))
    parser.add_argument("--size", default="120x36", help="terminal WIDTHxHEIGHT")
    args = parser.parse_args()
    width, height = (int(n) for n in args.size.split("x"))
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="mailtui-screenshots-") as home:
        os.environ[CONFIG_ENV] = str(Path(home) / "config")
        os.environ[DATA_ENV] = str(Path(home) / "data")
        for path in asyncio.run(take(args.out.resolve(), (width, height))):
            print(path)


if __name__ == "__main__":
    main()
