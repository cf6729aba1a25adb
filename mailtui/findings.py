"""From the facts of one probe to findings and a verdict a person can act on.

Each finding has a stable code, a severity, a sentence and a reference, and
each code carries the worst verdict it allows (its "cap"). The verdict of
an endpoint starts from what its security mode deserves when all is well
(implicit TLS: recommended; STARTTLS: acceptable, per RFC 8314) and is
lowered to the worst cap among its findings.

The rules are small functions over a `ProbeResult`, each yielding
`(code, detail)` pairs; `RULES` (the table below) turns a code into the
rest. Nothing here does I/O, so each rule is tested on its own.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime

from mailtui.model import (
    Finding,
    ProbeResult,
    Security,
    Severity,
    State,
    Verdict,
)
from mailtui.protocols import cleartext_auth

VERDICT_ORDER = (
    Verdict.RECOMMENDED,
    Verdict.ACCEPTABLE,
    Verdict.DEPRECATED,
    Verdict.DO_NOT_USE,
    Verdict.UNREACHABLE,
)
"""From best to worst; a finding can only move a verdict to the right."""

VERDICT_EXPLANATIONS: dict[Verdict, str] = {
    Verdict.RECOMMENDED: (
        "Implicit TLS with a valid certificate and a current TLS version. "
        "The connection is encrypted from its first byte, so nothing can be "
        "stripped or injected. RFC 8314 prefers this for mail clients."
    ),
    Verdict.ACCEPTABLE: (
        "Plaintext first, then STARTTLS, which works here. Safe only if the "
        "mail client is set to require STARTTLS and to refuse to go on "
        "without it (RFC 8314 §4.1); otherwise an attacker on the path can "
        "remove the STARTTLS offer and read everything."
    ),
    Verdict.DEPRECATED: (
        "Encrypted, but with something the current rules retire: TLS 1.0 or "
        "1.1 (RFC 8996), a weak key or a SHA-1 signature. It works today; "
        "prefer another endpoint and expect clients to stop accepting it."
    ),
    Verdict.DO_NOT_USE: (
        "Your password or mail could be read or changed on the way: no "
        "working TLS, a certificate the client cannot trust, a server that "
        "does not speak the protocol, or port 25, which is for server-to-"
        "server relay, not for a mail client."
    ),
    Verdict.UNREACHABLE: (
        "Nothing usable answered: the name does not resolve, the port is "
        "closed or filtered, the server stayed silent or said to try later."
    ),
}
"""What each verdict means, for the app's legend and the reports."""

HISTORY_NOTE = (
    "Before RFC 8314 (January 2018), port 465 was often called deprecated "
    "and 587 with STARTTLS recommended. RFC 8314 reversed that: implicit TLS "
    "(465, 993, 995) is now preferred, because STARTTLS starts in plaintext "
    "and a client that does not insist on it can be talked out of it."
)


@dataclass(frozen=True)
class Rule:
    severity: Severity
    cap: Verdict
    message: str
    """A sentence; `{detail}` is replaced by what the rule found."""
    reference: str


