"""Pilot tests: the real app, driven by keys, scanning the real lab on loopback."""

from __future__ import annotations

from textual.widgets import Input, Label, Static

from mailtui.model import Verdict
from mailtui.reports.facts import VERDICT_LABELS
from mailtui.tui.app import TEST_SIZE, create_app
from mailtui.tui.screens.detail import DetailScreen
from mailtui.tui.screens.help import HelpScreen
from mailtui.tui.screens.picker import PickerScreen
from mailtui.tui.screens.scan import ScanScreen
from mailtui.tui.widgets.chain import ChainTree
from mailtui.tui.widgets.grid import ResultGrid

from .pilots import (
    cell_text,
    endpoint_of,
    select_row,
    static_text,
    wait_for_scan,
    wait_until,
)

MODERN_VERDICTS = {
    "smtp": Verdict.DO_NOT_USE,
    "submissions": Verdict.RECOMMENDED,
    "submission": Verdict.ACCEPTABLE,
    "pop3": Verdict.ACCEPTABLE,
    "pop3s": Verdict.RECOMMENDED,
    "imap": Verdict.ACCEPTABLE,
    "imaps": Verdict.RECOMMENDED,
    "sieve": Verdict.ACCEPTABLE,
}
"""What the lab's RFC 8314 provider deserves, service by service."""


async def test_demo_starts_scanning_every_lab_profile_without_a_key() -> None:
    app = create_app(demo=True)
    async with app.run_test(size=TEST_SIZE) as pilot:
        screen = await wait_for_scan(pilot)

        assert app.lab is not None
        assert screen.endpoints == app.lab.endpoints
        grid = screen.query_one(ResultGrid)
        assert grid.row_count == len(app.lab.endpoints) > 20
        profiles = {cell_text(grid, e, "profile") for e in screen.endpoints}
        assert profiles == {"lab:isp2018", "lab:modern", "lab:broken"}
        for endpoint in screen.endpoints:
            assert cell_text(grid, endpoint, "verdict") in VERDICT_LABELS.values()

        lab = [c.name for c in app.picker.choices if c.kind == "lab"]
        assert lab == ["lab:isp2018", "lab:modern", "lab:broken"]
        assert app.picker.choices[: len(lab)] == app.picker.given
    assert app.lab.endpoints == [], "the lab is stopped when the app exits"


async def test_picking_a_lab_profile_scans_it_with_the_right_verdicts() -> None:
    app = create_app(demo=True, lab_profiles=["isp2018", "modern"])
    async with app.run_test(size=TEST_SIZE) as pilot:
        first = await wait_for_scan(pilot)
        await pilot.press("escape")
        assert isinstance(app.screen, PickerScreen)

        await pilot.press(*"modern", "enter")
        screen = await wait_for_scan(pilot, previous=first)

        assert screen.target == "lab:modern"
        grid = screen.query_one(ResultGrid)
        assert grid.row_count == len(MODERN_VERDICTS)
        for endpoint in screen.endpoints:
            verdict = MODERN_VERDICTS[endpoint.service]
            assert screen.results[endpoint.key].verdict is verdict
            assert cell_text(grid, endpoint, "verdict") == VERDICT_LABELS[verdict]
        assert "8/8" in str(screen.query_one("#scan-counter", Label).content)


async def test_detail_shows_the_starttls_exchange_and_the_chain() -> None:
    app = create_app(demo=True, lab_profiles=["modern"])
    async with app.run_test(size=TEST_SIZE) as pilot:
        screen = await wait_for_scan(pilot)
        imap = endpoint_of(screen, "imap.", "imap")
        await select_row(pilot, screen.grid, imap)

        detail = app.screen
        assert isinstance(detail, DetailScreen)
        transcript = static_text(detail.query_one("#transcript", Static))
        lines = transcript.splitlines()
        starttls = next(
            i for i, line in enumerate(lines) if "C: " in line and "STARTTLS" in line
        )
        boundary = next(i for i, line in enumerate(lines) if "══" in line)
        assert starttls < boundary
        after = [line for line in lines[boundary:] if "C: " in line or "S: " in line]
        assert after, "the dialogue goes on after the handshake"
        assert all("tls " in line for line in after), "and is marked as inside TLS"

        await pilot.press("2")
        tree = detail.query_one(ChainTree)
        assert tree.display
        assert len(tree.certificates) == 2
        assert tree.certificates[0].san == ["imap.modern.lab.test"]
        assert "trusted" in static_text(detail.query_one("#chain-status", Static))

        await pilot.press("4")
        assert detail.query_one("#findings").display
        await pilot.press("escape")
        assert app.screen is screen


async def test_hostile_banner_is_shown_literally() -> None:
    app = create_app(demo=True, lab_profiles=["broken"])
    async with app.run_test(size=TEST_SIZE) as pilot:
        screen = await wait_for_scan(pilot)
        await select_row(pilot, screen.grid, endpoint_of(screen, "markup.", "smtp"))

        detail = app.screen
        assert isinstance(detail, DetailScreen)
        transcript = static_text(detail.query_one("#transcript", Static))
        assert "[@click=app.quit]x[/]" in transcript
        assert "[link=https://example.invalid]" in transcript
        assert "\\x1b[31mred" in transcript
        assert "\x1b" not in transcript
        assert app.is_running

        await pilot.press("escape")
        missing = endpoint_of(screen, "missing-intermediate.", "pop3s")
        await select_row(pilot, screen.grid, missing)
        await pilot.press("2")
        assert len(app.screen.query_one(ChainTree).certificates) == 1


