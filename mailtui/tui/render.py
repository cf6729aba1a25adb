"""Turn probe results into Rich `Text`, safely, for every widget of the app.

Most of what the app shows came from a server: banners, capability lines,
certificate subjects. A hostile server can put Rich markup (`[link=…]`,
`[@click=…]`) or terminal escapes in any of them, so nothing here ever
builds markup from strings. Every cell and line is a `Text` built with
`literal()`, which also makes control characters visible instead of letting
them reach the terminal.

The words themselves (TLS "1.0", STARTTLS "refused" or "broken", state
"silent", certificate problems) are the reports' own, from
`mailtui.reports.facts`, so the grid, `mailtui scan` and an exported report
never disagree; only colour and width are decided here.

Colours come from a `Palette` taken from the current Textual theme, so the
same functions look right in light and dark themes. This module imports
Rich only, not Textual, which keeps it easy to test on its own.
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.style import Style
from rich.text import Text

from mailtui.model import (
    CertInfo,
    Direction,
    Endpoint,
    Finding,
    ProbeResult,
    Severity,
    Stage,
    TranscriptEvent,
    Verdict,
)
from mailtui.reports import facts


def literal(text: str, style: str | Style = "") -> Text:
    """Untrusted text as it is: no markup, control characters made visible."""
    return Text(facts.inert(text), style=style, no_wrap=False)


@dataclass(frozen=True)
class Palette:
    """The few colours the app needs, as Rich style strings."""

    ok: str = "green"
    warn: str = "yellow"
    bad: str = "red"
    client: str = "cyan"
    accent: str = "magenta"
    muted: str = "dim"

    @classmethod
    def from_variables(cls, variables: dict[str, str]) -> Palette:
        """Build from Textual's CSS variables (`App.get_css_variables()`)."""
        default = cls()
        return cls(
            ok=variables.get("text-success", default.ok),
            warn=variables.get("text-warning", default.warn),
            bad=variables.get("text-error", default.bad),
            client=variables.get("text-primary", default.client),
            accent=variables.get("text-accent", default.accent),
        )

    def verdict(self, verdict: Verdict) -> str:
        return {
            Verdict.RECOMMENDED: f"bold {self.ok}",
            Verdict.ACCEPTABLE: self.warn,
            Verdict.DEPRECATED: f"bold {self.warn}",
            Verdict.DO_NOT_USE: f"bold {self.bad}",
            Verdict.UNREACHABLE: self.muted,
        }[verdict]

    def severity(self, severity: Severity) -> str:
        return {
            Severity.INFO: self.muted,
            Severity.WARNING: self.warn,
            Severity.CRITICAL: f"bold {self.bad}",
        }[severity]


DEPRECATED_TLS = {"TLSv1", "TLSv1.0", "TLSv1.1", "SSLv3", "SSLv2"}

NONE = "—"

_NARROW_STARTTLS = {"yes (hidden)": "hidden"}
"""The one STARTTLS word too long for a narrow column, and its short form
(the legend spells it out)."""


def _cell(word: str, style: str | Style = "") -> Text:
    """A grid cell from a `facts` word: "-" becomes a dash, cut with "…"."""
    if word == "-":
        return Text(NONE, style="dim", overflow="ellipsis", no_wrap=True)
    return Text(facts.inert(word), style=style, overflow="ellipsis", no_wrap=True)


def profile_of(result: ProbeResult) -> str:
    """The label's first word (a lab profile, a provider), else the host."""
    label = result.endpoint.label.split()
    return label[0] if label else result.endpoint.host


def what_of(endpoint: Endpoint) -> str:
    """What a row is: a lab endpoint's title, else its host.

    Lab endpoints carry `lab:PROFILE TITLE (simulated)` as their label, and
    the title ("expired certificate") is the only thing that tells the rows
    of the broken profile apart; for anything real the host does.
    """
    label = endpoint.label
    if label.startswith("lab:"):
        title = label.partition(" ")[2].removesuffix("(simulated)").strip()
        if title:
            return title
    return endpoint.host


def format_ms(ms: float | None) -> str:
    if ms is None:
        return NONE
    if ms < 1000:
        return f"{ms:.0f} ms"
    return f"{ms / 1000:.1f} s"


_STAGE_WORDS = {Stage.CAPABILITIES: "caps", Stage.PENDING: "queued"}