RULES: dict[str, Rule] = {
    # Reachability
    "unresolved": Rule(
        Severity.WARNING,
        Verdict.UNREACHABLE,
        "The host name does not resolve: {detail}.",
        "RFC 1034",
    ),
    "refused": Rule(
        Severity.WARNING,
        Verdict.UNREACHABLE,
        "The connection was refused: nothing listens on this port.",
        "RFC 9293 §3.5",
    ),
    "timeout": Rule(
        Severity.WARNING,
        Verdict.UNREACHABLE,
        "No answer in time ({detail}): the port is filtered or the server "
        "is overloaded.",
        "RFC 9293 §3.5",
    ),
    "connection-error": Rule(
        Severity.WARNING,
        Verdict.UNREACHABLE,
        "The connection failed: {detail}.",
        "RFC 9293",
    ),
    "no-greeting": Rule(
        Severity.WARNING,
        Verdict.UNREACHABLE,
        "The connection opened, but {detail}.",
        "RFC 5321 §3.1; RFC 1939 §4; RFC 9051 §7.1",
    ),
    "conversation-cut": Rule(
        Severity.WARNING,
        Verdict.UNREACHABLE,
        "The server greeted, then the conversation broke off before "
        "STARTTLS could be tried: {detail}.",
        "RFC 9293 §3.10.7",
    ),
    "temporary-failure": Rule(
        Severity.WARNING,
        Verdict.UNREACHABLE,
        "The server said to try again later: {detail}",
        "RFC 5321 §4.2.3",
    ),
    "protocol-error": Rule(
        Severity.CRITICAL,
        Verdict.DO_NOT_USE,
        "The server does not speak the expected protocol: {detail}.",
        "RFC 5321 §4.2; RFC 1939 §3; RFC 9051 §7",
    ),
    "tls-on-plain-port": Rule(
        Severity.WARNING,
        Verdict.DO_NOT_USE,
        "This port should start in plaintext but speaks TLS at once; use it "
        "as an implicit-TLS endpoint instead.",
        "RFC 8314 §3",
    ),
    "plaintext-on-tls-port": Rule(
        Severity.CRITICAL,
        Verdict.DO_NOT_USE,
        "This port should start with TLS but answers in plaintext.",
        "RFC 8314 §3",
    ),
    "probe-failed": Rule(
        Severity.WARNING,
        Verdict.DO_NOT_USE,
        "mailtui could not finish assessing this endpoint ({detail}); do not "
        "rely on it until a rescan succeeds, and please report the error.",
        "-",
    ),
    # STARTTLS and TLS
    "starttls-missing": Rule(
        Severity.CRITICAL,
        Verdict.DO_NOT_USE,
        "No STARTTLS: the server neither offers it nor accepts it when "
        "asked, so everything travels in clear.",
        "RFC 8314 §4.1; RFC 3207",
    ),
    "starttls-refused": Rule(
        Severity.CRITICAL,
        Verdict.DO_NOT_USE,
        "STARTTLS is advertised but the server refuses it: {detail}",
        "RFC 3207 §4; RFC 2595 §3.1",
    ),
    "starttls-not-advertised": Rule(
        Severity.WARNING,
        Verdict.ACCEPTABLE,
        "STARTTLS works but is not advertised, so clients that look for it "
        "first will carry on in plaintext.",
        "RFC 3207 §4; RFC 2595 §3.1",
    ),
    "starttls-failed": Rule(
        Severity.CRITICAL,
        Verdict.DO_NOT_USE,
        "The server accepted STARTTLS but the TLS handshake failed: {detail}.",
        "RFC 3207 §4.1",
    ),
    "plaintext-injection": Rule(
        Severity.CRITICAL,
        Verdict.DO_NOT_USE,
        "The server sent plaintext after the STARTTLS go-ahead, before TLS "
        "began ({detail}); a vulnerable client would read it as if it came "
        "over TLS (command injection, CVE-2011-0411).",
        "RFC 3207 §4.2; RFC 2595 §3.1",
    ),
    "tls-handshake-failed": Rule(
        Severity.CRITICAL,
        Verdict.DO_NOT_USE,
        "The TLS handshake failed: {detail}.",
        "RFC 8314 §3",
    ),
    "tls-deprecated-version": Rule(
        Severity.CRITICAL,
        Verdict.DEPRECATED,
        "The best version the server agreed to is {detail}, which is deprecated.",
        "RFC 8996; RFC 8997",
    ),
    # What a sweep found the server still accepts (mailtui.sweep)
    "tls-sslv3-accepted": Rule(
        Severity.CRITICAL,
        Verdict.DEPRECATED,
        "The server still accepts SSL 3.0, which is broken (POODLE).",
        "RFC 7568",
    ),
    "tls-legacy-version-accepted": Rule(
        Severity.WARNING,
        Verdict.RECOMMENDED,
        "The server still accepts {detail}, deprecated since 2021; current "
        "clients are not at risk, old ones fall back to it silently.",
        "RFC 8996",
    ),
    "tls-cipher-null": Rule(
        Severity.CRITICAL,
        Verdict.DEPRECATED,
        "The server accepts TLS 1.2 suites that do not encrypt ({detail}).",
        "RFC 9325 §4.1",
    ),
    "tls-cipher-anonymous": Rule(
        Severity.CRITICAL,
        Verdict.DEPRECATED,
        "The server accepts anonymous TLS 1.2 suites, which authenticate "
        "nobody, so anyone on the path can pose as it ({detail}).",
        "RFC 9325 §4.1",
    ),
    "tls-cipher-export": Rule(
        Severity.CRITICAL,
        Verdict.DEPRECATED,
        "The server accepts export-grade suites, breakable in hours ({detail}).",
        "RFC 9325 §4.1",
    ),
    "tls-cipher-rc4": Rule(
        Severity.CRITICAL,
        Verdict.DEPRECATED,
        "The server accepts RC4, which is prohibited ({detail}).",
        "RFC 7465; RFC 9325 §4.1",
    ),
    "tls-cipher-3des": Rule(
        Severity.WARNING,
        Verdict.RECOMMENDED,
        "The server accepts 3DES, whose 64-bit blocks leak over long "
        "connections (Sweet32) ({detail}).",
        "RFC 9325 §4.1",
    ),
    "tls-cipher-cbc-sha1": Rule(
        Severity.INFO,
        Verdict.RECOMMENDED,
        "The server accepts CBC suites with SHA-1 MACs ({detail}); AEAD suites "
        "(GCM, ChaCha20-Poly1305) are the recommended ones.",
        "RFC 9325 §4.2",
    ),
    "tls-no-forward-secrecy": Rule(
        Severity.WARNING,
        Verdict.RECOMMENDED,
        "The server accepts static RSA key exchange ({detail}): whoever gets "
        "its key later can decrypt recorded sessions.",
        "RFC 9325 §4.1",
    ),
    # Certificates
    "cert-missing": Rule(
        Severity.CRITICAL,
        Verdict.DO_NOT_USE,
        "The server sent no certificate.",
        "RFC 8446 §4.4.2",
    ),
    "cert-malformed": Rule(
        Severity.CRITICAL,
        Verdict.DO_NOT_USE,
        "A certificate in the chain cannot be parsed: {detail}.",
        "RFC 5280 §4",
    ),
    "cert-expired": Rule(
        Severity.CRITICAL,
        Verdict.DO_NOT_USE,
        "The certificate has expired ({detail}).",
        "RFC 5280 §4.1.2.5",
    ),
    "cert-not-yet-valid": Rule(
        Severity.CRITICAL,
        Verdict.DO_NOT_USE,
        "The certificate is not valid yet ({detail}).",
        "RFC 5280 §4.1.2.5",
    ),
    "cert-name-mismatch": Rule(
        Severity.CRITICAL,
        Verdict.DO_NOT_USE,
        "The certificate does not name {detail}.",
        "RFC 7817 §3; RFC 6125 §6",
    ),
    "cert-self-signed": Rule(
        Severity.CRITICAL,
        Verdict.DO_NOT_USE,
        "The certificate is self-signed: nothing vouches for it.",
        "RFC 5280 §6.1",
    ),
    "cert-unknown-issuer": Rule(
        Severity.CRITICAL,
        Verdict.DO_NOT_USE,
        "The chain does not lead to a trusted authority{detail}.",
        "RFC 5280 §6.1",
    ),
    "cert-missing-intermediate": Rule(
        Severity.CRITICAL,
        Verdict.DO_NOT_USE,
        "The server does not send the intermediate certificate, so most "
        "clients cannot build the chain.",
        "RFC 8446 §4.4.2; RFC 5246 §7.4.2",
    ),
    "cert-untrusted": Rule(
        Severity.CRITICAL,
        Verdict.DO_NOT_USE,
        "The chain does not verify: {detail}.",
        "RFC 5280 §6.1",
    ),
    "cert-weak-key": Rule(
        Severity.CRITICAL,
        Verdict.DEPRECATED,
        "The certificate's key is too weak ({detail}).",
        "RFC 9325 §4.1; NIST SP 800-131A",
    ),
    "cert-sha1-signature": Rule(
        Severity.CRITICAL,
        Verdict.DEPRECATED,
        "The certificate is signed with SHA-1, which is broken for signatures.",
        "RFC 9155",
    ),
    "cert-long-validity": Rule(
        Severity.WARNING,
        Verdict.RECOMMENDED,
        "The certificate is valid for {detail} days, more than the 398 a "
        "public CA may issue: a private CA, or a certificate to renew.",
        "CA/Browser Forum Baseline Requirements §6.3.2",
    ),
    "cert-no-san": Rule(
        Severity.WARNING,
        Verdict.RECOMMENDED,
        "The certificate has no subjectAltName: clients following RFC 6125 "
        "find no name in it.",
        "RFC 6125 §6.4.4; RFC 5280 §4.2.1.6",
    ),
    "cert-must-staple": Rule(
        Severity.INFO,
        Verdict.RECOMMENDED,
        "The certificate demands OCSP stapling (must-staple); mailtui cannot "
        "see whether the server staples (openssl s_client -status can), and "
        "a client enforcing it refuses a server that does not.",
        "RFC 7633; RFC 6066 §8",
    ),
    # Exposure and advice
    "auth-before-tls": Rule(
        Severity.WARNING,
        Verdict.ACCEPTABLE,
        "Password authentication is offered before TLS ({detail}): a client "
        "that does not insist on STARTTLS may send the password in clear.",
        "RFC 8314 §4.1; RFC 4954 §4; RFC 9051 §6.2.3; RFC 2595 §2.1",
    ),
    "auth-in-cleartext": Rule(
        Severity.CRITICAL,
        Verdict.DO_NOT_USE,
        "Password authentication is offered on a connection that never gets "
        "encrypted ({detail}).",
        "RFC 8314 §4.1",
    ),
    "relay-port": Rule(
        Severity.INFO,
        Verdict.DO_NOT_USE,
        "Port 25 is for server-to-server relay; a mail client should submit "
        "on 465 (implicit TLS) or 587.",
        "RFC 8314 §3.3; RFC 6409 §1",
    ),
    "starttls-not-implicit": Rule(
        Severity.INFO,
        Verdict.ACCEPTABLE,
        "STARTTLS works; use it only with a client set to require it. "
        "Implicit TLS is preferred where the provider offers it.",
        "RFC 8314 §3; RFC 8314 §4.1",
    ),
    "implicit-tls": Rule(
        Severity.INFO,
        Verdict.RECOMMENDED,
        "Implicit TLS: encrypted from the first byte.",
        "RFC 8314 §3",
    ),
}
"""Every finding mailtui can report, by stable code."""

