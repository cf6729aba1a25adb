"""Helpers shared by the app's pilot tests: waiting and reading the screen."""

from __future__ import annotations

import time

from rich.text import Text
from textual.pilot import Pilot
from textual.widgets import Static

from mailtui.model import Endpoint
from mailtui.tui.screens.scan import ScanScreen
from mailtui.tui.widgets.grid import ResultGrid


async def wait_until(pilot: Pilot, condition: object, timeout: float = 20.0) -> None:
    """Let the app run until `condition()` is true, or fail after `timeout`."""
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise AssertionError(f"still waiting after {timeout} s")
        await pilot.pause(0.05)


async def wait_for_scan(
    pilot: Pilot, *, previous: ScanScreen | None = None
) -> ScanScreen:
    """The scan screen on top, once its scan has finished."""

    def finished() -> bool:
        screen = pilot.app.screen
        return (
            isinstance(screen, ScanScreen)
            and screen is not previous
            and screen.scan is not None
            and not screen.running
        )

    await wait_until(pilot, finished)
    await pilot.pause()
    screen = pilot.app.screen
    assert isinstance(screen, ScanScreen)
    return screen


def cell_text(grid: ResultGrid, endpoint: Endpoint, column: str) -> str:
    cell = grid.get_cell(endpoint.key, column)
    return cell.plain if isinstance(cell, Text) else str(cell)


def static_text(widget: Static) -> str:
    content = widget.content
    return content.plain if isinstance(content, Text) else str(content)


async def select_row(pilot: Pilot, grid: ResultGrid, endpoint: Endpoint) -> None:
    """Put the cursor on `endpoint`'s row and press Enter, as a user would."""
    grid.move_cursor(row=grid.get_row_index(endpoint.key))
    grid.focus()
    await pilot.press("enter")
    await pilot.pause()


def endpoint_of(screen: ScanScreen, host_prefix: str, service: str) -> Endpoint:
    return next(
        e
        for e in screen.endpoints
        if e.host.startswith(host_prefix) and e.service == service
    )