def stage_cell(stage: Stage, palette: Palette) -> Text:
    """The state column while a probe runs."""
    if stage is Stage.PENDING:
        return Text("queued", style=palette.muted)
    word = _STAGE_WORDS.get(stage, stage.value)
    return Text(f"{word}…", style=f"italic {palette.accent}")


def state_cell(result: ProbeResult, palette: Palette) -> Text:
    """open, refused, timeout… or silent / garbled / busy (`facts.state_word`)."""
    word = facts.state_word(result)
    return _cell(word, palette.ok if word == "open" else palette.bad)


def starttls_cell(
    result: ProbeResult, palette: Palette, *, narrow: bool = False
) -> Text:
    """yes, yes (hidden), refused, broken, no, implicit (`facts.starttls_word`)."""
    word = facts.starttls_word(result)
    style = {
        "implicit": palette.muted,
        "yes": palette.ok,
        "yes (hidden)": palette.warn,
    }.get(word, palette.bad)
    if narrow:
        word = _NARROW_STARTTLS.get(word, word)
    return _cell(word, style)


def tls_version_cell(result: ProbeResult, palette: Palette) -> Text:
    """The negotiated version as the reports write it, without "TLS "."""
    version = result.tls.version if result.tls else None
    word = facts.tls_label(version).removeprefix("TLS ")
    return _cell(word, palette.bad if version in DEPRECATED_TLS else "")


def cipher_cell(result: ProbeResult, palette: Palette) -> Text:
    cipher = result.tls.cipher if result.tls else None
    return _cell(cipher or "-")


def cert_cell(result: ProbeResult, palette: Palette) -> Text:
    """`facts.cert_status`, shortened to its first problem and a count."""
    status = facts.cert_status(result)
    if status in ("-", "trusted"):
        return _cell(status, palette.ok)
    first, *more = status.split(", ")
    text = _cell(first, palette.bad)
    if more:
        text.append(f" +{len(more)}", style=palette.muted)
    return text


def verdict_cell(verdict: Verdict, palette: Palette) -> Text:
    return Text(facts.VERDICT_LABELS[verdict], style=palette.verdict(verdict))


def time_cell(result: ProbeResult) -> Text:
    return Text(format_ms(result.elapsed_ms), justify="right")


def _is_tls_boundary(event: TranscriptEvent) -> bool:
    return event.direction is Direction.NOTE and "handshake" in event.text.lower()


def transcript_text(events: list[TranscriptEvent], palette: Palette) -> Text:
    """The dialogue as a terminal session: time, who spoke, what was said.

    Client and server lines get different prefixes and colours; the TLS
    handshake is drawn as a rule, and every line after it is marked as
    travelling inside TLS.
    """
    out = Text(no_wrap=False, end="")
    inside_tls = False
    for event in events:
        stamp = Text(f"{event.t_ms:9.1f} ms ", style=palette.muted)
        if event.direction is Direction.NOTE:
            boundary = _is_tls_boundary(event)
            inside_tls = inside_tls or boundary
            style = f"bold {palette.accent}" if boundary else f"italic {palette.muted}"
            mark = "══ " if boundary else "-- "
            out.append_text(stamp)
            out.append(mark, style=style)
            out.append_text(literal(event.text, style))
            out.append("\n")
            continue
        channel = Text("tls " if inside_tls else "    ", style=palette.ok)
        if event.direction is Direction.CLIENT:
            who, style = "C: ", f"bold {palette.client}"
        else:
            who, style = "S: ", ""
        out.append_text(stamp)
        out.append_text(channel)
        out.append(who, style=style or "bold")
        out.append_text(literal(event.text, style))
        out.append("\n")
    return out


def transcript_plain(events: list[TranscriptEvent]) -> str:
    """The transcript as plain text, for the clipboard."""
    who = {Direction.CLIENT: "C: ", Direction.SERVER: "S: ", Direction.NOTE: "-- "}
    return "".join(f"{e.t_ms:9.1f} ms {who[e.direction]}{e.text}\n" for e in events)


def cert_title(cert: CertInfo, index: int) -> Text:
    """A chain position and the subject, e.g. `leaf  CN=mail.example`."""
    if index == 0:
        role = "self-signed" if cert.self_signed else "leaf"
    else:
        role = "root" if cert.self_signed else "intermediate"
    text = Text.assemble((f"{role}  ", "bold"))
    text.append_text(literal(cert.subject))
    return text