_CERT_PROBLEM_CODES = {
    "no-certificate": "cert-missing",
    "malformed": "cert-malformed",
    "expired": "cert-expired",
    "not-yet-valid": "cert-not-yet-valid",
    "name-mismatch": "cert-name-mismatch",
    "self-signed": "cert-self-signed",
    "unknown-issuer": "cert-unknown-issuer",
    "missing-intermediate": "cert-missing-intermediate",
    "weak-key": "cert-weak-key",
    "sha1-signature": "cert-sha1-signature",
}

_DEPRECATED_VERSIONS = {"SSLv3": "SSL 3.0", "TLSv1": "TLS 1.0", "TLSv1.1": "TLS 1.1"}

Hit = tuple[str, str]
"""A rule's answer: a code of `RULES` and the detail for its message."""


def _reachability(r: ProbeResult) -> Iterator[Hit]:
    if r.internal_error:
        yield "probe-failed", r.internal_error
        return
    if r.state is State.UNRESOLVED:
        yield "unresolved", r.error or r.endpoint.host
    elif r.state is State.REFUSED:
        yield "refused", ""
    elif r.state is State.TIMEOUT:
        yield "timeout", r.error or "timed out"
    elif r.state is State.ERROR:
        yield "connection-error", r.error or "unknown error"
    elif r.temporary_failure:
        yield "temporary-failure", r.temporary_failure
    elif r.mismatch:
        yield r.mismatch, ""
    elif r.protocol_error:
        yield "protocol-error", r.protocol_error
    elif r.greeting is None and r.error:
        yield "no-greeting", r.error
    elif cut_before_starttls(r):
        yield "conversation-cut", r.error or "the connection ended"


