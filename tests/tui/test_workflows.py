"""Pilot tests of what a user does around a scan: pick, save, export, compare.

Each test points the profile and history folders at its own temporary
directory, so it can look for the files the app wrote and never sees
another test's. Nothing here leaves loopback: a catalog provider is picked
and the endpoints handed to the scan screen are checked without scanning.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.widgets import Input, Label, OptionList, Static

from mailtui.lab import Lab
from mailtui.model import Endpoint, Verdict
from mailtui.probe import ProbeOptions
from mailtui.providers import Profile, find_provider, load_catalog, save_profile
from mailtui.tui.app import TEST_SIZE, MailTuiApp, create_app
from mailtui.tui.screens.dialogs import ExportScreen, SaveProfileScreen
from mailtui.tui.screens.history import HistoryScreen
from mailtui.tui.screens.picker import PickerScreen
from mailtui.tui.screens.scan import ScanScreen
from mailtui.tui.screens.settings import ClientSettingsScreen

from .pilots import static_text, wait_for_scan, wait_until


@pytest.fixture
def folders(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    """Fresh config and data folders for this test alone."""
    config, data = tmp_path / "config", tmp_path / "data"
    monkeypatch.setenv("MAILTUI_CONFIG_DIR", str(config))
    monkeypatch.setenv("MAILTUI_DATA_DIR", str(data))
    return {"profiles": config / "profiles", "data": data}


def _record_scans(app: MailTuiApp) -> list[tuple[list[Endpoint], str]]:
    """Catch what the app would scan, instead of scanning it."""
    asked: list[tuple[list[Endpoint], str]] = []

    def open_scan(
        endpoints: list[Endpoint], target: str, options: object = None
    ) -> None:
        asked.append((endpoints, target))

    app.open_scan = open_scan  # type: ignore[method-assign]
    return asked


async def test_a_catalog_provider_is_listed_filtered_and_picked(
    folders: dict[str, Path],
) -> None:
    app = create_app()
    asked = _record_scans(app)
    async with app.run_test(size=TEST_SIZE) as pilot:
        picker = app.picker
        await wait_until(pilot, lambda: picker.saved)
        providers = [c for c in picker.choices if c.kind == "provider"]
        assert len(providers) == len(load_catalog()) == 28

        await pilot.press(*"posteo", "enter")

        options = picker.query_one("#choices", OptionList)
        assert options.option_count == 1
        [(endpoints, target)] = asked
        assert target == "posteo"
        assert endpoints == find_provider("posteo").endpoints()


async def test_a_broken_profile_file_is_listed_with_its_path_and_error(
    folders: dict[str, Path],
) -> None:
    folders["profiles"].mkdir(parents=True)
    bad = folders["profiles"] / "oops.toml"
    bad.write_text("targets = [\n", encoding="utf-8")
    save_profile(Profile("good", ["imaps://mail.example.test:993"]))

    app = create_app()
    async with app.run_test(size=TEST_SIZE) as pilot:
        picker = app.picker
        await wait_until(pilot, lambda: picker.saved)
        await pilot.press(*"oops")

        [broken] = [c for c in picker.choices if c.broken]
        assert str(bad) in broken.description
        assert "TOML" in broken.description
        options = picker.query_one("#choices", OptionList)
        assert options.get_option_at_index(0).disabled
        assert any(c.kind == "profile" and c.name == "good" for c in picker.choices)


async def test_a_saved_profile_pointing_at_the_lab_is_scanned(
    folders: dict[str, Path],
) -> None:
    async with Lab(["modern"]) as lab:
        options = ProbeOptions(ca_file=lab.ca_file)
        profile = Profile.from_endpoints("lab-copy", lab.endpoints, options)
        save_profile(profile)

        app = create_app()
        async with app.run_test(size=TEST_SIZE) as pilot:
            await wait_until(pilot, lambda: app.picker.saved)
            await pilot.press(*"lab-copy", "enter")
            screen = await wait_for_scan(pilot)

            assert screen.target == "lab-copy"
            assert screen.options.ca_file == lab.ca_file
            assert len(screen.results) == len(lab.endpoints)
            assert {e.address for e in screen.endpoints} == {"127.0.0.1"}
            verdicts = {r.endpoint.service: r.verdict for r in screen.results.values()}
            assert verdicts["imaps"] is Verdict.RECOMMENDED


async def test_save_profile_writes_a_toml_file_and_flags_a_bad_name(
    folders: dict[str, Path],
) -> None:
    app = create_app(demo=True, lab_profiles=["modern"])
    async with app.run_test(size=TEST_SIZE) as pilot:
        await wait_for_scan(pilot)
        await pilot.press("w")
        assert isinstance(app.screen, SaveProfileScreen)

        await pilot.press(*"no good!", "enter")
        error = app.screen.query_one("#profile-name-error", Label)
        assert "invalid profile name" in str(error.content)
        assert isinstance(app.screen, SaveProfileScreen)

        app.screen.query_one("#profile-name", Input).value = ""
        await pilot.press(*"my-lab", "enter")
        path = folders["profiles"] / "my-lab.toml"
        await wait_until(pilot, path.exists)
        await wait_until(pilot, lambda: isinstance(app.screen, ScanScreen))
        text = path.read_text(encoding="utf-8")
        assert "imaps://imap.modern.lab.test:" in text
        assert "127.0.0.1" in text
        await wait_until(
            pilot, lambda: any(c.name == "my-lab" for c in app.picker.choices)
        )


async def test_export_html_writes_the_file_it_names(
    folders: dict[str, Path], tmp_path: Path
) -> None:
    app = create_app(demo=True, lab_profiles=["modern"])
    async with app.run_test(size=TEST_SIZE) as pilot:
        await wait_for_scan(pilot)
        await pilot.press("e")
        dialog = app.screen
        assert isinstance(dialog, ExportScreen)
        assert dialog.format == "html"
        default = Path(dialog.query_one("#export-path", Input).value)
        assert default.suffix == ".html"
        assert default.is_relative_to(folders["data"])

        # A Markdown name for an HTML report is flagged, and nothing written.
        wrong = tmp_path / "out" / "report.md"
        dialog.query_one("#export-path", Input).value = str(wrong)
        dialog.query_one("#export-path", Input).focus()
        await pilot.press("enter")
        error = dialog.query_one("#export-path-error", Label)
        await wait_until(pilot, lambda: "markdown" in str(error.render()))
        assert not wrong.exists()

        target = tmp_path / "out" / "report.html"
        dialog.query_one("#export-path", Input).value = str(target)
        dialog.query_one("#export-path", Input).focus()
        await pilot.press("enter")
        await wait_until(pilot, target.exists)

        assert "<html" in target.read_text(encoding="utf-8").lower()
        await wait_until(pilot, lambda: isinstance(app.screen, ScanScreen))


async def test_history_lists_both_scans_after_a_rescan_and_diffs_them(
    folders: dict[str, Path],
) -> None:
    app = create_app(demo=True, lab_profiles=["modern"])
    async with app.run_test(size=TEST_SIZE) as pilot:
        screen = await wait_for_scan(pilot)
        await wait_until(pilot, lambda: len(screen.saved_scans) == 1)
        await pilot.press("s")
        await wait_until(pilot, lambda: len(screen.saved_scans) == 2)
        assert list((folders["data"] / "history").glob("*/*.json"))

        await pilot.press("h")
        history = app.screen
        assert isinstance(history, HistoryScreen)
        await wait_until(pilot, lambda: len(history.entries) == 2)
        diff = history.query_one("#history-diff", Static)
        await wait_until(pilot, lambda: static_text(diff).strip() != "")
        assert static_text(diff).startswith(("No change between", "Changes between"))
        shown = history.query_one("#history-list", OptionList).highlighted
        assert shown is not None
        assert history.entries[shown].id != screen.saved_id

        options = history.query_one("#history-list", OptionList)
        prompts = [str(options.get_option_at_index(i).prompt) for i in range(2)]
        assert sum("(this scan)" in p for p in prompts) == 1


async def test_client_settings_name_the_recommended_endpoints(
    folders: dict[str, Path],
) -> None:
    app = create_app(demo=True, lab_profiles=["modern"])
    async with app.run_test(size=TEST_SIZE) as pilot:
        screen = await wait_for_scan(pilot)
        await pilot.press("m")
        settings = app.screen
        assert isinstance(settings, ClientSettingsScreen)
        imaps = next(e for e in screen.endpoints if e.service == "imaps")
        phone = settings.texts["phone"]
        assert "imap.modern.lab.test" in phone
        assert str(imaps.port) in phone
        assert "SSL/TLS" in phone
        assert set(settings.texts) >= {"thunderbird", "msmtp", "mbsync"}


async def test_discovery_of_an_invalid_domain_is_flagged_on_its_field(
    folders: dict[str, Path],
) -> None:
    app = create_app()
    async with app.run_test(size=TEST_SIZE) as pilot:
        await pilot.press("ctrl+t")
        field = app.screen.query_one("#domain", Input)
        field.focus()
        await pilot.press(*"not a domain!", "enter")

        assert isinstance(app.screen, PickerScreen)
        assert field.has_class("-invalid")
        error = app.screen.query_one("#domain-error", Label)
        assert error.has_class("-shown")
        assert "host name cannot contain spaces" in str(error.content)
        assert app.screen.discovery is None
