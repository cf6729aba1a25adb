"""The legend: what each verdict means and why implicit TLS comes first.

The meaning of each verdict is the findings module's own words
(`VERDICT_EXPLANATIONS`), so the app and the reports explain a verdict the
same way; this screen adds how to read the grid.
"""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from mailtui.findings import HISTORY_NOTE, VERDICT_EXPLANATIONS
from mailtui.tui import render
from mailtui.tui.render import Palette
from mailtui.tui.widgets.footer import FittingFooter

WHY_IMPLICIT_TLS = (
    "RFC 8314 (2018) prefers implicit TLS for mail clients: ports 465 "
    "(submission), 993 (IMAP) and 995 (POP3) start TLS before any mail "
    "protocol is spoken, so nothing travels in clear. STARTTLS on 587, 143 "
    "and 110 begins in clear text: an attacker on the path can strip the "
    "STARTTLS offer or inject commands before the upgrade, which is why it "
    "is only acceptable when the client insists on it. Port 25 is for "
    "servers relaying to each other, not for your mail client."
)


def legend_text(palette: Palette) -> Text:
    """The whole help page."""
    text = Text.assemble(("What the verdicts mean\n\n", "bold"))
    for verdict, explanation in VERDICT_EXPLANATIONS.items():
        text.append_text(render.verdict_cell(verdict, palette))
        text.append("\n    ")
        text.append(explanation)
        text.append("\n\n")
    text.append("Why implicit TLS is preferred\n\n", style="bold")
    text.append(WHY_IMPLICIT_TLS)
    text.append("\n\n")
    text.append(HISTORY_NOTE)
    text.append("\n\nThe grid\n\n", style="bold")
    text.append(
        "STARTTLS: yes (advertised and worked), yes (hidden) (worked without "
        'being advertised; "hidden" when the grid is narrow), refused '
        "(advertised, then refused), broken (accepted, then the handshake "
        "failed), no (not offered), or implicit (TLS from the first byte). "
        "TLS: the negotiated version. State: open, refused, timeout, "
        "unresolved, error, or silent, garbled and busy for a server that "
        "answered oddly. Certificate: trusted, or the first problem found "
        "and how many more. Press Enter on a row for the transcript, the "
        "chain, the TLS facts and the findings. Server text is always shown "
        "literally."
    )
    return text


class HelpScreen(ModalScreen[None]):
    """A scrollable legend over the current screen."""

    BINDINGS = [
        Binding("escape,q,f1", "dismiss", "Close", id="close-help"),
    ]

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help-body"):
            yield Static(legend_text(self.app_palette), id="help-text")
        yield FittingFooter()

    @property
    def app_palette(self) -> Palette:
        return Palette.from_variables(self.app.get_css_variables())
