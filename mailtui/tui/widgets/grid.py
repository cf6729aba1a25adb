"""The scan grid: one row per endpoint, updated cell by cell as probes move.

A scan of a thousand endpoints sends thousands of stage changes; rebuilding
the table for each would freeze the app. Rows are therefore added once, keyed
by the endpoint's key, and every later change touches only the cells that
changed (`update_cell`), with fixed column widths so no change forces the
table to measure itself again.

The columns a person decides with (what, service, port, verdict, STARTTLS,
TLS, certificate) come first and fit in 80 columns; state, time, profile,
host and cipher follow, reachable by scrolling right when the terminal is
narrow. Only the "what" column stretches with the terminal: when its width
changes the table is laid out again from what it already shows.
"""

from __future__ import annotations

from rich.text import Text
from textual import events
from textual.binding import Binding
from textual.widgets import DataTable

from mailtui.model import Endpoint, ProbeResult, Stage
from mailtui.tui import render
from mailtui.tui.render import Palette

KEY_COLUMNS: tuple[tuple[str, str, int], ...] = (
    ("what", "What", 0),
    ("service", "Service", 11),
    ("port", "Port", 5),
    ("verdict", "Verdict", 11),
    ("starttls", "STARTTLS", 8),
    ("tls", "TLS", 3),
    ("cert", "Certificate", 14),
)
"""(key, heading, width) of the columns that must fit in 80 columns; the
width of "what" (0 here) is whatever the terminal leaves."""

MORE_COLUMNS: tuple[tuple[str, str, int], ...] = (
    ("state", "State", 11),
    ("time", "Time", 7),
    ("profile", "Profile", 12),
    ("host", "Host", 30),
    ("cipher", "Cipher", 30),
)
"""Columns after the key ones, seen at once on a wide terminal."""

WHAT_WIDTH = (10, 34)
"""The narrowest and widest the "what" column gets."""

WIDE_STARTTLS = 12
"""Width of STARTTLS when there is room for "yes (hidden)" in full."""

_CELL_PADDING = 2
"""DataTable's space around each cell (one on each side)."""

_SCROLLBAR = 2

_RESULT_COLUMNS = ("verdict", "state", "starttls", "tls", "cert", "time", "cipher")
"""The cells a probe's result fills, emptied before a rerun."""


def column_widths(width: int) -> dict[str, int]:
    """Every column's width for a table `width` cells wide."""
    widths = {key: w for key, _, w in KEY_COLUMNS + MORE_COLUMNS}
    fixed = sum(w for _, _, w in KEY_COLUMNS) + _CELL_PADDING * len(KEY_COLUMNS)
    room = width - _SCROLLBAR - fixed
    lowest, highest = WHAT_WIDTH
    if room - (WIDE_STARTTLS - widths["starttls"]) >= 24:
        widths["starttls"] = WIDE_STARTTLS
        room -= WIDE_STARTTLS - 8
    widths["what"] = max(lowest, min(highest, room))
    return widths


