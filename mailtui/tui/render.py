"""Turn probe results into Rich `Text`, safely, for every widget of the app.

Most of what the app shows came from a server: banners, capability lines,
certificate subjects. A hostile server can put Rich markup (`[link=…]`,
`[@click=…]`) or terminal escapes in any of them, so nothing here ever
builds markup from strings. Every cell and line is a `Text` built with
`literal()`, which also makes control characters visible instead of letting
them reach the terminal.

Colours come from a `Palette` taken from the current Textual theme, so the
same functions look right in light and dark themes. This module imports
Rich only, not Textual, which keeps it easy to test on its own.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from rich.style import Style
from rich.text import Text

from mailtui.model import (
    CertInfo,
    Direction,
    Finding,
    ProbeResult,
    Security,
    Severity,
    Stage,
    State,
    TranscriptEvent,
    Verdict,
)

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def literal(text: str, style: str | Style = "") -> Text:
    """Untrusted text as it is: no markup, control characters made visible."""
    shown = _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)
    return Text(shown, style=style, no_wrap=False)


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


VERDICT_WORDS: dict[Verdict, str] = {
    Verdict.RECOMMENDED: "recommended",
    Verdict.ACCEPTABLE: "acceptable",
    Verdict.DEPRECATED: "deprecated",
    Verdict.DO_NOT_USE: "do not use",
    Verdict.UNREACHABLE: "unreachable",
}
"""How each verdict reads in the grid and the detail."""

DEPRECATED_TLS = {"TLSv1", "TLSv1.0", "TLSv1.1", "SSLv3", "SSLv2"}

NONE = "—"


def profile_of(result: ProbeResult) -> str:
    """The short label of a row: the lab profile or provider, else the host."""
    label = result.endpoint.label.split()
    return label[0] if label else result.endpoint.host


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
    style = palette.ok if result.state is State.OPEN else palette.bad
    return Text(result.state.value, style=style)


def starttls_cell(result: ProbeResult, palette: Palette) -> Text:
    if result.endpoint.security is Security.TLS:
        return Text("implicit", style=palette.muted)
    st = result.starttls
    if st is None:
        return Text(NONE, style=palette.muted)
    if st.completed:
        word = "yes" if st.advertised else "unadv."
        return Text(word, style=palette.ok if st.advertised else palette.warn)
    if st.advertised or st.accepted:
        return Text("failed", style=palette.bad)
    return Text("no", style=palette.bad)


def tls_version_cell(result: ProbeResult, palette: Palette) -> Text:
    version = result.tls.version if result.tls else None
    if not version:
        return Text(NONE, style=palette.muted)
    short = version.removeprefix("TLSv")
    return Text(short, style=palette.bad if version in DEPRECATED_TLS else "")


def cipher_cell(result: ProbeResult, palette: Palette) -> Text:
    cipher = result.tls.cipher if result.tls else None
    return literal(cipher) if cipher else Text(NONE, style=palette.muted)


def cert_cell(result: ProbeResult, palette: Palette) -> Text:
    check = result.certificate
    if check is None:
        return Text(NONE, style=palette.muted)
    if check.trusted and not check.problems:
        return Text("trusted", style=palette.ok)
    if not check.problems:
        return Text("untrusted", style=palette.bad)
    first, more = check.problems[0], len(check.problems) - 1
    text = literal(first, palette.bad)
    if more:
        text.append(f" +{more}", style=palette.muted)
    return text


def verdict_cell(verdict: Verdict, palette: Palette) -> Text:
    return Text(VERDICT_WORDS[verdict], style=palette.verdict(verdict))


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


def _yes(flag: bool) -> str:
    return "yes" if flag else "no"


def facts_text(result: ProbeResult, palette: Palette) -> Text:
    """Connection, STARTTLS, TLS and capability facts, one per line."""
    rows: list[tuple[str, str]] = []
    ep = result.endpoint
    rows.append(("endpoint", f"{ep.key}  ({ep.spec.title}, {ep.security.value})"))
    rows.append(("state", result.state.value))
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
    st = result.starttls
    if st is not None:
        rows.append(
            (
                "STARTTLS",
                f"advertised {_yes(st.advertised)}, accepted "
                f"{_yes(st.accepted)}, completed {_yes(st.completed)}",
            )
        )
        if st.response:
            rows.append(("reply", st.response))
        if st.injected:
            rows.append(("injected", st.injected))
    tls = result.tls
    if tls is not None:
        rows.append(("TLS version", tls.version or NONE))
        cipher = tls.cipher or NONE
        rows.append(("cipher", cipher + (f" ({tls.bits} bits)" if tls.bits else "")))
        if tls.accepted_versions is not None:
            rows.append(("accepts", ", ".join(tls.accepted_versions) or NONE))
        if tls.not_tested:
            rows.append(("not tested", ", ".join(tls.not_tested)))
    rows.append(("caps before", " ".join(result.capabilities_before) or NONE))
    if result.capabilities_after is not None:
        rows.append(("caps after", " ".join(result.capabilities_after) or NONE))
    return Text("\n").join(field_line(name, value) for name, value in rows)


def verdict_heading(verdict: Verdict, palette: Palette) -> Text:
    text = Text.assemble(("Verdict: ", "bold"))
    text.append_text(verdict_cell(verdict, palette))
    return text
