"""The lab's three imitation providers, as data.

Each profile copies behaviours seen on real mail providers, so that the
app, the tests and a person learning the subject meet them without a
network: a 2018-era ISP, a provider configured by today's rules, and one
endpoint per failure that mailtui knows how to name. Hosts live under
``.lab.test`` (a reserved name, RFC 6761) and are always labelled as
simulated; no profile claims to be the provider it imitates.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass, replace
from typing import Any

from mailtui.lab.hostile import STARTTLS_GARBAGE
from mailtui.lab.servers import SSH_BANNER, Behaviour
from mailtui.model import SERVICES, Security

DOMAIN = "lab.test"
"""Every lab host name ends with this."""

MARKUP_BANNER = (
    "[bold red]pwned[/] [@click=app.quit]x[/] [link=https://example.invalid]"
    "click[/link] \x1b[31mred\x1b[0m \x1b]0;title\x07 \x1b[2J"
)
"""Rich and Textual markup plus terminal escapes: must show up inert."""

TLS12 = ssl.TLSVersion.TLSv1_2
TLS10 = ssl.TLSVersion.TLSv1


@dataclass(frozen=True)
class LabEndpoint:
    """One endpoint of a profile: where it lives and how it behaves."""

    service: str
    """IANA service name: fixes the protocol and the expected security."""
    host: str
    behaviour: Behaviour
    title: str
    """A few words shown beside the endpoint."""
    description: str
    """What it imitates and what a careful client should conclude."""


@dataclass(frozen=True)
class Profile:
    name: str
    description: str
    endpoints: tuple[LabEndpoint, ...]


def _endpoint(
    service: str, host: str, title: str, description: str, **quirks: Any
) -> LabEndpoint:
    """A lab endpoint speaking `service` the way its name says, plus quirks."""
    spec = SERVICES[service]
    behaviour = Behaviour(
        protocol=spec.protocol,
        implicit_tls=spec.security is Security.TLS,
    )
    return LabEndpoint(service, host, replace(behaviour, **quirks), title, description)


def _isp2018() -> Profile:
    smtp, pop, imap = (f"{n}.isp2018.{DOMAIN}" for n in ("smtp", "pop", "imap"))
    old = {"tls_maximum": TLS12}
    no_starttls = {"advertise_starttls": False, "accept_starttls": False}
    return Profile(
        "isp2018",
        "A consumer ISP as found in January 2018: implicit TLS on 465, 995 and "
        "993, STARTTLS only on IMAP 143, and cleartext logins on 587 and 110.",
        (
            _endpoint(
                "smtp",
                smtp,
                "cleartext relay, no STARTTLS",
                "Port 25 relay that offers no STARTTLS at all: mail between "
                "servers travels in the clear.",
                **no_starttls,
            ),
            _endpoint(
                "submissions",
                smtp,
                "implicit TLS 1.2",
                "Implicit TLS submission, TLS 1.2 at most: the endpoint to use.",
                **old,
            ),
            _endpoint(
                "submission",
                smtp,
                "no STARTTLS, AUTH in clear",
                "Submission without STARTTLS that still offers AUTH PLAIN LOGIN: "
                "a password sent here crosses the network in the clear.",
                auth_before_tls=True,
                **no_starttls,
            ),
            _endpoint(
                "pop3",
                pop,
                "no STLS, USER in clear",
                "POP3 without STLS that accepts USER/PASS in the clear.",
                auth_before_tls=True,
                **no_starttls,
            ),
            _endpoint(
                "pop3s",
                pop,
                "implicit TLS 1.2",
                "Implicit TLS POP3, TLS 1.2 at most: the endpoint to use.",
                **old,
            ),
            _endpoint(
                "imap",
                imap,
                "STARTTLS, login allowed before it",
                "IMAP with STARTTLS, but without LOGINDISABLED: a client that "
                "does not insist on STARTTLS may log in in the clear.",
                auth_before_tls=True,
                **old,
            ),
            _endpoint(
                "imaps",
                imap,
                "implicit TLS 1.2",
                "Implicit TLS IMAP, TLS 1.2 at most: the endpoint to use.",
                **old,
            ),
        ),
    )


def _modern() -> Profile:
    smtp, pop, imap = (f"{n}.modern.{DOMAIN}" for n in ("smtp", "pop", "imap"))
    return Profile(
        "modern",
        "A provider configured by RFC 8314: implicit TLS everywhere it "
        "exists, STARTTLS on the plaintext ports, TLS 1.3, a valid chain, "
        "and logins offered only once TLS is up.",
        (
            _endpoint(
                "smtp",
                smtp,
                "relay with STARTTLS",
                "Port 25 relay with STARTTLS, for servers rather than clients.",
            ),
            _endpoint(
                "submissions",
                smtp,
                "implicit TLS 1.3",
                "Implicit TLS submission (RFC 8314): recommended.",
            ),
            _endpoint(
                "submission",
                smtp,
                "STARTTLS, AUTH after TLS",
                "Submission with STARTTLS; AUTH appears only after TLS. "
                "Acceptable when the client insists on STARTTLS.",
            ),
            _endpoint(
                "pop3",
                pop,
                "STLS, USER after TLS",
                "POP3 with STLS; USER and SASL appear only after TLS.",
            ),
            _endpoint(
                "pop3s",
                pop,
                "implicit TLS 1.3",
                "Implicit TLS POP3 (RFC 8314): recommended.",
            ),
            _endpoint(
                "imap",
                imap,
                "STARTTLS, LOGINDISABLED before it",
                "IMAP with STARTTLS and LOGINDISABLED until TLS is up.",
            ),
            _endpoint(
                "imaps",
                imap,
                "implicit TLS 1.3",
                "Implicit TLS IMAP (RFC 8314): recommended.",
            ),
            _endpoint(
                "sieve",
                imap,
                "ManageSieve with STARTTLS",
                "ManageSieve (RFC 5804) with STARTTLS; SASL listed after TLS.",
            ),
        ),
    )


def _broken() -> Profile:
    def host(slug: str) -> str:
        return f"{slug}.broken.{DOMAIN}"

    return Profile(
        "broken",
        "One endpoint per failure mailtui can name: bad certificates, dead "
        "or confused ports, old TLS, cleartext logins, STARTTLS attacks.",
        (
            _endpoint(
                "imaps",
                host("expired"),
                "expired certificate",
                "The leaf certificate expired a month ago.",
                cert_variant="expired",
            ),
            _endpoint(
                "submissions",
                host("wrong-name"),
                "certificate for another name",
                "The certificate names another host (RFC 7817 name check fails).",
                cert_variant="wrong-name",
            ),
            _endpoint(
                "pop3s",
                host("missing-intermediate"),
                "missing intermediate",
                "The server sends its leaf without the intermediate CA, so the "
                "chain cannot be built to the root.",
                cert_variant="missing-intermediate",
            ),
            _endpoint(
                "imap",
                host("self-signed"),
                "self-signed certificate",
                "STARTTLS works but the certificate is signed by itself.",
                cert_variant="self-signed",
            ),
            _endpoint(
                "submission",
                host("silent"),
                "silent port",
                "Accepts the connection and never says a word.",
                silent=True,
            ),
            _endpoint(
                "pop3",
                host("garbage"),
                "SSH on a mail port",
                "Something else answers: an SSH banner instead of POP3.",
                garbage=SSH_BANNER,
            ),
            _endpoint(
                "imaps",
                host("tls10"),
                "TLS 1.0 only",
                "Only TLS 1.0 is accepted (deprecated by RFC 8996).",
                tls_minimum=TLS10,
                tls_maximum=TLS10,
            ),
            _endpoint(
                "submission",
                host("auth-before-tls"),
                "AUTH before STARTTLS",
                "Offers AUTH PLAIN LOGIN before STARTTLS: a client may send "
                "its password in the clear.",
                auth_before_tls=True,
            ),
            _endpoint(
                "submission",
                host("injection"),
                "plaintext after go-ahead",
                "Sends a plaintext line right after the STARTTLS go-ahead, "
                "before the handshake: the STARTTLS injection flaw "
                "(CVE-2011-0411 and its kin).",
                inject_after_starttls=b"250-injected.lab.test\r\n250 AUTH PLAIN\r\n",
            ),
            _endpoint(
                "smtp",
                host("starttls-refused"),
                "STARTTLS advertised, refused",
                "Lists STARTTLS, then answers it with 454.",
                accept_starttls=False,
            ),
            _endpoint(
                "pop3",
                host("starttls-broken"),
                "STLS accepted, then hangs up",
                "Answers STLS with +OK, then closes instead of the handshake.",
                fail_after_starttls=True,
            ),
            _endpoint(
                "submission",
                host("busy"),
                "421 try later",
                "Greets with 421: a temporary failure, not a TLS problem.",
                temporary_failure=True,
            ),
            _endpoint(
                "imaps",
                host("filtered"),
                "filtered port",
                "Connection attempts get no answer, as behind a firewall that "
                "drops packets: the probe can only time out.",
                filtered=True,
            ),
            _endpoint(
                "smtp",
                host("markup"),
                "hostile banner",
                "A banner full of Rich/Textual markup and terminal escapes; a "
                "client must show it literally.",
                banner=f"{host('markup')} ESMTP {MARKUP_BANNER}",
            ),
            _endpoint(
                "pop3s",
                host("weak-key"),
                "1024-bit RSA key",
                "The leaf certificate has a 1024-bit RSA key.",
                cert_variant="weak-key",
            ),
            _endpoint(
                "submissions",
                host("sha1"),
                "SHA-1 signature",
                "The leaf certificate is signed with SHA-1.",
                cert_variant="sha1",
            ),
            _endpoint(
                "imap",
                host("tls-on-plain"),
                "TLS on a plaintext port",
                "Port for STARTTLS that starts with a TLS handshake instead.",
                implicit_tls=True,
            ),
            _endpoint(
                "imaps",
                host("plain-on-tls"),
                "plaintext on a TLS port",
                "Port for implicit TLS that greets in plaintext.",
                implicit_tls=False,
            ),
        ),
    )


BAD_BYTES_GREETING = b"220 bad\xff\xfe\x00bytes\xc3\x28 \x1b[2J ESMTP\r\n"
"""A greeting with invalid UTF-8, a NUL and a terminal escape."""


def _hostile() -> Profile:
    def host(slug: str) -> str:
        return f"{slug}.hostile.{DOMAIN}"

    return Profile(
        "hostile",
        "Servers that attack the prober: endless or enormous replies, bytes "
        "one at a time, resets, broken handshakes, unreadable certificates. "
        "Each probe must still end within its deadline with a clear message.",
        (
            _endpoint(
                "submission",
                host("huge-line"),
                "1 MiB greeting, no newline",
                "Greets with a line of one mebibyte that never ends.",
                hostile="huge-line",
            ),
            _endpoint(
                "submission",
                host("endless"),
                "endless multi-line greeting",
                "Sends 220- continuation lines for ever.",
                hostile="endless-reply",
            ),
            _endpoint(
                "submission",
                host("bad-bytes"),
                "invalid UTF-8 and NUL",
                "Greets with invalid UTF-8, a NUL byte and a terminal escape, "
                "then behaves.",
                raw_greeting=BAD_BYTES_GREETING,
            ),
            _endpoint(
                "imap",
                host("drip"),
                "one byte per second",
                "Sends its greeting one byte a second: never silent long enough "
                "for a read timeout, so only the deadline ends it.",
                hostile="drip",
            ),
            _endpoint(
                "pop3",
                host("reset"),
                "reset after the greeting",
                "Greets, then answers the first command with a TCP reset.",
                hostile="reset-after-greeting",
            ),
            _endpoint(
                "imaps",
                host("tls-alert"),
                "TLS alert",
                "Answers the ClientHello with a fatal handshake_failure alert.",
                hostile="tls-alert",
            ),
            _endpoint(
                "pop3s",
                host("cut-handshake"),
                "handshake cut short",
                "Sends part of a ServerHello, then resets the connection.",
                hostile="cut-handshake",
            ),
            _endpoint(
                "submission",
                host("starttls-garbage"),
                "garbage after the go-ahead",
                "Says go ahead to STARTTLS, then answers the ClientHello with "
                "plaintext garbage.",
                garbage_after_starttls=STARTTLS_GARBAGE,
            ),
            _endpoint(
                "imaps",
                host("many-sans"),
                "certificate with 3000 names",
                "The certificate lists three thousand subject alternative names.",
                cert_variant="many-sans",
            ),
            _endpoint(
                "submissions",
                host("malformed-cert"),
                "unparsable certificate",
                "Serves a certificate whose SAN extension is not valid DER.",
                malformed_certificate=True,
            ),
            _endpoint(
                "imaps",
                host("weak-suites"),
                "old appliance: weak suites",
                "TLS 1.0 to 1.2 with a 1024-bit RSA key, accepting NULL, "
                "anonymous, CBC-SHA1 and static-RSA suites.",
                cert_variant="weak-key",
                tls_minimum=TLS10,
                tls_maximum=TLS12,
                tls_ciphers="ALL:eNULL:@SECLEVEL=0",
            ),
        ),
    )


PROFILES: dict[str, Profile] = {p.name: p for p in (_isp2018(), _modern(), _broken())}
"""The lab profiles a bare `Lab()` serves (and the demo shows), in order."""

OPT_IN_PROFILES: dict[str, Profile] = {p.name: p for p in (_hostile(),)}
"""Profiles served only when named: too noisy or slow for the demo."""

ALL_PROFILES: dict[str, Profile] = {**PROFILES, **OPT_IN_PROFILES}
"""Every lab profile, by name."""
