"""The HTML report: one self-contained page, readable offline and printable.

A summary grid coloured by verdict comes first, then one section per
endpoint with its facts, findings, and collapsible transcript and
certificate chain. Styles are inline and there is no script and no
external asset, so the file can be mailed, archived or opened years later.

Every string that reaches the page goes through `html.escape`, after its
control characters are made visible; a banner holding `<script>` shows as
those characters. As a second wall, a Content-Security-Policy forbids any
script and any fetch, so a mistake in escaping could not run code either.
"""

from __future__ import annotations

from html import escape as _escape

from mailtui.findings import HISTORY_NOTE, VERDICT_EXPLANATIONS
from mailtui.model import ProbeResult, Scan, Verdict
from mailtui.reports import facts
from mailtui.reports.facts import VERDICT_LABELS, inert

_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"

_STYLE = """
:root { color-scheme: light; font-family: system-ui, sans-serif; }
body { margin: 2rem auto; max-width: 62rem; padding: 0 1rem; color: #1b1b1b; }
h1 { margin-bottom: .2rem; }
.asof { margin-top: 0; color: #444; }
.simulated { border-left: .3rem solid #8a6d00; padding: .3rem .8rem;
  background: #fff8db; }
table.summary { border-collapse: collapse; width: 100%; margin: 1rem 0; }
table.summary th, table.summary td { border: 1px solid #bbb;
  padding: .3rem .5rem; text-align: left; vertical-align: top; }
table.summary td.port { text-align: right; font-variant-numeric: tabular-nums; }
.v-recommended { background: #d7f5d9; }
.v-acceptable { background: #d9eef7; }
.v-deprecated { background: #fff1c2; }
.v-do-not-use { background: #fbd5d2; }
.v-unreachable { background: #e7e7e7; color: #444; }
.verdict { font-weight: 600; }
section.endpoint { border: 1px solid #bbb; border-radius: .3rem;
  margin: 1.2rem 0; padding: 0 1rem .6rem; break-inside: avoid-page; }
section.endpoint > h2 { font-size: 1.1rem; margin: 0 -1rem .6rem;
  padding: .4rem 1rem; }
dl.facts { display: grid; grid-template-columns: max-content 1fr;
  gap: .15rem 1rem; margin: .4rem 0; }
dl.facts dt { font-weight: 600; }
dl.facts dd { margin: 0; overflow-wrap: anywhere; }
.sev-critical { color: #a4000f; font-weight: 600; }
.sev-warning { color: #7a5200; font-weight: 600; }
.sev-info { color: #375a7f; }
pre { background: #f4f4f4; padding: .5rem; overflow-x: auto;
  white-space: pre-wrap; overflow-wrap: anywhere; font-size: .85rem; }
details { margin: .4rem 0; }
summary { cursor: pointer; font-weight: 600; }
ol.chain li { margin-bottom: .4rem; }
.mono { font-family: ui-monospace, monospace; overflow-wrap: anywhere; }
footer { margin-top: 2rem; color: #555; font-size: .85rem; }
@media print {
  * { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
  body { margin: 0; max-width: none; }
  details > * { display: block; }
  details::details-content { content-visibility: visible; display: block; }
  summary { list-style: none; }
}
"""


def esc(text: str) -> str:
    """Untrusted text as inert HTML text (also safe in a quoted attribute)."""
    return _escape(inert(text), quote=True)


def _summary(scan: Scan) -> list[str]:
    several_hosts = len({r.endpoint.host for r in scan.results}) > 1
    heads = ["Protocol", "Port", "Exchange format", "STARTTLS", "TLS", "Verdict"]
    if several_hosts:
        heads.insert(1, "Host")
    out = [
        '<table class="summary" id="summary">',
        "<thead><tr>" + "".join(f"<th>{h}</th>" for h in heads) + "</tr></thead>",
        "<tbody>",
    ]
    for i, r in enumerate(scan.results, 1):
        cells = [
            f"<td>{esc(facts.protocol_name(r))}</td>",
            f'<td class="port">{r.endpoint.port}</td>',
            f"<td>{esc(facts.exchange_format(r))}</td>",
            f"<td>{esc(facts.starttls_summary(r) or 'implicit')}</td>",
            f"<td>{esc(facts.tls_label(r.tls.version if r.tls else None))}</td>",
            f'<td><a href="#endpoint-{i}" class="verdict">'
            f"{esc(facts.recommendation(r))}</a></td>",
        ]
        if several_hosts:
            cells.insert(1, f"<td>{esc(r.endpoint.host)}</td>")
        out.append(
            f'<tr class="endpoint v-{r.verdict}" data-verdict="{r.verdict}" '
            f'data-key="{esc(r.endpoint.key)}">' + "".join(cells) + "</tr>"
        )
    out += ["</tbody>", "</table>"]
    return out


def _legend(scan: Scan) -> list[str]:
    out = ['<dl class="facts legend">']
    for v in Verdict:
        if any(r.verdict is v for r in scan.results):
            out.append(
                f'<dt class="v-{v}">{esc(VERDICT_LABELS[v])}</dt>'
                f"<dd>{esc(VERDICT_EXPLANATIONS[v])}</dd>"
            )
    out.append("</dl>")
    return out


