"""What changed between two scans of a provider, in words a person reads.

A provider's mail setup drifts: a certificate is renewed, an old TLS version
is switched off, STARTTLS appears on 587, a port goes dark. Comparing two
scans endpoint by endpoint yields sentences such as "587 now offers
STARTTLS" or "993 unreachable since 2026-01-04 09:30 UTC", each marked
worse, better or neutral, so `mailtui diff` can exit 1 from cron exactly
when something got worse.

Endpoints are matched by service, host, port and pinned address. Each pair
is compared fact by fact (reachability, STARTTLS, TLS, certificate), then
for findings those facts do not already explain, then by verdict.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from mailtui.findings import VERDICT_ORDER
from mailtui.model import Endpoint, ProbeResult, Scan, Security, Severity, State
from mailtui.reports.facts import SHORT_REASONS, VERDICT_LABELS, inert, tls_label, when


class Effect(StrEnum):
    WORSE = "worse"
    BETTER = "better"
    NEUTRAL = "neutral"


@dataclass(frozen=True)
class Change:
    """One thing that differs, as a sentence naming its endpoint."""

    where: str
    """The endpoint as a person names it: "587", or "host:587" if needed."""
    text: str
    effect: Effect


@dataclass
class ScanDiff:
    old: Scan
    new: Scan
    changes: list[Change] = field(default_factory=list)

    @property
    def worse(self) -> bool:
        """True when anything got worse: what `mailtui diff` exits 1 for."""
        return any(c.effect is Effect.WORSE for c in self.changes)

    def to_dict(self) -> dict[str, Any]:
        return {
            "old": {"target": self.old.target, "started_at": self.old.started_at},
            "new": {"target": self.new.target, "started_at": self.new.started_at},
            "worse": self.worse,
            "changes": [
                {"where": c.where, "text": c.text, "effect": str(c.effect)}
                for c in self.changes
            ],
        }


CERT_WORDS = {
    "expired": "expired",
    "not-yet-valid": "not valid yet",
    "name-mismatch": "for another name",
    "self-signed": "self-signed",
    "unknown-issuer": "from an unknown issuer",
    "missing-intermediate": "sent without its intermediate",
    "weak-key": "on a weak key",
    "sha1-signature": "signed with SHA-1",
    "malformed": "unreadable",
    "no-certificate": "missing",
}

_EXPLAINED = {
    # Findings the fact-by-fact sentences already cover.
    "unresolved",
    "refused",
    "timeout",
    "connection-error",
    "starttls-missing",
    "starttls-refused",
    "starttls-failed",
    "starttls-not-advertised",
    "starttls-not-implicit",
    "implicit-tls",
    "tls-handshake-failed",
    "tls-deprecated-version",
}

_VERSION_ORDER = ["SSLv3", "TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3"]
_OLD_VERSIONS = {"SSLv3", "TLSv1", "TLSv1.1"}


def _identity(ep: Endpoint) -> tuple[str, str, int, str | None]:
    return ep.service, ep.host, ep.port, ep.address


def _names(endpoints: list[Endpoint]) -> dict[tuple[str, str, int, str | None], str]:
    """The shortest unambiguous name of each endpoint: port, host:port, key.

    A port alone only where it is its service's standard one: "587" tells a
    person what it is, "41605" does not.
    """
    ports = Counter(ep.port for ep in endpoints)
    host_ports = Counter((ep.host, ep.port) for ep in endpoints)
    names = {}
    for ep in endpoints:
        if ports[ep.port] == 1 and ep.port == ep.spec.port:
            names[_identity(ep)] = str(ep.port)
        elif host_ports[(ep.host, ep.port)] == 1:
            names[_identity(ep)] = f"{ep.host}:{ep.port}"
        else:
            names[_identity(ep)] = ep.key
    return names


def diff_scans(old: Scan, new: Scan) -> ScanDiff:
    """Every change from `old` to `new`, endpoint by endpoint."""
    result = ScanDiff(old, new)
    if old.target != new.target:
        result.changes.append(
            Change(
                "",
                f"These are scans of different targets: {old.target!r} and "
                f"{new.target!r}.",
                Effect.NEUTRAL,
            )
        )
    before = {_identity(r.endpoint): r for r in old.results}
    after = {_identity(r.endpoint): r for r in new.results}
    every = [r.endpoint for r in old.results] + [
        r.endpoint for r in new.results if _identity(r.endpoint) not in before
    ]
    names = _names(list({_identity(ep): ep for ep in every}.values()))
    for ep in every:
        ident = _identity(ep)
        o, n, where = before.get(ident), after.get(ident), names[ident]
        if o is None and n is not None:
            text = f"{where} is new in this scan: {VERDICT_LABELS[n.verdict]}"
            result.changes.append(Change(where, text, Effect.NEUTRAL))
        elif n is None:
            text = f"{where} was not scanned this time"
            result.changes.append(Change(where, text, Effect.NEUTRAL))
        elif o is not None:
            result.changes += [
                Change(where, text, effect)
                for text, effect in _compare(o, n, where, new.started_at)
            ]
    return result


Sentence = tuple[str, Effect]


def _compare(o: ProbeResult, n: ProbeResult, where: str, now: str) -> list[Sentence]:
    out: list[Sentence] = []
    if o.verdict != n.verdict and State.OPEN is o.state is n.state:
        worse = VERDICT_ORDER.index(n.verdict) > VERDICT_ORDER.index(o.verdict)
        out.append(
            (
                f"{where} is now {VERDICT_LABELS[n.verdict]} (was "
                f"{VERDICT_LABELS[o.verdict]})",
                Effect.WORSE if worse else Effect.BETTER,
            )
        )
    if o.state is State.OPEN and n.state is not State.OPEN:
        why = n.error or str(n.state)
        out.append((f"{where} unreachable since {when(now)} ({why})", Effect.WORSE))
    elif o.state is not State.OPEN and n.state is State.OPEN:
        verdict = VERDICT_LABELS[n.verdict]
        out.append((f"{where} is reachable again: {verdict}", Effect.BETTER))
    elif o.state is not State.OPEN:
        if o.state != n.state:
            out.append((f"{where} still unreachable, now {n.state}", Effect.NEUTRAL))
    else:
        out += _starttls(o, n, where)
        out += _tls(o, n, where)
        out += _certificate(o, n, where)
        out += _findings(o, n, where)
    return [(inert(text), effect) for text, effect in out]


def _starttls(o: ProbeResult, n: ProbeResult, where: str) -> Iterator[Sentence]:
    if n.endpoint.security is not Security.STARTTLS:
        return
    was = bool(o.starttls and o.starttls.completed)
    now = bool(n.starttls and n.starttls.completed)
    if now and not was:
        yield f"{where} now offers STARTTLS", Effect.BETTER
    elif was and not now:
        why = n.tls_error or (n.starttls.response if n.starttls else None)
        tail = f" ({why})" if why else ""
        yield f"{where} no longer offers working STARTTLS{tail}", Effect.WORSE
    elif was and now and o.starttls and n.starttls:
        if n.starttls.advertised and not o.starttls.advertised:
            yield f"{where} now advertises STARTTLS", Effect.BETTER
        elif o.starttls.advertised and not n.starttls.advertised:
            yield f"{where} no longer advertises STARTTLS", Effect.WORSE


def _rank(version: str | None) -> int:
    return _VERSION_ORDER.index(version) if version in _VERSION_ORDER else -1


def _tls(o: ProbeResult, n: ProbeResult, where: str) -> Iterator[Sentence]:
    if n.endpoint.security is Security.TLS:
        if o.tls and not n.tls:
            why = f" ({n.tls_error})" if n.tls_error else ""
            yield f"{where}: the TLS handshake now fails{why}", Effect.WORSE
        elif n.tls and not o.tls:
            yield f"{where}: the TLS handshake works again", Effect.BETTER
    if not (o.tls and n.tls):
        return
    was, now = o.tls.version, n.tls.version
    if was != now:
        effect = Effect.BETTER if _rank(now) > _rank(was) else Effect.WORSE
        yield (
            f"{where} now negotiates {tls_label(now)} instead of {tls_label(was)}",
            effect,
        )
    before, after = o.tls.accepted_versions, n.tls.accepted_versions
    if before is None or after is None:
        return
    for v in sorted(set(before) - set(after), key=_rank):
        gone = Effect.BETTER if v in _OLD_VERSIONS else Effect.NEUTRAL
        yield f"{where}: {tls_label(v)} no longer accepted", gone
    for v in sorted(set(after) - set(before), key=_rank):
        came = Effect.WORSE if v in _OLD_VERSIONS else Effect.BETTER
        yield f"{where}: {tls_label(v)} now accepted", came


def _certificate(o: ProbeResult, n: ProbeResult, where: str) -> Iterator[Sentence]:
    oc, nc = o.certificate, n.certificate
    if not (oc and nc and oc.chain and nc.chain):
        return
    old_leaf, new_leaf = oc.chain[0], nc.chain[0]
    if old_leaf.sha256 != new_leaf.sha256:
        expires = new_leaf.not_after[:10]
        if new_leaf.not_after > old_leaf.not_after:
            yield (
                f"{where}: certificate renewed, now expires on {expires}",
                (Effect.NEUTRAL),
            )
        else:
            yield (
                f"{where}: certificate replaced, now expires on {expires}",
                (Effect.NEUTRAL),
            )
    for problem in nc.problems:
        if problem not in oc.problems:
            words = CERT_WORDS.get(problem, problem)
            yield f"{where}: certificate now {words}", Effect.WORSE
    for problem in oc.problems:
        if problem not in nc.problems:
            words = CERT_WORDS.get(problem, problem)
            yield f"{where}: certificate no longer {words}", Effect.BETTER
    if oc.trusted and not nc.trusted and not nc.problems:
        yield f"{where}: certificate no longer trusted ({nc.detail})", Effect.WORSE
    elif nc.trusted and not oc.trusted and not oc.problems:
        yield f"{where}: certificate trusted again", Effect.BETTER


def _findings(o: ProbeResult, n: ProbeResult, where: str) -> Iterator[Sentence]:
    old_codes = {f.code for f in o.findings}
    new_codes = {f.code for f in n.findings}
    for f in n.findings:
        if f.code in old_codes or f.code in _EXPLAINED or f.code.startswith("cert-"):
            continue
        effect = Effect.NEUTRAL if f.severity is Severity.INFO else Effect.WORSE
        yield f"{where}: new finding: {f.message}", effect
    for f in o.findings:
        if f.code in new_codes or f.code in _EXPLAINED or f.code.startswith("cert-"):
            continue
        effect = Effect.NEUTRAL if f.severity is Severity.INFO else Effect.BETTER
        words = SHORT_REASONS.get(f.code, f.code)
        yield f"{where}: fixed: {words}", effect


def render_diff(d: ScanDiff) -> str:
    """The changes as lines of text, with a one-line conclusion."""
    span = f"{when(d.old.started_at)} and {when(d.new.started_at)}"
    if not d.changes:
        return f"No change between the scans of {span}.\n"
    lines = [f"Changes between the scans of {span}:"]
    for c in d.changes:
        lines.append(f"  {c.effect:<7}  {c.text}")
    summary = "something got worse" if d.worse else "nothing got worse"
    lines.append(f"In short: {summary}.")
    return "\n".join(lines) + "\n"
