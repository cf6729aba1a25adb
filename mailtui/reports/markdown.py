"""The Markdown report: the table a person would otherwise write by hand.

It opens with the provider and the date the findings are valid for, then
the summary table (protocol, port, exchange format, recommendation), then,
per endpoint, the evidence: TLS facts, the certificate chain, the findings
with their references, and the protocol transcript in a fenced block.

Server text (banners, capabilities, certificate names, transcripts) is
untrusted. Outside code blocks every ASCII character Markdown or GitHub
would act on is backslash-escaped, so a banner cannot open a link, close a
table cell or inject HTML; inside a code block the fence is made longer
than any run of backticks in the text, so the block cannot be closed early.
"""

from __future__ import annotations

import re

from mailtui.findings import HISTORY_NOTE, VERDICT_EXPLANATIONS
from mailtui.model import ProbeResult, Scan, Verdict
from mailtui.reports import facts
from mailtui.reports.facts import VERDICT_LABELS, inert

# CommonMark lets any ASCII punctuation be backslash-escaped; these are the
# ones that can start markup inline or in a GFM table ($ is GitHub's math).
_SPECIAL = re.compile(r"([\\`*_\[\]<>|~&$!#])")


def escape(text: str) -> str:
    """Untrusted text made literal for a Markdown paragraph or table cell."""
    flat = " ".join(inert(text).splitlines())
    return _SPECIAL.sub(r"\\\1", flat)


def fenced(lines: list[str], info: str = "text") -> str:
    """A code block whose fence no run of backticks in `lines` can close."""
    longest = max((len(m) for m in re.findall(r"`+", "\n".join(lines))), default=0)
    fence = "`" * max(3, longest + 1)
    return "\n".join([f"{fence}{info}", *lines, fence])


def _row(cells: list[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def _summary_table(scan: Scan) -> list[str]:
    several_hosts = len({r.endpoint.host for r in scan.results}) > 1
    header = ["Protocol", "Port", "Exchange format", "Recommendation"]
    align = ["---", "---:", "---", "---"]
    if several_hosts:
        header.insert(1, "Host")
        align.insert(1, "---")
    lines = [_row(header), _row(align)]
    for r in scan.results:
        cells = [
            escape(facts.protocol_name(r)),
            str(r.endpoint.port),
            escape(facts.exchange_format(r)),
            escape(facts.recommendation(r)),
        ]
        if several_hosts:
            cells.insert(1, escape(r.endpoint.host))
        lines.append(_row(cells))
    return lines


def _legend(scan: Scan) -> list[str]:
    seen = [v for v in Verdict if any(r.verdict is v for r in scan.results)]
    return [
        f"- **{VERDICT_LABELS[v]}**: {escape(VERDICT_EXPLANATIONS[v])}" for v in seen
    ]


def _endpoint(index: int, r: ProbeResult) -> list[str]:
    ep = r.endpoint
    out = [
        f"### {index}. {escape(facts.protocol_name(r))} {ep.port} on "
        f"{escape(ep.host)} ({escape(ep.service)})",
        "",
        f"- **Verdict:** {escape(facts.recommendation(r))}",
        f"- **Exchange format:** {escape(facts.exchange_format(r))}",
        f"- **Reachability:** {escape(facts.reachability(r))}",
    ]
    if ep.label:
        out.append(f"- **Label:** {escape(ep.label)}")
    if r.greeting is not None:
        out.append(f"- **Greeting:** {escape(r.greeting)}")
    for name, text in (
        ("Temporary failure", r.temporary_failure),
        ("Protocol error", r.protocol_error),
        ("Port mismatch", r.mismatch),
        ("TLS error", r.tls_error),
    ):
        if text:
            out.append(f"- **{name}:** {escape(text)}")
    starttls = facts.starttls_summary(r)
    if starttls is not None:
        out.append(f"- **STARTTLS:** {escape(starttls)}")
    out.append(f"- **TLS:** {escape(facts.tls_summary(r))}")
    out.append(f"- **Certificate:** {escape(facts.cert_summary(r))}")
    out.append(
        "- **Capabilities before TLS:** "
        + (escape(", ".join(r.capabilities_before)) or "none")
    )
    if r.capabilities_after is not None:
        after = escape(", ".join(r.capabilities_after)) or "none"
        out.append(f"- **Capabilities after TLS:** {after}")
    out += _chain(r)
    out += _findings(r)
    if r.transcript:
        out += ["", "Transcript:", "", fenced(facts.transcript_lines(r))]
    return out


def _chain(r: ProbeResult) -> list[str]:
    cert = r.certificate
    if cert is None or not cert.chain:
        return []
    out = ["", f"Certificate chain as sent ({len(cert.chain)}):", ""]
    for i, c in enumerate(cert.chain, 1):
        key = f"{c.key_type} {c.key_bits} bits" if c.key_bits else c.key_type
        out.append(
            f"{i}. {escape(c.subject)}; issued by {escape(c.issuer)}; valid "
            f"{c.not_before[:10]} to {c.not_after[:10]}; {escape(key)}; "
            f"{escape(c.signature_algorithm)}; SAN "
            f"{escape(', '.join(c.san)) or 'none'}; SHA-256 "
            f"{escape(c.sha256)}"
        )
    if cert.detail:
        out += ["", f"Validation: {escape(cert.detail)}"]
    return out


def _findings(r: ProbeResult) -> list[str]:
    if not r.findings:
        return []
    out = ["", "Findings:", ""]
    for f in r.findings:
        out.append(
            f"- **{f.severity}** {escape(f.code)}: {escape(f.message)} "
            f"({escape(f.reference)})"
        )
    return out


def render_markdown(scan: Scan) -> str:
    """The whole report as GitHub-flavoured Markdown."""
    tool = f"mailtui {scan.tool_version}".strip()
    out = [
        f"# Mail access points of {escape(scan.target or 'unnamed target')}",
        "",
        f"Valid as of **{facts.valid_as_of(scan)}** (scanned "
        f"{facts.when(scan.started_at)} by {escape(tool)}).",
    ]
    if facts.is_simulated(scan):
        out += [
            "",
            "> These endpoints are mailtui's lab: simulated servers on "
            "loopback, not a real provider.",
        ]
    out += ["", *_summary_table(scan), "", *_legend(scan), "", escape(HISTORY_NOTE)]
    out += ["", "## Evidence"]
    for i, r in enumerate(scan.results, 1):
        out += ["", *_endpoint(i, r)]
    return "\n".join(out) + "\n"
