"""Plain data shared by every layer: what was asked, what was seen.

Everything here is a dataclass with no I/O, so the probe engine can fill it,
the findings can read it, the reports can serialise it and the app can show
it, without any of them knowing about the others.

`Scan.to_dict()` is the JSON contract of `mailtui scan --json`. Keys may be
added freely; renaming or removing one needs a new `SCHEMA` version.
"""

from __future__ import annotations

import ipaddress
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any

SCHEMA = "mailtui.scan/1"
"""Version of the JSON document produced by `Scan.to_dict()`."""


class Protocol(StrEnum):
    """The application protocol an endpoint speaks."""

    SMTP = "smtp"
    POP3 = "pop3"
    IMAP = "imap"
    SIEVE = "sieve"


class Security(StrEnum):
    """How an endpoint is expected to get to TLS."""

    STARTTLS = "starttls"
    """Plaintext first; STARTTLS (or STLS) is tried, advertised or not."""

    TLS = "tls"
    """Implicit TLS: the handshake starts as soon as the connection opens."""


@dataclass(frozen=True)
class Service:
    """An IANA service name with the protocol and security it implies."""

    name: str
    protocol: Protocol
    security: Security
    port: int
    title: str
    for_clients: bool = True
    """False for port 25, which is server-to-server relay."""


SERVICES: dict[str, Service] = {
    s.name: s
    for s in (
        Service("smtp", Protocol.SMTP, Security.STARTTLS, 25, "SMTP relay", False),
        Service("submissions", Protocol.SMTP, Security.TLS, 465, "SMTP submission"),
        Service("submission", Protocol.SMTP, Security.STARTTLS, 587, "SMTP submission"),
        Service("pop3", Protocol.POP3, Security.STARTTLS, 110, "POP3"),
        Service("pop3s", Protocol.POP3, Security.TLS, 995, "POP3"),
        Service("imap", Protocol.IMAP, Security.STARTTLS, 143, "IMAP"),
        Service("imaps", Protocol.IMAP, Security.TLS, 993, "IMAP"),
        Service("sieve", Protocol.SIEVE, Security.STARTTLS, 4190, "ManageSieve"),
    )
}
"""Every service mailtui knows, by IANA name."""

STANDARD_SERVICES = (
    "smtp",
    "submissions",
    "submission",
    "pop3",
    "pop3s",
    "imap",
    "imaps",
)
"""The seven endpoints a bare host name expands to, in display order."""


def is_ip_literal(host: str) -> bool:
    """True when `host` is an IPv4 or IPv6 address rather than a name."""
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


@dataclass(frozen=True)
class Endpoint:
    """One thing to probe: a service on a host and port.

    The protocol and security come from the service name, never from the
    port, so `imaps://host:1993` is implicit-TLS IMAP.
    """

    service: str
    host: str
    port: int
    address: str | None = None
    """An address pinned by `--resolve`; the name is then not resolved."""
    label: str = ""
    """Free text shown beside the endpoint (a lab profile, a provider)."""

    @property
    def spec(self) -> Service:
        return SERVICES[self.service]

    @property
    def protocol(self) -> Protocol:
        return self.spec.protocol

    @property
    def security(self) -> Security:
        return self.spec.security

    @property
    def server_name(self) -> str | None:
        """The name sent as SNI and checked in the certificate, if any."""
        return None if is_ip_literal(self.host) else self.host

    @property
    def key(self) -> str:
        """A stable identifier, unique within a scan."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        pinned = f"@{self.address}" if self.address else ""
        return f"{self.service}://{host}:{self.port}{pinned}"

    def __str__(self) -> str:
        return self.key


class State(StrEnum):
    """What happened to the connection attempt."""

    OPEN = "open"
    REFUSED = "refused"
    TIMEOUT = "timeout"
    UNRESOLVED = "unresolved"
    ERROR = "error"


class Stage(StrEnum):
    """Where a probe is; shown live by the app."""

    PENDING = "pending"
    RESOLVING = "resolving"
    CONNECTING = "connecting"
    GREETING = "greeting"
    CAPABILITIES = "capabilities"
    STARTTLS = "starttls"
    HANDSHAKE = "handshake"
    DONE = "done"


class Direction(StrEnum):
    CLIENT = "client"
    SERVER = "server"
    NOTE = "note"


class Severity(StrEnum):
    """How bad a finding is; `CRITICAL` makes `mailtui scan` exit 1."""

    INFO = "info"
    WARNING = "warning"
    CRITICAL = "critical"

    @property
    def rank(self) -> int:
        return list(Severity).index(self)


class Verdict(StrEnum):
    """The one word a person can act on."""

    RECOMMENDED = "recommended"
    ACCEPTABLE = "acceptable"
    DEPRECATED = "deprecated"
    DO_NOT_USE = "do-not-use"
    UNREACHABLE = "unreachable"


@dataclass
class TranscriptEvent:
    t_ms: float
    """Milliseconds since the probe started."""
    direction: Direction
    text: str
    """Decoded text, untrusted when it comes from the server."""


@dataclass
class StartTls:
    """The three separate facts about STARTTLS on a plaintext endpoint."""

    advertised: bool = False
    """The capability list before TLS named it."""
    accepted: bool = False
    """The server answered the STARTTLS command with a go-ahead."""
    completed: bool = False
    """The TLS handshake that followed succeeded."""
    response: str | None = None
    """The server's reply to the STARTTLS command."""
    injected: str | None = None
    """Plaintext the server sent after the go-ahead, before the handshake."""


