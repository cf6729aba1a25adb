"""The sentences every report shares, so Markdown, HTML and CSV never disagree.

A person reading a Markdown file, a printed HTML page or a spreadsheet
should see the same words for the same endpoint: how the exchange goes
(plaintext, plaintext + STARTTLS, implicit TLS), what to do with it and the
short reason why, what the TLS and the certificate looked like. Each of
those is one function here, over a `ProbeResult`, returning plain text; the
renderers only escape and lay it out.

Server text that reaches these strings (error details) is made inert first,
but each renderer must still escape it for its own syntax.
"""

from __future__ import annotations

import re
import unicodedata

from mailtui.findings import RULES, cut_before_starttls
from mailtui.model import (
    CertInfo,
    Direction,
    Finding,
    ProbeResult,
    Protocol,
    Scan,
    Security,
    State,
    Verdict,
)

_CONTROL = re.compile(
    r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]"
)
"""Characters that would drive a terminal, or reorder text (bidi controls)."""

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
    return _CONTROL.sub(_escape, text)


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def text_width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def starttls_word(r: ProbeResult) -> str:
    """The three STARTTLS facts in a word or two, for a table cell."""
    if r.endpoint.security is Security.TLS:
        return "implicit"
    st = r.starttls
    # A server that said "try later", or broke off, was never asked.
    if (
        st is None
        or r.state is not State.OPEN
        or r.temporary_failure
        or cut_before_starttls(r)
    ):
        return "-"
    if st.completed:
        return "yes" if st.advertised else "yes (hidden)"
    if st.accepted:
        return "broken"
    if st.advertised:
        return "refused"
    return "no"


def state_word(r: ProbeResult) -> str:
    """The connection state, told apart where "open" would mislead."""
    if r.state is State.OPEN and r.temporary_failure:
        return "busy"
    if r.state is State.OPEN and (r.protocol_error or r.mismatch):
        return "garbled"
    if (
        r.state is State.OPEN
        and r.greeting is None
        and r.tls is None
        and r.tls_error is None
    ):
        # A failed handshake is not silence: the findings say how it failed.
        return "silent"
    return str(r.state)


PROTOCOL_NAMES = {
    Protocol.SMTP: "SMTP",
    Protocol.POP3: "POP3",
    Protocol.IMAP: "IMAP",
    Protocol.SIEVE: "ManageSieve",
}

PLAINTEXT = "plaintext"
STARTTLS = "plaintext + STARTTLS"
IMPLICIT_TLS = "implicit TLS"

SHORT_REASONS: dict[str, str] = {
    "probe-failed": "mailtui could not finish (a bug)",
    "unresolved": "the name does not resolve",
    "refused": "connection refused",
    "timeout": "no answer, filtered",
    "connection-error": "connection failed",
    "no-greeting": "the server stays silent",
    "temporary-failure": "the server says to try later",
    "protocol-error": "not a mail server of this kind",
    "tls-on-plain-port": "speaks TLS at once, not plaintext",
    "plaintext-on-tls-port": "plaintext on a TLS port",
    "starttls-missing": "no STARTTLS",
    "starttls-refused": "STARTTLS advertised but refused",
    "starttls-not-advertised": "STARTTLS works but is not advertised",
    "starttls-failed": "the STARTTLS handshake fails",
    "plaintext-injection": "plaintext injected after STARTTLS",
    "tls-handshake-failed": "the TLS handshake fails",
    "tls-deprecated-version": "only an old TLS version",
    "cert-missing": "no certificate",
    "cert-malformed": "unreadable certificate",
    "cert-expired": "certificate expired",
    "cert-not-yet-valid": "certificate not valid yet",
    "cert-name-mismatch": "certificate for another name",
    "cert-self-signed": "self-signed certificate",
    "cert-unknown-issuer": "certificate from an unknown issuer",
    "cert-missing-intermediate": "incomplete certificate chain",
    "cert-untrusted": "untrusted certificate",
    "cert-weak-key": "weak certificate key",
    "cert-sha1-signature": "SHA-1 signed certificate",
    "auth-before-tls": "password offered before TLS",
    "auth-in-cleartext": "password sent in clear",
    "relay-port": "port 25 is for server-to-server relay",
    "starttls-not-implicit": "only if the client requires STARTTLS",
    "implicit-tls": "encrypted from the first byte",
    "conversation-cut": "the server broke off the conversation",
    "tls-sslv3-accepted": "still accepts SSL 3.0",
    "tls-legacy-version-accepted": "still accepts TLS 1.0/1.1",
    "tls-cipher-null": "accepts unencrypted suites",
    "tls-cipher-anonymous": "accepts anonymous suites",
    "tls-cipher-export": "accepts export-grade suites",
    "tls-cipher-rc4": "accepts RC4",
    "tls-cipher-3des": "accepts 3DES",
    "tls-cipher-cbc-sha1": "accepts CBC with SHA-1",
    "tls-no-forward-secrecy": "accepts suites without forward secrecy",
    "cert-long-validity": "certificate valid too long",
    "cert-no-san": "certificate names no host (no SAN)",
    "cert-must-staple": "must-staple certificate",
}
"""A few words per finding code, for table cells where a sentence won't fit."""


def valid_as_of(scan: Scan) -> str:
    """The date the scan describes (its start, UTC), as YYYY-MM-DD."""
    return scan.started_at[:10]