def cut_before_starttls(r: ProbeResult) -> bool:
    """A STARTTLS endpoint whose conversation ended before STARTTLS got an
    answer (a reset, a timeout, the deadline): nothing is known of its TLS."""
    if r.endpoint.security is not Security.STARTTLS or r.error is None:
        return False
    st = r.starttls
    if st is None:
        # Never tried, though the server had greeted.
        return r.greeting is not None
    return st.response is None


def _tls(r: ProbeResult) -> Iterator[Hit]:
    if r.temporary_failure or r.protocol_error or r.mismatch or cut_before_starttls(r):
        # The endpoint is already judged on what it said; its TLS was never
        # tried the way the service expects.
        return
    if r.endpoint.security is Security.TLS:
        if r.tls is None and r.tls_error:
            yield "tls-handshake-failed", r.tls_error
    elif r.starttls is not None:
        st = r.starttls
        if st.injected:
            yield "plaintext-injection", f"{len(st.injected)} characters"
        if st.accepted and not st.completed:
            yield "starttls-failed", r.tls_error or "the connection ended"
        elif st.advertised and not st.accepted:
            yield "starttls-refused", st.response or "no answer"
        elif not st.advertised and not st.accepted:
            yield "starttls-missing", ""
        elif not st.advertised and st.completed:
            yield "starttls-not-advertised", ""
    if r.tls and r.tls.version in _DEPRECATED_VERSIONS:
        yield "tls-deprecated-version", _DEPRECATED_VERSIONS[r.tls.version]


