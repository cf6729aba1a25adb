"""Small modal dialogs that write a file: save a profile, export a report.

Both ask for one or two things, write in a worker (the disk is never
touched on the event loop) and close with the path written. What goes
wrong (a bad name, a broken profile file in the way, a folder that cannot
be written) is shown on the field it concerns, and the dialog stays open so
the user can fix it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Select

from mailtui.history import target_slug
from mailtui.model import Scan
from mailtui.providers import Profile, ProfileError, save_profile
from mailtui.providers.paths import data_dir
from mailtui.providers.profiles import check_name
from mailtui.reports import SUFFIXES, format_for, write_report

log = logging.getLogger(__name__)

EXPORT_FORMATS = (
    ("HTML (one file, readable offline)", "html"),
    ("Markdown (the table a person writes)", "markdown"),
    ("JSON (every fact and transcript)", "json"),
    ("CSV (one row per endpoint)", "csv"),
)
"""(label, format) of the report formats a file can hold."""


class _FileDialog(ModalScreen[Path | None]):
    """What both dialogs share: a frame, Escape to cancel, field errors."""

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="cancel-dialog")]

    def action_cancel(self) -> None:
        self.dismiss(None)

    @on(Button.Pressed, "#cancel")
    def _cancel_pressed(self) -> None:
        self.dismiss(None)

    def show_error(self, field_id: str, message: str) -> None:
        """Flag `field_id` with `message`, or clear it when `message` is empty."""
        self.query_one(f"#{field_id}", Input).set_class(bool(message), "-invalid")
        error = self.query_one(f"#{field_id}-error", Label)
        error.update(Text(message))
        error.set_class(bool(message), "-shown")


class SaveProfileScreen(_FileDialog):
    """Ask a name, then save the profile `make_profile(name)` builds."""

    def __init__(self, make_profile: Callable[[str], Profile], name: str = "") -> None:
        super().__init__()
        self.make_profile = make_profile
        self.suggested = name

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label("Save these targets as a profile", classes="dialog-title")
            yield Label("Name", classes="field-label")
            yield Input(self.suggested, placeholder="work-mail", id="profile-name")
            yield Label(
                "", id="profile-name-error", classes="field-error", markup=False
            )
            with Horizontal(classes="dialog-buttons"):
                yield Button("Save", id="save", variant="primary")
                yield Button("Cancel", id="cancel")

    @on(Input.Submitted, "#profile-name")
    @on(Button.Pressed, "#save")
    def _submitted(self) -> None:
        name = self.query_one("#profile-name", Input).value.strip()
        try:
            check_name(name)
        except ProfileError as error:
            self.show_error("profile-name", str(error))
            return
        self._save(name)

    @work(group="save-profile", exclusive=True, exit_on_error=False)
    async def _save(self, name: str) -> None:
        directory = getattr(self.app, "profiles_dir", None)
        try:
            profile = self.make_profile(name)
            path = await asyncio.to_thread(save_profile, profile, directory)
        except ProfileError as error:
            self.show_error("profile-name", str(error))
            return
        log.info("saved profile %s to %s", name, path)
        self.dismiss(path)


def default_report_path(scan: Scan, format: str) -> Path:
    """Where an export goes unless the user says otherwise."""
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    name = f"{target_slug(scan.target)}-{stamp}{SUFFIXES[format]}"
    return data_dir() / "reports" / name


class ExportScreen(_FileDialog):
    """Choose a format and a path, then write `scan` there as a report."""

    def __init__(self, scan: Scan) -> None:
        super().__init__()
        self.scan = scan

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label("Export this scan as a report", classes="dialog-title")
            yield Label("Format", classes="field-label")
            yield Select(
                EXPORT_FORMATS, value="html", allow_blank=False, id="export-format"
            )
            yield Label("File", classes="field-label")
            yield Input(str(default_report_path(self.scan, "html")), id="export-path")
            yield Label("", id="export-path-error", classes="field-error", markup=False)
            with Horizontal(classes="dialog-buttons"):
                yield Button("Export", id="export", variant="primary")
                yield Button("Cancel", id="cancel")

    @property
    def format(self) -> str:
        return str(self.query_one("#export-format", Select).value)

    @on(Select.Changed, "#export-format")
    def _format_changed(self) -> None:
        # Follow the format with the file name's ending, keeping the rest.
        field = self.query_one("#export-path", Input)
        if field.value.strip():
            field.value = str(Path(field.value).with_suffix(SUFFIXES[self.format]))

    @on(Input.Submitted, "#export-path")
    @on(Button.Pressed, "#export")
    def _submitted(self) -> None:
        value = self.query_one("#export-path", Input).value.strip()
        if not value:
            self.show_error("export-path", "give a file name")
            return
        path = Path(value).expanduser()
        implied = format_for(path)
        if implied is not None and implied != self.format:
            # x.md holding HTML would open wrongly everywhere: ask instead.
            self.show_error(
                "export-path",
                f"{path.name} is a {implied} name; choose {implied} or "
                f"end the name with {SUFFIXES[self.format]}",
            )
            return
        self._export(path, self.format)

    @work(group="export", exclusive=True, exit_on_error=False)
    async def _export(self, path: Path, format: str) -> None:
        try:
            await asyncio.to_thread(write_report, self.scan, format, path)
        except OSError as error:
            self.show_error("export-path", f"cannot write {path}: {error.strerror}")
            return
        log.info("exported %s report to %s", format, path)
        self.dismiss(path)