def _facts(r: ProbeResult) -> list[str]:
    rows: list[tuple[str, str | None]] = [
        ("Endpoint", r.endpoint.key),
        ("Label", r.endpoint.label or None),
        ("Recommendation", facts.recommendation(r)),
        ("Exchange format", facts.exchange_format(r)),
        ("Reachability", facts.reachability(r)),
        ("Greeting", r.greeting),
        ("Temporary failure", r.temporary_failure),
        ("Protocol error", r.protocol_error),
        ("Port mismatch", r.mismatch),
        ("TLS error", r.tls_error),
        ("STARTTLS", facts.starttls_summary(r)),
        ("TLS", facts.tls_summary(r)),
        ("Certificate", facts.cert_summary(r)),
        ("Capabilities before TLS", ", ".join(r.capabilities_before) or "none"),
        (
            "Capabilities after TLS",
            None if r.capabilities_after is None else ", ".join(r.capabilities_after),
        ),
    ]
    out = ['<dl class="facts">']
    for name, value in rows:
        if value is not None:
            out.append(f"<dt>{name}</dt><dd>{esc(value)}</dd>")
    out.append("</dl>")
    return out


def _findings(r: ProbeResult) -> list[str]:
    if not r.findings:
        return []
    out = ['<ul class="findings">']
    for f in r.findings:
        out.append(
            f'<li><span class="sev-{esc(str(f.severity))}">{esc(str(f.severity))}'
            f"</span> <code>{esc(f.code)}</code>: {esc(f.message)} "
            f'<span class="ref">({esc(f.reference)})</span></li>'
        )
    out.append("</ul>")
    return out


def _chain(r: ProbeResult) -> list[str]:
    cert = r.certificate
    if cert is None or not cert.chain:
        return []
    out = [
        '<details class="chain">',
        f"<summary>Certificate chain as sent ({len(cert.chain)})</summary>",
        '<ol class="chain">',
    ]
    for c in cert.chain:
        key = f"{c.key_type} {c.key_bits} bits" if c.key_bits else c.key_type
        out.append(
            '<li><dl class="facts">'
            f"<dt>Subject</dt><dd>{esc(c.subject)}</dd>"
            f"<dt>Issuer</dt><dd>{esc(c.issuer)}</dd>"
            f"<dt>Valid</dt><dd>{esc(c.not_before)} to {esc(c.not_after)}</dd>"
            f"<dt>Names</dt><dd>{esc(', '.join(c.san)) or 'none'}</dd>"
            f"<dt>Key</dt><dd>{esc(key)}</dd>"
            f"<dt>Signature</dt><dd>{esc(c.signature_algorithm)}</dd>"
            f'<dt>SHA-256</dt><dd class="mono">{esc(c.sha256)}</dd>'
            "</dl></li>"
        )
    out.append("</ol>")
    if cert.detail:
        out.append(f"<p>Validation: {esc(cert.detail)}</p>")
    out.append("</details>")
    return out


def _transcript(r: ProbeResult) -> list[str]:
    if not r.transcript:
        return []
    lines = "\n".join(esc(line) for line in facts.transcript_lines(r))
    return [
        '<details class="transcript">',
        f"<summary>Transcript ({len(r.transcript)} lines)</summary>",
        f"<pre>{lines}</pre>",
        "</details>",
    ]


def _endpoint(index: int, r: ProbeResult) -> list[str]:
    ep = r.endpoint
    title = (
        f"{index}. {facts.protocol_name(r)} {ep.port} on {ep.host} ({ep.service}): "
        f"{VERDICT_LABELS[r.verdict]}"
    )
    return [
        f'<section class="endpoint" id="endpoint-{index}">',
        f'<h2 class="v-{r.verdict}">{esc(title)}</h2>',
        *_facts(r),
        *_findings(r),
        *_chain(r),
        *_transcript(r),
        "</section>",
    ]


def render_html(scan: Scan) -> str:
    """The whole report as one HTML document."""
    target = scan.target or "unnamed target"
    tool = f"mailtui {scan.tool_version}".strip()
    body = [
        f"<h1>Mail access points of {esc(target)}</h1>",
        f'<p class="asof">Valid as of <time datetime="{esc(scan.started_at)}">'
        f"{esc(facts.valid_as_of(scan))}</time> (scanned "
        f"{esc(facts.when(scan.started_at))} by {esc(tool)}).</p>",
    ]
    if facts.is_simulated(scan):
        body.append(
            '<p class="simulated">These endpoints are mailtui\'s lab: simulated '
            "servers on loopback, not a real provider.</p>"
        )
    body += [*_summary(scan), *_legend(scan), f"<p>{esc(HISTORY_NOTE)}</p>"]
    for i, r in enumerate(scan.results, 1):
        body += _endpoint(i, r)
    body.append(f"<footer>Made by {esc(tool)}. Server text is shown as sent.</footer>")
    head = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{_CSP}">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>Mail access points of {esc(target)}</title>",
        f"<style>{_STYLE}</style>",
        "</head>",
        "<body>",
    ]
    return "\n".join([*head, *body, "</body>", "</html>"]) + "\n"
