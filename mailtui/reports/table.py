"""The table `mailtui scan` prints on a terminal, and the text helpers it needs.

One row per endpoint, the columns a person reads first, coloured by verdict
when the output is a terminal. Server-controlled text (error details that
quote a certificate, for instance) is made inert first: control characters
are shown escaped, so a hostile banner cannot drive the terminal.
"""

from __future__ import annotations

import re
import unicodedata

from mailtui.model import ProbeResult, Security, Severity, State, Verdict

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")

VERDICT_COLOURS = {
    Verdict.RECOMMENDED: "32",  # green
    Verdict.ACCEPTABLE: "36",  # cyan
    Verdict.DEPRECATED: "33",  # yellow
    Verdict.DO_NOT_USE: "31",  # red
    Verdict.UNREACHABLE: "2",  # dim
}

TLS_LABELS = {
    "SSLv3": "SSL 3.0",
    "TLSv1": "TLS 1.0",
    "TLSv1.1": "TLS 1.1",
    "TLSv1.2": "TLS 1.2",
    "TLSv1.3": "TLS 1.3",
}

VERDICT_LABELS = {
    Verdict.RECOMMENDED: "recommended",
    Verdict.ACCEPTABLE: "acceptable",
    Verdict.DEPRECATED: "deprecated",
    Verdict.DO_NOT_USE: "do not use",
    Verdict.UNREACHABLE: "unreachable",
}


def inert(text: str) -> str:
    """`text` with control characters escaped, safe to write to a terminal."""
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def starttls_cell(r: ProbeResult) -> str:
    """What the STARTTLS column says: the three facts in a few characters."""
    if r.endpoint.security is Security.TLS:
        return "implicit"
    st = r.starttls
    if st is None or r.state is not State.OPEN:
        return "-"
    if st.completed:
        return "yes" if st.advertised else "yes (hidden)"
    if st.accepted:
        return "broken"
    if st.advertised:
        return "refused"
    return "no"


def cert_cell(r: ProbeResult) -> str:
    cert = r.certificate
    if cert is None:
        return "-"
    if cert.trusted and not cert.problems:
        return "trusted"
    return ",".join(cert.problems) or "untrusted"


def state_cell(r: ProbeResult) -> str:
    if r.state is State.OPEN and r.temporary_failure:
        return "busy"
    if r.state is State.OPEN and (r.protocol_error or r.mismatch):
        return "garbled"
    if r.state is State.OPEN and r.greeting is None and r.tls is None:
        return "silent"
    return str(r.state)


def rows(results: list[ProbeResult]) -> list[list[str]]:
    hosts = {r.endpoint.host for r in results}
    table = []
    for r in results:
        tls = r.tls.version if r.tls and r.tls.version else "-"
        cells = [
            r.endpoint.service,
            str(r.endpoint.port),
            state_cell(r),
            starttls_cell(r),
            TLS_LABELS.get(tls, tls),
            cert_cell(r),
            VERDICT_LABELS[r.verdict],
            f"{r.elapsed_ms:.0f} ms",
        ]
        if len(hosts) > 1:
            cells.insert(0, r.endpoint.host)
        table.append([inert(c) for c in cells])
    return table


def render_table(results: list[ProbeResult], *, colour: bool = False) -> str:
    """The scan as an aligned text table, one endpoint per row."""
    header = ["SERVICE", "PORT", "STATE", "STARTTLS", "TLS", "CERT", "VERDICT", "TIME"]
    if len({r.endpoint.host for r in results}) > 1:
        header.insert(0, "HOST")
    body = rows(results)
    widths = [
        max(_width(row[i]) for row in [header, *body]) for i in range(len(header))
    ]
    verdict_col = header.index("VERDICT")

    def line(cells: list[str], verdict: Verdict | None) -> str:
        out = []
        for i, cell in enumerate(cells):
            padded = cell + " " * (widths[i] - _width(cell))
            if colour and verdict is not None and i == verdict_col:
                padded = f"\x1b[{VERDICT_COLOURS[verdict]}m{padded}\x1b[0m"
            out.append(padded)
        return "  ".join(out).rstrip()

    lines = [line(header, None)]
    lines += [line(cells, r.verdict) for cells, r in zip(body, results, strict=True)]
    return "\n".join(lines)


def render_findings(results: list[ProbeResult], *, minimum: Severity) -> str:
    """The findings at or above `minimum`, grouped by endpoint."""
    out: list[str] = []
    for r in results:
        shown = [f for f in r.findings if f.severity.rank >= minimum.rank]
        if not shown:
            continue
        out.append(f"{r.endpoint.service} {r.endpoint.host}:{r.endpoint.port}")
        for f in shown:
            out.append(
                f"  {f.severity:<8} {f.code}: {inert(f.message)} [{f.reference}]"
            )
    return "\n".join(out)