def _certificate(r: ProbeResult) -> Iterator[Hit]:
    cert = r.certificate
    if cert is None:
        return
    leaf = cert.chain[0] if cert.chain else None
    for problem in cert.problems:
        code = _CERT_PROBLEM_CODES.get(problem)
        if code is None:
            continue
        if code == "cert-expired" and leaf:
            detail = f"on {leaf.not_after[:10]}"
        elif code == "cert-not-yet-valid" and leaf:
            detail = f"from {leaf.not_before[:10]}"
        elif code == "cert-name-mismatch":
            detail = repr(cert.checked_name or r.endpoint.host)
        elif code == "cert-weak-key" and leaf:
            detail = f"{leaf.key_type} {leaf.key_bits} bits"
        elif code == "cert-unknown-issuer" and leaf:
            detail = f" (issuer: {leaf.issuer})"
        else:
            detail = cert.detail or ""
        yield code, detail
    if not cert.trusted and not cert.problems:
        yield "cert-untrusted", cert.detail or "unknown reason"


_WEAK_CIPHER_CODES = {
    "null": "tls-cipher-null",
    "anonymous": "tls-cipher-anonymous",
    "export": "tls-cipher-export",
    "rc4": "tls-cipher-rc4",
    "3des": "tls-cipher-3des",
    "cbc-sha1": "tls-cipher-cbc-sha1",
    "no-forward-secrecy": "tls-no-forward-secrecy",
}


