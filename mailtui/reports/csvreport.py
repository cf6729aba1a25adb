"""The CSV report: one row per endpoint, for a spreadsheet.

Columns are plain facts and the same words as the other reports. A
spreadsheet treats a cell starting with `=`, `+`, `-` or `@` as a formula,
and some server text ends up in cells (error details), so such cells are
prefixed with an apostrophe, which spreadsheets show as text.
"""

from __future__ import annotations

import csv
import io

from mailtui.model import Scan
from mailtui.reports import facts
from mailtui.reports.facts import inert

COLUMNS = (
    "target",
    "valid_as_of",
    "host",
    "port",
    "service",
    "protocol",
    "security",
    "exchange_format",
    "state",
    "starttls",
    "tls_version",
    "cipher",
    "certificate",
    "certificate_expires",
    "verdict",
    "recommendation",
    "findings",
    "error",
)
"""The header row, in order."""

_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: object) -> str:
    text = inert("" if value is None else str(value))
    return "'" + text if text.startswith(_FORMULA_STARTS) else text


def render_csv(scan: Scan) -> str:
    """The scan as CSV text with a header row."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(COLUMNS)
    for r in scan.results:
        leaf = facts.leaf(r)
        row = (
            scan.target,
            facts.valid_as_of(scan),
            r.endpoint.host,
            r.endpoint.port,
            r.endpoint.service,
            facts.protocol_name(r),
            r.endpoint.security,
            facts.exchange_format(r),
            r.state,
            facts.starttls_summary(r) or "implicit",
            facts.tls_label(r.tls.version) if r.tls else "",
            r.tls.cipher if r.tls else "",
            "" if r.certificate is None else facts.cert_status(r),
            leaf.not_after[:10] if leaf else "",
            r.verdict,
            facts.recommendation(r),
            " ".join(f.code for f in r.findings),
            r.error or r.tls_error or r.protocol_error or r.temporary_failure,
        )
        writer.writerow([_cell(v) for v in row])
    return out.getvalue()