@dataclass
class TlsFacts:
    version: str | None = None
    """As Python's ssl spells it: "TLSv1.3", "TLSv1.2", ..."""
    cipher: str | None = None
    bits: int | None = None
    accepted_versions: list[str] | None = None
    """Versions the server accepted in a sweep; None when not swept."""
    not_tested: list[str] | None = None
    """Versions the local OpenSSL could not offer at all."""
    weak_ciphers: dict[str, str] | None = None
    """Weak kinds of TLS 1.2 suite the server accepted ("3des", "cbc-sha1",
    "no-forward-secrecy"...), each with the suite it chose; None when not
    swept or when the server does not speak TLS 1.2."""
    weak_not_tested: list[str] | None = None
    """Weak kinds the local OpenSSL cannot offer (export, RC4...)."""


@dataclass
class CertInfo:
    """One certificate of the chain, as the server sent it."""

    subject: str
    issuer: str
    not_before: str
    """ISO 8601, UTC."""
    not_after: str
    sha256: str
    """Hex fingerprint of the DER encoding."""
    san: list[str] = field(default_factory=list)
    serial: str = ""
    key_type: str = ""
    key_bits: int | None = None
    signature_algorithm: str = ""
    is_ca: bool = False
    self_signed: bool = False
    pem: str = ""


@dataclass
class CertCheck:
    """The chain and what validating it for the asked name concluded."""

    trusted: bool = False
    problems: list[str] = field(default_factory=list)
    """Stable codes: expired, not-yet-valid, name-mismatch, self-signed,
    unknown-issuer, missing-intermediate, weak-key, sha1-signature,
    malformed, no-certificate."""
    detail: str | None = None
    """The verifier's own words, when it refused the chain."""
    checked_name: str | None = None
    chain: list[CertInfo] = field(default_factory=list)
    advisories: list[str] = field(default_factory=list)
    """Grading that does not make the chain untrusted: long-validity,
    no-san, must-staple."""


@dataclass
class Finding:
    code: str
    severity: Severity
    message: str
    reference: str