class ResultGrid(DataTable[Text]):
    """A table of endpoints that shows stages live, then results."""

    BINDINGS = [
        Binding("enter", "select_cursor", "Details", id="open-detail"),
    ]

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, cursor_type="row", zebra_stripes=True)
        self.palette = Palette()
        self._endpoints: list[Endpoint] = []
        self._shown: dict[str, ProbeResult | Stage] = {}
        self._widths: dict[str, int] = {}

    def on_mount(self) -> None:
        self._lay_out(self.size.width or 80)

    def on_resize(self, event: events.Resize) -> None:
        if column_widths(event.size.width) != self._widths:
            self._lay_out(event.size.width)

    @property
    def narrow(self) -> bool:
        """True when STARTTLS words are abbreviated to fit."""
        return self._widths.get("starttls", 0) < WIDE_STARTTLS

    def _lay_out(self, width: int) -> None:
        """Set the columns for `width`, then show every row again."""
        cursor = self.cursor_row
        self._widths = column_widths(width)
        self.clear(columns=True)
        for key, heading, _ in KEY_COLUMNS + MORE_COLUMNS:
            self.add_column(heading, key=key, width=self._widths[key])
        shown = dict(self._shown)
        self._add_rows(self._endpoints)
        for key, value in shown.items():
            if isinstance(value, ProbeResult):
                self.show_result(value)
            elif value is not Stage.PENDING:
                self.update_cell(key, "state", render.stage_cell(value, self.palette))
        if self.row_count:
            self.move_cursor(row=min(cursor, self.row_count - 1))

    def set_endpoints(self, endpoints: list[Endpoint]) -> None:
        """Start over with these endpoints, all queued."""
        self._endpoints = list(endpoints)
        self.clear()
        self._add_rows(self._endpoints)

    def _add_rows(self, endpoints: list[Endpoint]) -> None:
        self._shown.clear()
        if not self.columns:
            return  # laid out on mount, from self._endpoints
        for endpoint in endpoints:
            label = endpoint.label.split()
            cells = {
                "what": _fit(render.literal(render.what_of(endpoint))),
                "service": Text(endpoint.service),
                "port": Text(str(endpoint.port), justify="right"),
                "state": render.stage_cell(Stage.PENDING, self.palette),
                "profile": _fit(render.literal(label[0] if label else "")),
                "host": _fit(render.literal(endpoint.host)),
            }
            row = [cells.get(key.value or "", Text("")) for key in self.columns]
            self.add_row(*row, key=endpoint.key)
            self._shown[endpoint.key] = Stage.PENDING

    def show_stage(self, endpoint: Endpoint, stage: Stage) -> None:
        """A probe moved on: only the state cell changes."""
        self._shown[endpoint.key] = stage
        self.update_cell(endpoint.key, "state", render.stage_cell(stage, self.palette))

    def clear_result(self, endpoint: Endpoint) -> None:
        """Forget a row's result before probing it again."""
        for key in _RESULT_COLUMNS:
            self.update_cell(endpoint.key, key, Text(""))
        self.show_stage(endpoint, Stage.PENDING)

    def show_result(self, result: ProbeResult) -> None:
        """A probe is over: fill every cell of its row."""
        key = result.endpoint.key
        self._shown[key] = result
        p = self.palette
        cells = {
            "verdict": render.verdict_cell(result.verdict, p),
            "state": render.state_cell(result, p),
            "starttls": render.starttls_cell(result, p, narrow=self.narrow),
            "tls": render.tls_version_cell(result, p),
            "cert": render.cert_cell(result, p),
            "time": render.time_cell(result),
            "cipher": render.cipher_cell(result, p),
        }
        for column, cell in cells.items():
            self.update_cell(key, column, cell)

    def show_cancelled(self, endpoint: Endpoint) -> None:
        """A probe that never finished because the scan was cancelled."""
        self._shown[endpoint.key] = Stage.PENDING
        # In the verdict column too: at 80 columns the state one is off screen.
        for column in ("state", "verdict"):
            self.update_cell(
                endpoint.key, column, Text("cancelled", style=self.palette.muted)
            )

    def repaint(self, palette: Palette) -> None:
        """Colour every row again, after a theme change."""
        self.palette = palette
        for key, shown in list(self._shown.items()):
            if isinstance(shown, ProbeResult):
                self.show_result(shown)
            elif shown is not Stage.PENDING:
                self.update_cell(key, "state", render.stage_cell(shown, palette))

    @property
    def selected_key(self) -> str | None:
        """The endpoint key of the row under the cursor."""
        if not self.row_count:
            return None
        row_key, _ = self.coordinate_to_cell_key(self.cursor_coordinate)
        return row_key.value


def _fit(text: Text) -> Text:
    """Cut a long cell with "…" rather than mid-word without a sign."""
    text.no_wrap = True
    text.overflow = "ellipsis"
    return text