def cert_fields(cert: CertInfo) -> list[tuple[str, str]]:
    """The rows shown under a certificate, as (name, untrusted value)."""
    key = cert.key_type + (f" {cert.key_bits} bits" if cert.key_bits else "")
    return [
        ("subject", cert.subject),
        ("issuer", cert.issuer),
        ("names", ", ".join(cert.san) or NONE),
        ("valid from", cert.not_before),
        ("valid until", cert.not_after),
        ("key", key or NONE),
        ("signature", cert.signature_algorithm or NONE),
        ("serial", cert.serial or NONE),
        ("sha256", cert.sha256),
    ]


def field_line(name: str, value: str, width: int = 12) -> Text:
    text = Text.assemble((f"{name:<{width}} ", "bold"))
    text.append_text(literal(value))
    return text


def finding_title(finding: Finding, palette: Palette) -> Text:
    """A finding's first line: severity and stable code."""
    return Text.assemble(
        (f"{finding.severity.value.upper():<8} ", palette.severity(finding.severity)),
        (finding.code, "bold"),
    )


def facts_text(result: ProbeResult, palette: Palette) -> Text:
    """Connection, STARTTLS, TLS and capability facts, one per line.

    The words are the reports' (`mailtui.reports.facts`), so this pane, the
    CLI table and an exported report describe an endpoint alike.
    """
    rows: list[tuple[str, str]] = []
    ep = result.endpoint
    rows.append(("endpoint", f"{ep.key}  ({ep.spec.title}, {ep.security.value})"))
    rows.append(("state", facts.state_word(result)))
    rows.append(("exchange", facts.exchange_format(result)))
    if result.error:
        rows.append(("error", result.error))
    rows.append(("address", result.address or NONE))
    if len(result.addresses) > 1:
        rows.append(("resolved", ", ".join(result.addresses)))
    if result.timings:
        rows.append(
            (
                "timings",
                ", ".join(f"{k} {format_ms(v)}" for k, v in result.timings.items()),
            )
        )
    for name, value in (
        ("greeting", result.greeting),
        ("try later", result.temporary_failure),
        ("protocol", result.protocol_error),
        ("tls error", result.tls_error),
        ("mismatch", result.mismatch),
    ):
        if value:
            rows.append((name, value))
    starttls = facts.starttls_summary(result)
    if starttls is not None:
        rows.append(("STARTTLS", f"{facts.starttls_word(result)}: {starttls}"))
        assert result.starttls is not None
        if result.starttls.response:
            rows.append(("reply", result.starttls.response))
        if result.starttls.injected:
            rows.append(("injected", result.starttls.injected))
    rows += tls_rows(result)
    rows.append(("certificate", facts.cert_status(result)))
    rows.append(("caps before", " ".join(result.capabilities_before) or NONE))
    if result.capabilities_after is not None:
        rows.append(("caps after", " ".join(result.capabilities_after) or NONE))
    return Text("\n").join(field_line(name, value) for name, value in rows)


def tls_rows(result: ProbeResult) -> list[tuple[str, str]]:
    """The negotiated TLS, then what the version sweep learned, if it ran."""
    tls = result.tls
    if tls is None:
        return []
    cipher = tls.cipher or NONE
    rows = [
        ("TLS version", facts.tls_label(tls.version)),
        ("cipher", cipher + (f" ({tls.bits} bits)" if tls.bits else "")),
    ]
    # A scan without the sweep leaves these fields None: say so rather than
    # let an empty line read as "accepts nothing".
    sweep = tls.accepted_versions
    if sweep is None:
        rows.append(("accepts", "not swept (scan with the TLS sweep to know)"))
    else:
        rows.append(("accepts", ", ".join(map(facts.tls_label, sweep)) or "none"))
    not_tested = tls.not_tested
    if not_tested:
        rows.append(("not tested", ", ".join(map(facts.tls_label, not_tested))))
    weak = tls.weak_ciphers
    if weak is not None:
        shown = ", ".join(f"{kind} ({suite})" for kind, suite in weak.items())
        rows.append(("weak suites", shown or "none accepted"))
    weak_not_tested = tls.weak_not_tested
    if weak_not_tested:
        rows.append(("weak untested", ", ".join(weak_not_tested)))
    return rows


def verdict_heading(verdict: Verdict, palette: Palette) -> Text:
    text = Text.assemble(("Verdict: ", "bold"))
    text.append_text(verdict_cell(verdict, palette))
    return text