@dataclass
class ProbeResult:
    """Everything learned about one endpoint, with the evidence."""

    endpoint: Endpoint
    state: State = State.ERROR
    error: str | None = None
    stage: Stage = Stage.PENDING
    address: str | None = None
    """The address actually connected to."""
    addresses: list[str] = field(default_factory=list)
    """Every address the name resolved to."""
    timings: dict[str, float] = field(default_factory=dict)
    """Milliseconds per stage: resolve, connect, greeting, handshake."""
    greeting: str | None = None
    temporary_failure: str | None = None
    """A 421-style "try later" reply, kept apart from TLS failures."""
    starttls: StartTls | None = None
    tls: TlsFacts | None = None
    certificate: CertCheck | None = None
    capabilities_before: list[str] = field(default_factory=list)
    capabilities_after: list[str] | None = None
    protocol_error: str | None = None
    """The server spoke something that was not the expected protocol."""
    tls_error: str | None = None
    """Why the TLS handshake failed, when it did."""
    internal_error: str | None = None
    """mailtui itself failed on this endpoint; the facts are incomplete."""
    mismatch: str | None = None
    """"tls-on-plain-port" or "plaintext-on-tls-port" when the port speaks
    the other way round from its service."""
    findings: list[Finding] = field(default_factory=list)
    verdict: Verdict = Verdict.UNREACHABLE
    transcript: list[TranscriptEvent] = field(default_factory=list)
    elapsed_ms: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        ep = self.endpoint
        return {
            "key": ep.key,
            "service": ep.service,
            "protocol": str(ep.protocol),
            "security": str(ep.security),
            "host": ep.host,
            "port": ep.port,
            "label": ep.label,
            "address": self.address,
            "addresses": list(self.addresses),
            "state": str(self.state),
            "error": self.error,
            "stage": str(self.stage),
            "timings_ms": {k: round(v, 2) for k, v in self.timings.items()},
            "greeting": self.greeting,
            "temporary_failure": self.temporary_failure,
            "protocol_error": self.protocol_error,
            "tls_error": self.tls_error,
            "internal_error": self.internal_error,
            "mismatch": self.mismatch,
            "starttls": asdict(self.starttls) if self.starttls else None,
            "tls": asdict(self.tls) if self.tls else None,
            "certificate": asdict(self.certificate) if self.certificate else None,
            "capabilities": {
                "before_tls": list(self.capabilities_before),
                "after_tls": (
                    None
                    if self.capabilities_after is None
                    else list(self.capabilities_after)
                ),
            },
            "findings": [
                {**asdict(f), "severity": str(f.severity)} for f in self.findings
            ],
            "verdict": str(self.verdict),
            "transcript": [
                {
                    "t_ms": round(e.t_ms, 2),
                    "direction": str(e.direction),
                    "text": e.text,
                }
                for e in self.transcript
            ],
            "elapsed_ms": round(self.elapsed_ms, 2),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ProbeResult:
        endpoint = Endpoint(
            service=data["service"],
            host=data["host"],
            port=int(data["port"]),
            address=_pinned_address(data),
            label=data.get("label", ""),
        )
        cert = data.get("certificate")
        caps = data.get("capabilities") or {}
        return cls(
            endpoint=endpoint,
            state=State(data["state"]),
            error=data.get("error"),
            stage=Stage(data.get("stage", "done")),
            address=data.get("address"),
            addresses=list(data.get("addresses", [])),
            timings=dict(data.get("timings_ms", {})),
            greeting=data.get("greeting"),
            temporary_failure=data.get("temporary_failure"),
            protocol_error=data.get("protocol_error"),
            tls_error=data.get("tls_error"),
            internal_error=data.get("internal_error"),
            mismatch=data.get("mismatch"),
            starttls=StartTls(**data["starttls"]) if data.get("starttls") else None,
            tls=TlsFacts(**data["tls"]) if data.get("tls") else None,
            certificate=(
                CertCheck(
                    **{k: v for k, v in cert.items() if k != "chain"},
                    chain=[CertInfo(**c) for c in cert.get("chain", [])],
                )
                if cert
                else None
            ),
            capabilities_before=list(caps.get("before_tls", [])),
            capabilities_after=caps.get("after_tls"),
            findings=[
                Finding(
                    code=f["code"],
                    severity=Severity(f["severity"]),
                    message=f["message"],
                    reference=f["reference"],
                )
                for f in data.get("findings", [])
            ],
            verdict=Verdict(data["verdict"]),
            transcript=[
                TranscriptEvent(e["t_ms"], Direction(e["direction"]), e["text"])
                for e in data.get("transcript", [])
            ],
            elapsed_ms=float(data.get("elapsed_ms", 0.0)),
        )


def _pinned_address(data: dict[str, Any]) -> str | None:
    key = data.get("key", "")
    return key.rsplit("@", 1)[1] if "@" in key else None


@dataclass
class Scan:
    """One run over a set of endpoints."""

    target: str
    """What the user asked for: a host, a provider, a profile name."""
    started_at: str
    """ISO 8601, UTC."""
    finished_at: str | None = None
    options: dict[str, Any] = field(default_factory=dict)
    results: list[ProbeResult] = field(default_factory=list)
    tool_version: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema": SCHEMA,
            "tool": {"name": "mailtui", "version": self.tool_version},
            "target": self.target,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "options": dict(self.options),
            "endpoints": [r.to_dict() for r in self.results],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Scan:
        schema = data.get("schema")
        if schema != SCHEMA:
            raise ValueError(f"unsupported scan schema {schema!r}, expected {SCHEMA}")
        return cls(
            target=data.get("target", ""),
            started_at=data["started_at"],
            finished_at=data.get("finished_at"),
            options=dict(data.get("options", {})),
            results=[ProbeResult.from_dict(e) for e in data["endpoints"]],
            tool_version=data.get("tool", {}).get("version", ""),
        )