async def test_cancel_stops_the_scan_mid_way_and_rescan_starts_again() -> None:
    app = create_app(demo=True, lab_profiles=["modern"], lab_latency=0.3)
    async with app.run_test(size=TEST_SIZE) as pilot:
        await wait_until(pilot, lambda: isinstance(app.screen, ScanScreen))
        screen = app.screen
        assert isinstance(screen, ScanScreen)
        await wait_until(pilot, lambda: screen.running)
        await pilot.pause(0.5)

        await pilot.press("c")
        await wait_until(pilot, lambda: not screen.running)

        assert screen.scan is None
        assert len(screen.results) < len(screen.endpoints)
        states = {cell_text(screen.grid, e, "state") for e in screen.endpoints}
        assert "cancelled" in states
        verdicts = {cell_text(screen.grid, e, "verdict") for e in screen.endpoints}
        assert "cancelled" in verdicts
        assert "cancelled" in str(screen.query_one("#scan-counter", Label).content)

        await pilot.press("s")
        assert screen.running


async def test_rerun_one_row() -> None:
    app = create_app(demo=True, lab_profiles=["modern"])
    async with app.run_test(size=TEST_SIZE) as pilot:
        screen = await wait_for_scan(pilot)
        imaps = endpoint_of(screen, "imap.", "imaps")
        before = screen.results[imaps.key]
        screen.grid.move_cursor(row=screen.grid.get_row_index(imaps.key))

        await pilot.press("r")
        await wait_until(
            pilot, lambda: screen.results.get(imaps.key) not in (None, before)
        )

        after = screen.results[imaps.key]
        assert after.verdict is Verdict.RECOMMENDED
        assert screen.scan is not None
        assert after in screen.scan.results


async def test_invalid_host_is_flagged_on_its_field() -> None:
    app = create_app()
    async with app.run_test(size=TEST_SIZE) as pilot:
        await pilot.press("ctrl+t")
        field = app.screen.query_one("#targets", Input)
        assert field.has_focus

        await pilot.press(*"bad host!", "enter")

        assert isinstance(app.screen, PickerScreen)
        assert field.has_class("-invalid")
        error = app.screen.query_one("#targets-error", Label)
        assert error.has_class("-shown")
        assert "not a valid host name" in str(error.content)


async def test_empty_form_says_there_is_nothing_to_scan() -> None:
    app = create_app()
    async with app.run_test(size=TEST_SIZE) as pilot:
        await pilot.press("ctrl+t", "ctrl+s")
        assert isinstance(app.screen, PickerScreen)
        assert "nothing to scan" in static_text(
            app.screen.query_one("#form-error", Static)
        )


async def test_form_endpoint_opens_a_scan() -> None:
    # Port 1 on loopback is closed: the probe ends at once, refused.
    app = create_app()
    async with app.run_test(size=TEST_SIZE) as pilot:
        await pilot.press("ctrl+t", *"imaps://127.0.0.1:1", "enter")
        screen = await wait_for_scan(pilot)
        [result] = screen.results.values()
        assert result.verdict is Verdict.UNREACHABLE
        assert cell_text(screen.grid, result.endpoint, "state") == "refused"


async def test_help_explains_verdicts_and_rfc_8314() -> None:
    app = create_app()
    async with app.run_test(size=TEST_SIZE) as pilot:
        await pilot.press("f1")
        assert isinstance(app.screen, HelpScreen)
        text = static_text(app.screen.query_one("#help-text", Static))
        assert "RFC 8314" in text
        for word in VERDICT_LABELS.values():
            assert word in text
        await pilot.press("escape")
        assert isinstance(app.screen, PickerScreen)


async def test_command_palette_reaches_every_screen_action() -> None:
    app = create_app(demo=True, lab_profiles=["modern"])
    async with app.run_test(size=TEST_SIZE) as pilot:
        screen = await wait_for_scan(pilot)
        titles = {c.title for c in app.get_system_commands(screen)}
        assert {"Details", "Rescan", "Rerun row", "Pick", "Help", "Quit"} <= titles
        assert {"Save profile", "Export", "History", "Client setup"} <= titles
        assert "Cancel" not in titles, "nothing to cancel once the scan is done"

        await select_row(pilot, screen.grid, screen.endpoints[0])
        titles = {c.title for c in app.get_system_commands(app.screen)}
        assert {"Transcript", "Chain", "TLS", "Findings", "Copy", "Back"} <= titles


async def test_theme_change_recolours_the_grid() -> None:
    app = create_app(demo=True, lab_profiles=["modern"])
    async with app.run_test(size=TEST_SIZE) as pilot:
        screen = await wait_for_scan(pilot)
        dark = screen.grid.palette
        app.theme = "textual-light"
        await pilot.pause()
        assert screen.grid.palette != dark
        assert screen.grid.palette.ok == app.get_css_variables()["text-success"]


async def test_clicking_a_row_twice_opens_its_detail() -> None:
    app = create_app(demo=True, lab_profiles=["modern"])
    async with app.run_test(size=TEST_SIZE) as pilot:
        screen = await wait_for_scan(pilot)
        # Row 2 of the table is the third endpoint (row 0 is the header).
        await pilot.click(ResultGrid, offset=(3, 3))
        assert screen.grid.cursor_row == 2
        await pilot.click(ResultGrid, offset=(3, 3))
        await pilot.pause()

        detail = app.screen
        assert isinstance(detail, DetailScreen)
        assert detail.result.endpoint == screen.endpoints[2]