def _tls_depth(r: ProbeResult) -> Iterator[Hit]:
    """What the version and cipher sweep found, when one ran."""
    if r.tls is None:
        return
    accepted = r.tls.accepted_versions or []
    if "SSLv3" in accepted:
        yield "tls-sslv3-accepted", ""
    legacy = [_DEPRECATED_VERSIONS[v] for v in accepted if v in ("TLSv1", "TLSv1.1")]
    # The best version already has its own finding; this one is for servers
    # that prefer a current version but still fall back to an old one.
    if legacy and r.tls.version not in _DEPRECATED_VERSIONS:
        yield "tls-legacy-version-accepted", " and ".join(legacy)
    for kind, suite in (r.tls.weak_ciphers or {}).items():
        code = _WEAK_CIPHER_CODES.get(kind)
        if code is not None:
            yield code, suite


def _advisories(r: ProbeResult) -> Iterator[Hit]:
    cert = r.certificate
    if cert is None or not cert.chain:
        return
    leaf = cert.chain[0]
    for advisory in cert.advisories:
        if advisory == "long-validity":
            yield "cert-long-validity", str(_days(leaf.not_before, leaf.not_after))
        elif advisory in ("no-san", "must-staple"):
            yield f"cert-{advisory}", ""


def _days(start: str, end: str) -> int:
    begin = datetime.fromisoformat(start.replace("Z", "+00:00"))
    return (datetime.fromisoformat(end.replace("Z", "+00:00")) - begin).days


def _exposure(r: ProbeResult) -> Iterator[Hit]:
    if r.state is not State.OPEN or r.endpoint.security is Security.TLS:
        return
    offers = cleartext_auth(r.endpoint.protocol, r.capabilities_before)
    if not offers:
        return
    encrypted = bool(r.starttls and r.starttls.completed)
    code = "auth-before-tls" if encrypted else "auth-in-cleartext"
    yield code, ", ".join(offers)


def _advice(r: ProbeResult) -> Iterator[Hit]:
    if r.state is not State.OPEN or r.tls is None:
        return
    if not r.endpoint.spec.for_clients:
        yield "relay-port", ""
    elif r.endpoint.security is Security.STARTTLS:
        yield "starttls-not-implicit", ""
    else:
        yield "implicit-tls", ""


CHECKS: tuple[Callable[[ProbeResult], Iterator[Hit]], ...] = (
    _reachability,
    _tls,
    _tls_depth,
    _certificate,
    _advisories,
    _exposure,
    _advice,
)


def make_finding(code: str, detail: str = "") -> Finding:
    rule = RULES[code]
    return Finding(
        code=code,
        severity=rule.severity,
        message=rule.message.format(detail=detail),
        reference=rule.reference,
    )


def assess(result: ProbeResult) -> ProbeResult:
    """Fill `result.findings` and `result.verdict` from its facts."""
    findings: list[Finding] = []
    for check in CHECKS:
        findings += [make_finding(code, detail) for code, detail in check(result)]
    findings.sort(key=lambda f: -f.severity.rank)
    result.findings = findings
    result.verdict = verdict_for(result, findings)
    return result


def verdict_for(result: ProbeResult, findings: list[Finding]) -> Verdict:
    """The best verdict the endpoint's mode allows, lowered by its findings."""
    if result.internal_error:
        # We cannot vouch for what we could not finish looking at.
        return Verdict.DO_NOT_USE
    if result.state is not State.OPEN:
        return Verdict.UNREACHABLE
    if result.tls is None and not findings:
        # Open, but we learned nothing: no rule fired and no TLS.
        return Verdict.DO_NOT_USE
    best = (
        Verdict.RECOMMENDED
        if result.endpoint.security is Security.TLS
        else Verdict.ACCEPTABLE
    )
    caps = [RULES[f.code].cap for f in findings]
    return max([best, *caps], key=VERDICT_ORDER.index)


def worst_severity(results: list[ProbeResult]) -> Severity | None:
    """The highest severity among all findings, for the exit code."""
    severities = [f.severity for r in results for f in r.findings]
    return max(severities, key=lambda s: s.rank) if severities else None
