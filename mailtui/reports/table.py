"""The table `mailtui scan` prints on a terminal, and the text helpers it needs.

One row per endpoint, the columns a person reads first, coloured by verdict
when the output is a terminal. Server-controlled text (error details that
quote a certificate, for instance) is made inert first: control characters
are shown escaped, so a hostile banner cannot drive the terminal.
"""

from __future__ import annotations

from mailtui.findings import RULES
from mailtui.model import ProbeResult, Severity, Verdict
from mailtui.reports.facts import (
    TLS_LABELS,
    VERDICT_COLOURS,
    VERDICT_LABELS,
    cert_status,
    inert,
    starttls_word,
    state_word,
    text_width,
)


def rows(results: list[ProbeResult]) -> list[list[str]]:
    hosts = {r.endpoint.host for r in results}
    table = []
    for r in results:
        tls = r.tls.version if r.tls and r.tls.version else "-"
        cells = [
            r.endpoint.service,
            str(r.endpoint.port),
            state_word(r),
            starttls_word(r),
            TLS_LABELS.get(tls, tls),
            cert_status(r),
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
        max(text_width(row[i]) for row in [header, *body]) for i in range(len(header))
    ]
    verdict_col = header.index("VERDICT")

    def line(cells: list[str], verdict: Verdict | None) -> str:
        out = []
        for i, cell in enumerate(cells):
            padded = cell + " " * (widths[i] - text_width(cell))
            if colour and verdict is not None and i == verdict_col:
                padded = f"\x1b[{VERDICT_COLOURS[verdict]}m{padded}\x1b[0m"
            out.append(padded)
        return "  ".join(out).rstrip()

    lines = [line(header, None)]
    lines += [line(cells, r.verdict) for cells, r in zip(body, results, strict=True)]
    return "\n".join(lines)


POOR_VERDICTS = (Verdict.DEPRECATED, Verdict.DO_NOT_USE, Verdict.UNREACHABLE)


def render_findings(results: list[ProbeResult], *, minimum: Severity) -> str:
    """The findings at or above `minimum`, grouped by endpoint, and below it
    those that alone set a poor verdict (port 25's "relay-port" is only
    informative, yet it is why the row says "do not use")."""
    out: list[str] = []
    for r in results:
        shown = [
            f
            for f in r.findings
            if f.severity.rank >= minimum.rank
            or (r.verdict in POOR_VERDICTS and RULES[f.code].cap is r.verdict)
        ]
        if not shown:
            continue
        out.append(f"{r.endpoint.service} {r.endpoint.host}:{r.endpoint.port}")
        for f in shown:
            out.append(
                f"  {f.severity:<8} {f.code}: {inert(f.message)} [{f.reference}]"
            )
    return "\n".join(out)
