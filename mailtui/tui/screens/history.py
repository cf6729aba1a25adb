"""Earlier scans of the current target, and what changed since each.

The history is a folder of JSON files (`mailtui.history`), so listing it
and loading one scan are disk reads: both run in a worker thread. Choosing
a scan in the list compares it with the scan on screen using
`mailtui.diff`, whose sentences ("587 now offers STARTTLS") are the same
ones `mailtui diff` prints.
"""

from __future__ import annotations

import asyncio
import logging

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Header, OptionList, Static
from textual.widgets.option_list import Option

from mailtui import history
from mailtui.diff import diff_scans, render_diff
from mailtui.history import SavedScan
from mailtui.model import Scan, Verdict
from mailtui.reports.facts import VERDICT_LABELS, when
from mailtui.tui import render
from mailtui.tui.widgets.footer import FittingFooter

log = logging.getLogger(__name__)


def entry_prompt(entry: SavedScan, current_id: str | None) -> Text:
    """One saved scan: when, and how many endpoints got each verdict."""
    counts = ", ".join(
        f"{entry.verdicts[str(v)]} {VERDICT_LABELS[v]}"
        for v in Verdict
        if entry.verdicts.get(str(v))
    )
    text = Text(when(entry.started_at), style="bold")
    text.append(f"  {counts}")
    if entry.id == current_id:
        text.append("  (this scan)", style="dim")
    return text


def diff_text(old: Scan, new: Scan) -> str:
    """`mailtui diff`'s words for the change from `old` to `new`."""
    return render_diff(diff_scans(old, new))


class HistoryScreen(Screen[None]):
    """Saved scans of one target, newest first, and a diff with the current."""

    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back", id="close-history"),
        Binding("ctrl+r", "reload", "Reload", id="reload-history"),
    ]

    def __init__(self, scan: Scan, current_id: str | None = None) -> None:
        """List the history of `scan`'s target; `current_id` is `scan`'s own."""
        super().__init__()
        self.scan = scan
        """The scan on screen, which each saved scan is compared with."""
        self.current_id = current_id
        self.entries: list[SavedScan] = []

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(id="history-status", markup=False)
        yield OptionList(id="history-list")
        with VerticalScroll(id="history-diff-scroll"):
            yield Static(id="history-diff", markup=False)
        yield FittingFooter()

    def on_mount(self) -> None:
        self.title = "mailtui"
        self.sub_title = f"history of {self.scan.target}"
        self.query_one("#history-list").focus()
        self.action_reload()

    def action_reload(self) -> None:
        self._list()

    @work(group="history-list", exclusive=True, exit_on_error=False)
    async def _list(self) -> None:
        status = self.query_one("#history-status", Static)
        status.update(Text("Reading the history…"))
        try:
            entries = await asyncio.to_thread(history.list_scans, self.scan.target)
        except OSError as error:
            status.update(Text(f"Cannot read the history: {error}"))
            return
        self.entries = list(reversed(entries))
        options = self.query_one("#history-list", OptionList)
        options.clear_options()
        for index, entry in enumerate(self.entries):
            options.add_option(
                Option(entry_prompt(entry, self.current_id), id=str(index))
            )
        count = len(self.entries)
        status.update(
            Text(
                f"{count} saved scan{'s' if count != 1 else ''} of "
                f"{self.scan.target}; choose one to see what changed since."
            )
        )
        if count:
            # Comparing the scan on screen with itself says nothing: start
            # on the one before it.
            others = (i for i, e in enumerate(self.entries) if e.id != self.current_id)
            options.highlighted = next(others, 0)

    @on(OptionList.OptionHighlighted, "#history-list")
    def _highlighted(self, event: OptionList.OptionHighlighted) -> None:
        self._compare(self.entries[int(event.option.id or 0)])

    @work(group="history-diff", exclusive=True, exit_on_error=False)
    async def _compare(self, entry: SavedScan) -> None:
        shown = self.query_one("#history-diff", Static)
        if entry.id == self.current_id:
            shown.update(Text("This is the scan on screen; choose an earlier one."))
            return
        try:
            old = await asyncio.to_thread(entry.load)
        except history.HistoryError as error:
            shown.update(render.literal(str(error)))
            return
        shown.update(render.literal(diff_text(old, self.scan)))