def when(iso: str | None) -> str:
    """An ISO 8601 UTC timestamp as "YYYY-MM-DD HH:MM UTC"."""
    if not iso:
        return "unknown time"
    return f"{iso[:10]} {iso[11:16]} UTC"


def is_simulated(scan: Scan) -> bool:
    """True when the scan is of the lab, which reports must say."""
    return any("(simulated)" in r.endpoint.label for r in scan.results)


def protocol_name(r: ProbeResult) -> str:
    return PROTOCOL_NAMES[r.endpoint.protocol]


def tls_label(version: str | None) -> str:
    if not version:
        return "-"
    return TLS_LABELS.get(version, version)


def exchange_format(r: ProbeResult) -> str:
    """How a conversation with this endpoint actually goes, as observed."""
    if r.state is not State.OPEN:
        return f"unknown ({r.state})"
    if r.mismatch == "tls-on-plain-port":
        return IMPLICIT_TLS
    if r.mismatch == "plaintext-on-tls-port":
        return PLAINTEXT
    if r.endpoint.security is Security.TLS:
        return IMPLICIT_TLS if r.tls else f"{IMPLICIT_TLS} (handshake failed)"
    spoke = any(e.direction is Direction.SERVER for e in r.transcript)
    if not spoke and r.tls is None:
        return "none (silent)"
    if r.starttls and r.starttls.completed:
        return STARTTLS
    return PLAINTEXT


def deciding_findings(r: ProbeResult) -> list[Finding]:
    """The findings that set the verdict (whose cap equals it), worst first."""
    return [f for f in r.findings if f.code in RULES and RULES[f.code].cap == r.verdict]


def reason(r: ProbeResult) -> str:
    """A few words saying why the endpoint got its verdict."""
    codes = [f.code for f in deciding_findings(r)]
    words = [SHORT_REASONS.get(c, c) for c in codes if c != "implicit-tls"]
    return ", ".join(dict.fromkeys(words))


def recommendation(r: ProbeResult) -> str:
    """The verdict as advice, with its reason: what the Markdown table shows."""
    why = reason(r)
    if r.verdict is Verdict.RECOMMENDED:
        return "Recommended"
    if r.verdict is Verdict.ACCEPTABLE:
        extra = [
            f.code
            for f in deciding_findings(r)
            if f.code not in ("starttls-not-implicit", "starttls-not-advertised")
        ]
        advice = "Acceptable, with STARTTLS required in the client"
        if extra:
            advice += " (" + ", ".join(SHORT_REASONS.get(c, c) for c in extra) + ")"
        return advice
    label = VERDICT_LABELS[r.verdict].capitalize()
    return f"{label}: {why}" if why else label


def tls_summary(r: ProbeResult) -> str:
    """Negotiated version, cipher and strength, and the sweep when there was one."""
    if r.tls is None:
        return inert(f"no TLS ({r.tls_error})") if r.tls_error else "no TLS"
    parts = [tls_label(r.tls.version)]
    if r.tls.cipher:
        parts.append(r.tls.cipher)
    if r.tls.bits:
        parts.append(f"{r.tls.bits} bits")
    text = ", ".join(parts)
    if r.tls.accepted_versions is not None:
        accepted = ", ".join(tls_label(v) for v in r.tls.accepted_versions) or "none"
        text += f"; accepts {accepted}"
    return text


def starttls_summary(r: ProbeResult) -> str | None:
    """The three STARTTLS facts in words; None for implicit TLS endpoints."""
    if r.endpoint.security is not Security.STARTTLS:
        return None
    if r.temporary_failure:
        return "not asked: the server said to try later"
    if cut_before_starttls(r):
        return "not asked: the conversation broke off first"
    st = r.starttls
    if st is None:
        return None
    facts = [
        "advertised" if st.advertised else "not advertised",
        "accepted" if st.accepted else "not accepted",
        "handshake completed" if st.completed else "no handshake",
    ]
    if st.injected:
        facts.append(f"{len(st.injected)} characters injected after the go-ahead")
    return ", ".join(facts)


def leaf(r: ProbeResult) -> CertInfo | None:
    cert = r.certificate
    return cert.chain[0] if cert and cert.chain else None


def cert_status(r: ProbeResult) -> str:
    """ "trusted", the problem codes, or "-" when no certificate was seen."""
    cert = r.certificate
    if cert is None:
        return "-"
    if cert.trusted and not cert.problems:
        return "trusted"
    return ", ".join(cert.problems) or "untrusted"


def cert_summary(r: ProbeResult) -> str:
    """The leaf certificate in one line: who, by whom, until when, verdict."""
    first = leaf(r)
    if first is None:
        return "no certificate" if r.certificate else "-"
    return inert(
        f"{first.subject}, issued by {first.issuer}, valid "
        f"{first.not_before[:10]} to {first.not_after[:10]}; {cert_status(r)}"
    )


def reachability(r: ProbeResult) -> str:
    """Connected or not, where, and how long it took."""
    text = str(r.state)
    if r.address:
        text += f" at {r.address}"
    if "connect" in r.timings:
        text += f", connected in {r.timings['connect']:.1f} ms"
    if r.error:
        text += f" ({r.error})"
    return inert(text)


def transcript_lines(r: ProbeResult) -> list[str]:
    """The transcript as terminal-like lines, made inert."""
    marks = {"client": "C:", "server": "S:", "note": "--"}
    return [
        inert(f"{e.t_ms:9.1f} ms  {marks.get(str(e.direction), '??')} {e.text}")
        for e in r.transcript
    ]
