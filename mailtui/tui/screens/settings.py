"""What to type in a mail client, from the scan on screen.

A scan ends with the question "so which server, port and security do I
set?". `mailtui.clients.choose` answers it (the safest endpoint that worked,
per role, and why), and `render_client` writes the answer in each client's
own file format. This screen shows the plain answer first, then one tab
per client; `y` copies the tab shown. Everything shown is plain text built
from the scan, rendered literally.
"""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Header, Static, TabbedContent, TabPane

from mailtui.clients import CLIENTS, render_client
from mailtui.model import Scan
from mailtui.tui import render
from mailtui.tui.widgets.footer import FittingFooter

TAB_TITLES = {
    "phone": "Any client",
    "thunderbird": "Thunderbird",
    "fetchmail": "fetchmail",
    "msmtp": "msmtp",
    "mbsync": "mbsync",
    "neomutt": "neomutt",
}
"""Tab title per client of `CLIENTS`; "phone" is the plain table."""


def client_tabs() -> list[str]:
    """The clients in tab order: the plain table first."""
    return ["phone", *(c for c in CLIENTS if c != "phone")]


class ClientSettingsScreen(Screen[None]):
    """The client settings for one scan, one tab per client."""

    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back", id="close-settings"),
        Binding("y", "copy", "Copy", id="copy-settings"),
    ]

    def __init__(self, scan: Scan) -> None:
        super().__init__()
        self.scan = scan
        self.texts = {client: render_client(scan, client) for client in client_tabs()}
        """Each client's settings file, as text."""

    def compose(self) -> ComposeResult:
        yield Header()
        with TabbedContent(id="settings-tabs"):
            for client in client_tabs():
                title = TAB_TITLES.get(client, client)
                with (
                    TabPane(title, id=f"client-{client}"),
                    VerticalScroll(classes="settings-scroll"),
                ):
                    yield Static(self._text(client), classes="settings-text")
        yield FittingFooter()

    def _text(self, client: str) -> Text:
        _, file_name = CLIENTS[client]
        text = Text(f"{file_name}\n\n", style="bold")
        text.append_text(render.literal(self.texts[client]))
        return text

    def on_mount(self) -> None:
        self.title = "mailtui"
        self.sub_title = f"client settings for {self.scan.target}"

    @property
    def shown_client(self) -> str:
        active = self.query_one(TabbedContent).active
        return active.removeprefix("client-") or "phone"

    def action_copy(self) -> None:
        self.app.copy_to_clipboard(self.texts[self.shown_client])
        self.notify(f"{TAB_TITLES[self.shown_client]} settings copied.")
