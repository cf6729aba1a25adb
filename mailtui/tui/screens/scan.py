"""The live scan: a grid filled by one worker running the probe engine.

Theory of operation
-------------------

One scan is one Textual worker (group "scan", exclusive) that awaits
`probe.run_scan()` on the app's own event loop. The engine reports progress
through a callback; the callback does no drawing. It stores the newest
event of each endpoint in `_pending` and posts a single `ProgressPosted`
if none is queued yet. When that message is handled, every pending event
is applied to the grid at once, cell by cell. So however fast the engine
reports, the screen handles at most one progress message at a time, and a
key press never waits behind thousands of them.

Cancelling the worker cancels `run_scan()`, whose probes close their
sockets on `CancelledError`. Leaving the screen cancels it too, because a
worker belongs to the screen that started it. Rerunning one row is a
separate small worker calling `probe_endpoint()`.

A scan that runs to its end is saved to the history by another worker,
through a thread, so the disk never stalls the grid; if that fails the
user gets a notification and the scan stays on screen. Saving the targets
as a profile, exporting a report, the history and the client settings are
screens of their own, opened from here.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from dataclasses import replace
from pathlib import Path

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.screen import Screen
from textual.widgets import DataTable, Header, Label, ProgressBar
from textual.worker import Worker, WorkerState

from mailtui import history
from mailtui.history import SavedScan
from mailtui.model import Endpoint, ProbeResult, Scan, Verdict
from mailtui.probe import (
    ProbeEvent,
    ProbeFinished,
    ProbeOptions,
    StageChanged,
    probe_endpoint,
    run_scan,
)
from mailtui.providers import Profile, ProfileError
from mailtui.providers.profiles import check_name
from mailtui.reports.facts import VERDICT_LABELS
from mailtui.tui.messages import ProgressPosted
from mailtui.tui.render import Palette
from mailtui.tui.screens.detail import DetailScreen
from mailtui.tui.screens.dialogs import ExportScreen, SaveProfileScreen
from mailtui.tui.screens.history import HistoryScreen
from mailtui.tui.screens.settings import ClientSettingsScreen
from mailtui.tui.widgets.footer import FittingFooter
from mailtui.tui.widgets.grid import ResultGrid

log = logging.getLogger(__name__)


class ScanScreen(Screen[None]):
    """A grid of endpoints, a progress bar, and the scan worker."""

    BINDINGS = [
        Binding("c", "cancel_scan", "Cancel", id="cancel-scan"),
        Binding("s", "rescan", "Rescan", id="rescan"),
        Binding("m", "client_settings", "Client setup", id="client-settings"),
        Binding("e", "export", "Export", id="export-report"),
        Binding("h", "history", "History", id="show-history"),
        Binding("w", "save_profile", "Save profile", id="save-profile"),
        Binding("r", "rerun_row", "Rerun row", id="rerun-row"),
        Binding("escape,p", "app.pop_screen", "Pick", id="open-picker"),
    ]

    def __init__(
        self,
        endpoints: list[Endpoint],
        options: ProbeOptions,
        target: str,
        *,
        finished: Scan | None = None,
        save_history: bool = True,
    ) -> None:
        """Scan `endpoints`, or show `finished` (a scan already done).

        Each scan that runs to its end is kept in the history unless
        `save_history` is False.
        """
        super().__init__()
        self.save_history = save_history
        self.endpoints = endpoints
        self.options = options
        self.target = target
        self.scan: Scan | None = finished
        """The last complete scan, with reruns of single rows folded in."""
        self.results: dict[str, ProbeResult] = {}
        self._pending: dict[str, ProbeEvent] = {}
        self._progress_posted = False
        self._worker: Worker[Scan] | None = None
        self._status = "queued"
        self.saved_scans: list[SavedScan] = []
        """What this screen put in the history, oldest first."""
        self.saved_id: str | None = None
        """The history id of the scan on screen, once saved."""

    def compose(self) -> ComposeResult:
        yield Header()
        yield ResultGrid(id="grid")
        with Horizontal(id="scan-status"):
            yield ProgressBar(total=len(self.endpoints), show_eta=False, id="progress")
            yield Label(id="scan-counter", markup=False)
        yield FittingFooter()

    def on_mount(self) -> None:
        self.title = "mailtui"
        self.sub_title = self.target
        self.app.theme_changed_signal.subscribe(self, lambda _: self._repaint())
        grid = self.grid
        grid.palette = self.palette
        grid.set_endpoints(self.endpoints)
        grid.focus()
        if self.scan is None:
            self.start_scan()
        else:
            for result in self.scan.results:
                self._show_result(result)
            self._set_status("done")

    @property
    def grid(self) -> ResultGrid:
        return self.query_one(ResultGrid)

    @property
    def palette(self) -> Palette:
        return Palette.from_variables(self.app.get_css_variables())

    @property
    def running(self) -> bool:
        return self._worker is not None and self._worker.is_running

    # The scan worker and its progress.

    def start_scan(self) -> None:
        """Probe every endpoint again, from an empty grid."""
        self.results.clear()
        self._pending.clear()
        self.saved_id = None
        self.grid.set_endpoints(self.endpoints)
        self._worker = self.run_worker(
            self._scan(),
            group="scan",
            exclusive=True,
            exit_on_error=False,
            description=f"scan of {self.target}",
        )
        self._set_status("scanning")

    async def _scan(self) -> Scan:
        log.info("scanning %d endpoints of %s", len(self.endpoints), self.target)
        return await run_scan(self.endpoints, self.options, self._record, self.target)

    def _record(self, event: ProbeEvent) -> None:
        """Engine callback: remember the newest event; never draw here."""
        if isinstance(event, ProbeFinished):
            key = event.result.endpoint.key
        else:
            key = event.endpoint.key
        self._pending[key] = event
        if not self._progress_posted:
            self._progress_posted = True
            self.post_message(ProgressPosted())

    @on(ProgressPosted)
    def _drain_progress(self) -> None:
        self._progress_posted = False
        pending, self._pending = self._pending, {}
        for key, event in pending.items():
            if isinstance(event, ProbeFinished):
                self._show_result(event.result)
            elif isinstance(event, StageChanged) and key not in self.results:
                self.grid.show_stage(event.endpoint, event.stage)
        self._update_counter()

    def _show_result(self, result: ProbeResult) -> None:
        self.results[result.endpoint.key] = result
        self.grid.show_result(result)

    @on(Worker.StateChanged)
    def _worker_changed(self, event: Worker.StateChanged) -> None:
        if event.worker is not self._worker:
            return
        state = event.state
        if state is WorkerState.SUCCESS:
            scan = event.worker.result
            assert scan is not None
            self._drain_progress()
            for result in scan.results:
                if self.results.get(result.endpoint.key) is not result:
                    self._show_result(result)
            self.scan = scan
            self._set_status("done")
            if self.save_history:
                self._save_to_history(scan)
        elif state is WorkerState.CANCELLED:
            self._drain_progress()
            for endpoint in self.endpoints:
                if endpoint.key not in self.results:
                    self.grid.show_cancelled(endpoint)
            self._set_status("cancelled")
        elif state is WorkerState.ERROR:
            log.error("scan failed", exc_info=event.worker.error)
            self.notify(
                f"The scan failed: {event.worker.error}",
                severity="error",
                markup=False,
            )
            self._set_status("failed")

    @work(group="history-save", exit_on_error=False, description="save to history")
    async def _save_to_history(self, scan: Scan) -> None:
        # A full disk or a read-only folder must not end the session: say so.
        try:
            saved = await asyncio.to_thread(history.save, scan)
        except Exception as error:
            log.warning("could not save the scan to the history: %s", error)
            self.notify(
                f"This scan was not saved to the history: {error}",
                severity="warning",
                markup=False,
            )
            return
        self.saved_scans.append(saved)
        self.saved_id = saved.id

    def _set_status(self, status: str) -> None:
        self._status = status
        self.set_class(status == "scanning", "-scanning")
        self._update_counter()
        self.refresh_bindings()

    def _update_counter(self) -> None:
        total = len(self.endpoints)
        done = len(self.results)
        self.query_one(ProgressBar).update(total=total, progress=done)
        verdicts = Counter(r.verdict for r in self.results.values())
        summary = ", ".join(
            f"{verdicts[v]} {VERDICT_LABELS[v]}" for v in Verdict if verdicts[v]
        )
        text = f"{self._status} {done}/{total}"
        if summary:
            text += f" · {summary}"
        self.query_one("#scan-counter", Label).update(Text(text))

    def _repaint(self) -> None:
        self.grid.repaint(self.palette)

    # Actions.

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Hide what makes no sense now, so the footer has room for the rest."""
        if action == "cancel_scan":
            return self.running
        if action == "rerun_row":
            return not self.running
        if action in ("export", "history", "client_settings"):
            return self.scan is not None
        return True

    def action_cancel_scan(self) -> None:
        if self._worker is not None and self.running:
            self._worker.cancel()
            self.notify("Scan cancelled.")

    def action_rescan(self) -> None:
        self.start_scan()

    def action_rerun_row(self) -> None:
        key = self.grid.selected_key
        endpoint = next((e for e in self.endpoints if e.key == key), None)
        if endpoint is None or self.running:
            return
        self.results.pop(endpoint.key, None)
        self.grid.clear_result(endpoint)
        self._update_counter()
        self._rerun(endpoint)

    @work(group="rerun", exit_on_error=False, description="rerun one endpoint")
    async def _rerun(self, endpoint: Endpoint) -> None:
        # probe_endpoint reports ProbeFinished itself, which fills the row.
        result = await probe_endpoint(endpoint, self.options, self._record)
        if self.scan is not None:
            results = [
                result if r.endpoint.key == endpoint.key else r
                for r in self.scan.results
            ]
            self.scan = replace(self.scan, results=results)

    def action_save_profile(self) -> None:
        """Ask a name and save the endpoints and options of this scan."""

        def make(name: str) -> Profile:
            return Profile.from_endpoints(name, self.endpoints, self.options)

        suggested = self.target if _is_profile_name(self.target) else ""
        self.app.push_screen(SaveProfileScreen(make, suggested), self._profile_saved)

    def _profile_saved(self, path: Path | None) -> None:
        if path is None:
            return
        self.notify(f"Profile saved to {path}", markup=False)
        picker = getattr(self.app, "picker", None)
        if picker is not None and picker.is_mounted:
            picker.action_reload()

    def action_export(self) -> None:
        if self.scan is not None:
            self.app.push_screen(ExportScreen(self.scan), self._exported)

    def _exported(self, path: Path | None) -> None:
        if path is not None:
            self.notify(f"Report written to {path}", markup=False)

    def action_history(self) -> None:
        if self.scan is not None:
            self.app.push_screen(HistoryScreen(self.scan, self.saved_id))

    def action_client_settings(self) -> None:
        if self.scan is not None:
            self.app.push_screen(ClientSettingsScreen(self.scan))

    @on(DataTable.RowSelected, "#grid")
    def _open_detail(self, event: DataTable.RowSelected) -> None:
        result = self.results.get(str(event.row_key.value))
        if result is None:
            cancelled = self._worker is not None and self._worker.is_cancelled
            self.notify(
                "The scan was cancelled before this endpoint was probed; "
                "press r to probe it."
                if cancelled
                else "This endpoint is still being probed."
            )
            return
        self.app.push_screen(DetailScreen(result, self.palette))


def _is_profile_name(target: str) -> bool:
    try:
        check_name(target)
    except ProfileError:
        return False
    return True
