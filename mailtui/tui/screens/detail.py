"""The evidence behind one row: transcript, chain, TLS facts, findings.

Everything shown here is either server text or derived from it, so every
widget gets `Text` built by `mailtui.tui.render`, never a string that could
be read as markup. The transcript is a plain `Static` inside a scroll view:
long sessions scroll, and the mouse can select and copy its text; `y`
copies all of it.
"""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Header, Static, TabbedContent, TabPane

from mailtui.findings import VERDICT_EXPLANATIONS
from mailtui.model import ProbeResult
from mailtui.tui import render
from mailtui.tui.render import Palette
from mailtui.tui.widgets.chain import ChainTree
from mailtui.tui.widgets.footer import FittingFooter

TABS = ("tab-transcript", "tab-chain", "tab-tls", "tab-findings")


def summary_text(result: ProbeResult, palette: Palette) -> Text:
    """Which endpoint, its verdict and how the probe went; then its label."""
    ep = result.endpoint
    text = Text()
    text.append_text(render.verdict_cell(result.verdict, palette))
    text.append("  ")
    text.append_text(render.literal(f"{ep.service} {ep.host}:{ep.port}", "bold"))
    text.append(f"  {result.state.value} in {render.format_ms(result.elapsed_ms)}")
    if ep.label:
        text.append("\n")
        text.append_text(render.literal(ep.label, palette.muted))
    return text


def chain_status(result: ProbeResult, palette: Palette) -> Text:
    """The validation result above the tree."""
    check = result.certificate
    if check is None:
        return Text("No certificate was received.", style=palette.muted)
    name = check.checked_name or "(no name: the host is an address)"
    if check.trusted and not check.problems:
        text = Text.assemble(("✔ trusted for ", f"bold {palette.ok}"))
        text.append_text(render.literal(name))
        return text
    text = Text.assemble(("✘ not trusted for ", f"bold {palette.bad}"))
    text.append_text(render.literal(name))
    if check.problems:
        text.append(": ")
        text.append_text(render.literal(", ".join(check.problems), palette.bad))
    if check.detail:
        text.append("\n")
        text.append_text(render.literal(check.detail, palette.muted))
    return text


class DetailScreen(Screen[None]):
    """Tabs over one probe result."""

    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back", id="close-detail"),
        Binding("1", "show_tab('tab-transcript')", "Transcript", id="tab-transcript"),
        Binding("2", "show_tab('tab-chain')", "Chain", id="tab-chain"),
        Binding("3", "show_tab('tab-tls')", "TLS", id="tab-tls"),
        Binding("4", "show_tab('tab-findings')", "Findings", id="tab-findings"),
        Binding("y", "copy_transcript", "Copy", id="copy-transcript"),
    ]

    def __init__(self, result: ProbeResult, palette: Palette) -> None:
        super().__init__()
        self.result = result
        self.palette = palette

    def compose(self) -> ComposeResult:
        result, palette = self.result, self.palette
        yield Header()
        yield Static(summary_text(result, palette), id="detail-summary")
        with TabbedContent(initial="tab-transcript", id="detail-tabs"):
            with (
                TabPane("Transcript", id="tab-transcript"),
                VerticalScroll(id="transcript-scroll"),
            ):
                yield Static(
                    render.transcript_text(result.transcript, palette),
                    id="transcript",
                )
            with TabPane("Chain", id="tab-chain"):
                yield Static(chain_status(result, palette), id="chain-status")
                yield ChainTree(id="chain")
            with TabPane("TLS", id="tab-tls"), VerticalScroll():
                yield Static(render.facts_text(result, palette), id="tls-facts")
            with TabPane("Findings", id="tab-findings"):
                yield from self._findings()
        yield FittingFooter()

    def _findings(self) -> ComposeResult:
        """The verdict and its meaning, then each finding, indented under its code."""
        result, palette = self.result, self.palette
        with VerticalScroll(id="findings"):
            yield Static(render.verdict_heading(result.verdict, palette))
            yield Static(
                VERDICT_EXPLANATIONS[result.verdict],
                classes="explanation",
                markup=False,
            )
            if not result.findings:
                yield Static("No findings.", classes="explanation")
            for finding in result.findings:
                yield Static(render.finding_title(finding, palette), classes="finding")
                yield Static(render.literal(finding.message), classes="finding-body")
                if finding.reference:
                    reference = render.literal(
                        f"see {finding.reference}", palette.muted
                    )
                    yield Static(reference, classes="finding-body")

    def on_mount(self) -> None:
        self.title = "mailtui"
        self.sub_title = self.result.endpoint.key
        self.query_one(ChainTree).show_chain(self.result.certificate, self.palette)
        self.query_one("#transcript-scroll").focus()

    def action_show_tab(self, tab: str) -> None:
        self.query_one(TabbedContent).active = tab

    def action_copy_transcript(self) -> None:
        self.app.copy_to_clipboard(render.transcript_plain(self.result.transcript))
        self.notify("Transcript copied to the clipboard.")
