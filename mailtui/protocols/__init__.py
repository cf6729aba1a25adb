"""The mail protocols mailtui speaks, as sans-I/O dialogues.

`make_dialogue()` is the one entry point the probe engine needs; the
theory of operation is in `mailtui.protocols.base`. `cleartext_auth()`
reads a capability list the way a careless client would, for the
findings about passwords sent before TLS.
"""

from __future__ import annotations

from mailtui.model import Protocol
from mailtui.protocols.base import (
    MAX_LINE,
    MAX_REPLY_LINES,
    Action,
    Dialogue,
    DialogueFacts,
    Done,
    NeedData,
    Send,
    UpgradeTls,
)
from mailtui.protocols.imap import ImapDialogue
from mailtui.protocols.pop3 import Pop3Dialogue
from mailtui.protocols.sieve import SieveDialogue
from mailtui.protocols.smtp import SmtpDialogue

__all__ = [
    "CLEARTEXT_MECHANISMS",
    "MAX_LINE",
    "MAX_REPLY_LINES",
    "Action",
    "Dialogue",
    "DialogueFacts",
    "Done",
    "ImapDialogue",
    "NeedData",
    "Pop3Dialogue",
    "Send",
    "SieveDialogue",
    "SmtpDialogue",
    "UpgradeTls",
    "cleartext_auth",
    "make_dialogue",
]

_DIALOGUES: dict[Protocol, type[Dialogue]] = {
    Protocol.SMTP: SmtpDialogue,
    Protocol.POP3: Pop3Dialogue,
    Protocol.IMAP: ImapDialogue,
    Protocol.SIEVE: SieveDialogue,
}

CLEARTEXT_MECHANISMS = frozenset({"PLAIN", "LOGIN"})
"""SASL mechanisms that put the password itself on the wire.

Only these two count. CRAM-MD5, DIGEST-MD5, SCRAM-* and NTLM answer a
challenge with a hash, so an eavesdropper learns no password (though a
weak one may be guessed offline). EXTERNAL sends nothing secret.
OAUTHBEARER and XOAUTH2 send a bearer token, which an eavesdropper could
replay until it expires: a real exposure, but of a short-lived token, not
of the password, so it is left to a finding of its own if ever wanted.
"""


def make_dialogue(
    protocol: Protocol,
    *,
    tls_active: bool,
    try_starttls: bool,
    client_name: str = "mailtui.localhost",
) -> Dialogue:
    """A fresh dialogue for one connection speaking `protocol`.

    Args:
        protocol: What the endpoint speaks.
        tls_active: The connection is already TLS (implicit TLS).
        try_starttls: Send STARTTLS on a plaintext connection, advertised
            or not; ignored when `tls_active`.
        client_name: The name given in SMTP EHLO/HELO.
    """
    return _DIALOGUES[protocol](
        tls_active=tls_active, try_starttls=try_starttls, client_name=client_name
    )


def cleartext_auth(protocol: Protocol, capabilities: list[str]) -> list[str]:
    """The ways this capability list lets a client send a password as is.

    Spelled as the protocol does: SMTP "AUTH PLAIN", IMAP "LOGIN" and
    "AUTH=PLAIN", POP3 "USER" and "SASL PLAIN", ManageSieve "SASL PLAIN".
    On a plaintext connection each one is a password an eavesdropper can
    read. An empty list means nothing is known, so nothing is reported,
    even for IMAP whose LOGIN command exists unless disabled.
    """
    offers: list[str] = []
    for keyword, mechanisms in _auth_offers(protocol, capabilities):
        for mechanism in mechanisms:
            offer = f"{keyword}{mechanism}"
            if offer not in offers:
                offers.append(offer)
    return offers


def _auth_offers(
    protocol: Protocol, capabilities: list[str]
) -> list[tuple[str, list[str]]]:
    """(prefix, cleartext mechanisms or commands) found in `capabilities`."""
    found: list[tuple[str, list[str]]] = []
    words = [c.split() for c in capabilities if c.strip()]
    match protocol:
        case Protocol.SMTP:
            for keyword, *rest in words:
                # "AUTH=LOGIN PLAIN" is how pre-RFC 2554 Outlook read it.
                head, _, first = keyword.upper().partition("=")
                if head == "AUTH":
                    found.append(("AUTH ", _cleartext([first, *rest])))
        case Protocol.IMAP:
            tokens = [t.upper() for ws in words for t in ws]
            if tokens and "LOGINDISABLED" not in tokens:
                found.append(("", ["LOGIN"]))
            mechanisms = [t[5:] for t in tokens if t.startswith("AUTH=")]
            found.append(("AUTH=", _cleartext(mechanisms)))
        case Protocol.POP3 | Protocol.SIEVE:
            for keyword, *rest in words:
                if keyword.upper() == "USER" and protocol is Protocol.POP3:
                    found.append(("", ["USER"]))
                elif keyword.upper() == "SASL":
                    found.append(("SASL ", _cleartext(rest)))
    return found


def _cleartext(mechanisms: list[str]) -> list[str]:
    return [m.upper() for m in mechanisms if m.upper() in CLEARTEXT_MECHANISMS]
