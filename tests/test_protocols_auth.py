"""`cleartext_auth()` and `make_dialogue()`: the package's own face."""

from __future__ import annotations

import pytest

from mailtui.model import Protocol
from mailtui.protocols import (
    ImapDialogue,
    NeedData,
    Pop3Dialogue,
    SieveDialogue,
    SmtpDialogue,
    cleartext_auth,
    make_dialogue,
)


@pytest.mark.parametrize(
    ("protocol", "capabilities", "offers"),
    [
        (
            Protocol.SMTP,
            ["PIPELINING", "AUTH PLAIN LOGIN CRAM-MD5", "STARTTLS"],
            ["AUTH PLAIN", "AUTH LOGIN"],
        ),
        (
            Protocol.SMTP,
            ["auth=login plain", "AUTH LOGIN"],
            ["AUTH LOGIN", "AUTH PLAIN"],
        ),
        (Protocol.SMTP, ["AUTH SCRAM-SHA-256 OAUTHBEARER XOAUTH2 EXTERNAL"], []),
        (Protocol.SMTP, ["SIZE 100", "8BITMIME"], []),
        (Protocol.SMTP, [], []),
        (
            Protocol.IMAP,
            ["IMAP4rev1", "STARTTLS", "AUTH=PLAIN", "AUTH=CRAM-MD5"],
            ["LOGIN", "AUTH=PLAIN"],
        ),
        (Protocol.IMAP, ["IMAP4rev1", "STARTTLS", "LOGINDISABLED"], []),
        (Protocol.IMAP, ["IMAP4rev1", "logindisabled", "auth=login"], ["AUTH=LOGIN"]),
        (Protocol.IMAP, [], []),
        (
            Protocol.POP3,
            ["TOP", "USER", "SASL PLAIN LOGIN", "STLS"],
            ["USER", "SASL PLAIN", "SASL LOGIN"],
        ),
        (Protocol.POP3, ["TOP", "SASL", "STLS"], []),
        (Protocol.POP3, ["SASL SCRAM-SHA-1 GSSAPI"], []),
        (Protocol.SIEVE, ["IMPLEMENTATION Dovecot", "SASL PLAIN"], ["SASL PLAIN"]),
        (Protocol.SIEVE, ["SASL", "STARTTLS"], []),
        # ManageSieve has no USER command; a capability of that name is noise.
        (Protocol.SIEVE, ["USER"], []),
    ],
)
def test_cleartext_auth(
    protocol: Protocol, capabilities: list[str], offers: list[str]
) -> None:
    assert cleartext_auth(protocol, capabilities) == offers


@pytest.mark.parametrize(
    ("protocol", "kind"),
    [
        (Protocol.SMTP, SmtpDialogue),
        (Protocol.POP3, Pop3Dialogue),
        (Protocol.IMAP, ImapDialogue),
        (Protocol.SIEVE, SieveDialogue),
    ],
)
def test_make_dialogue(protocol: Protocol, kind: type) -> None:
    dialogue = make_dialogue(
        protocol, tls_active=False, try_starttls=True, client_name="c.test"
    )

    assert type(dialogue) is kind
    assert dialogue.try_starttls
    assert dialogue.client_name == "c.test"
    assert dialogue.next_action() == NeedData("greeting")


def test_implicit_tls_never_tries_starttls() -> None:
    dialogue = make_dialogue(
        Protocol.SMTP, tls_active=True, try_starttls=True, client_name="c"
    )
    assert not dialogue.try_starttls
