"""The scan grid: one row per endpoint, updated cell by cell as probes move.

A scan of a thousand endpoints sends thousands of stage changes; rebuilding
the table for each would freeze the app. Rows are therefore added once, keyed
by the endpoint's key, and every later change touches only the cells that
changed (`update_cell`), with fixed column widths so no change forces the
table to measure itself again.
"""

from __future__ import annotations

from rich.text import Text
from textual.binding import Binding
from textual.widgets import DataTable

from mailtui.model import Endpoint, ProbeResult, Stage
from mailtui.tui import render
from mailtui.tui.render import Palette

COLUMNS: tuple[tuple[str, str, int], ...] = (
    ("target", "Target", 12),
    ("service", "Service", 11),
    ("port", "Port", 5),
    ("verdict", "Verdict", 11),
    ("state", "State", 11),
    ("starttls", "STARTTLS", 8),
    ("tls", "TLS", 3),
    ("cert", "Certificate", 16),
    ("time", "Time", 7),
    ("host", "Host", 28),
    ("cipher", "Cipher", 22),
)
"""(key, heading, width): the verdict comes early so it fits in 80 columns;
the host is late because the target already names it when there is no
label, and a lab host only says which failure the row imitates."""


_RESULT_COLUMNS = ("verdict", "starttls", "tls", "cert", "time", "cipher")
"""The cells a probe's result fills, emptied before a rerun."""


class ResultGrid(DataTable[Text]):
    """A table of endpoints that shows stages live, then results."""

    BINDINGS = [
        Binding("enter", "select_cursor", "Details", id="open-detail"),
    ]

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, cursor_type="row", zebra_stripes=True)
        self.palette = Palette()
        self._shown: dict[str, ProbeResult | Stage] = {}

    def on_mount(self) -> None:
        for key, heading, width in COLUMNS:
            self.add_column(heading, key=key, width=width)

    def set_endpoints(self, endpoints: list[Endpoint]) -> None:
        """Start over with these endpoints, all queued."""
        self.clear()
        self._shown.clear()
        for endpoint in endpoints:
            label = endpoint.label.split()
            cells = {
                "target": render.literal(label[0] if label else endpoint.host),
                "service": Text(endpoint.service),
                "port": Text(str(endpoint.port), justify="right"),
                "state": render.stage_cell(Stage.PENDING, self.palette),
                "host": render.literal(endpoint.host),
            }
            row = [cells.get(key, Text("")) for key, _, _ in COLUMNS]
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
            "starttls": render.starttls_cell(result, p),
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
        self.update_cell(
            endpoint.key, "state", Text("cancelled", style=self.palette.muted)
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
