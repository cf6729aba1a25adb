"""SVG snapshots of every screen, on a lab scan made stable by `stable`.

Update them with `pytest tests/tui/test_snapshots.py --snapshot-update`,
then look at the SVGs before committing.
"""

from __future__ import annotations

import pytest
from textual.pilot import Pilot

from mailtui.model import Scan
from mailtui.tui.app import TEST_SIZE, MailTuiApp, create_app
from mailtui.tui.screens.scan import ScanScreen

from .pilots import wait_until
from .stable import lab_choices, lab_scan


@pytest.fixture(scope="module")
def scan() -> Scan:
    return lab_scan(["modern", "broken"])


async def _catalog_loaded(pilot: Pilot) -> None:
    app = pilot.app
    assert isinstance(app, MailTuiApp)
    await wait_until(pilot, lambda: app.picker.saved)


def test_picker(snap_compare) -> None:
    assert snap_compare(
        create_app(choices=lab_choices()),
        run_before=_catalog_loaded,
        terminal_size=TEST_SIZE,
    )


def test_picker_filtered_80x24(snap_compare) -> None:
    assert snap_compare(
        create_app(choices=lab_choices()),
        run_before=_catalog_loaded,
        press=[*"gm"],
        terminal_size=(80, 24),
    )


def test_picker_form_with_error(snap_compare) -> None:
    app = create_app(choices=lab_choices())
    assert snap_compare(
        app,
        run_before=_catalog_loaded,
        press=["ctrl+t", *"imap.example:143", "enter"],
        terminal_size=TEST_SIZE,
    )


def test_finished_grid(snap_compare, scan: Scan) -> None:
    assert snap_compare(create_app(scan=scan), terminal_size=TEST_SIZE)


def test_finished_grid_80x24(snap_compare, scan: Scan) -> None:
    assert snap_compare(create_app(scan=scan), terminal_size=(80, 24))


async def _open_modern_imap(pilot: Pilot) -> None:
    screen = pilot.app.screen
    assert isinstance(screen, ScanScreen)
    key = next(
        e.key
        for e in screen.endpoints
        if e.host == "imap.modern.lab.test" and e.service == "imap"
    )
    screen.grid.move_cursor(row=screen.grid.get_row_index(key))
    await pilot.press("enter")
    await pilot.pause()


@pytest.mark.parametrize("tab", ["1", "2", "3", "4"])
def test_detail_tab(snap_compare, scan: Scan, tab: str) -> None:
    app = create_app(scan=scan)
    assert snap_compare(
        app, press=[tab], run_before=_open_modern_imap, terminal_size=TEST_SIZE
    )


def test_hostile_banner(snap_compare, scan: Scan) -> None:
    async def open_markup(pilot: Pilot) -> None:
        screen = pilot.app.screen
        assert isinstance(screen, ScanScreen)
        key = next(e.key for e in screen.endpoints if e.host.startswith("markup."))
        screen.grid.move_cursor(row=screen.grid.get_row_index(key))
        await pilot.press("enter")
        await pilot.pause()

    assert snap_compare(
        create_app(scan=scan), run_before=open_markup, terminal_size=TEST_SIZE
    )


def test_client_settings(snap_compare, scan: Scan) -> None:
    assert snap_compare(create_app(scan=scan), press=["m"], terminal_size=TEST_SIZE)


def test_save_profile_dialog_with_error(snap_compare, scan: Scan) -> None:
    assert snap_compare(
        create_app(scan=scan),
        press=["w", *"bad name", "enter"],
        terminal_size=TEST_SIZE,
    )


def test_help(snap_compare) -> None:
    assert snap_compare(create_app(), press=["f1"], terminal_size=TEST_SIZE)
