"""The ManageSieve dialogue against scripted servers."""

from __future__ import annotations

import pytest

from mailtui.protocols import SieveDialogue
from mailtui.protocols.base import MAX_REPLY_LINES
from tests.test_protocols_support import converse

GREETING = (
    b'"IMPLEMENTATION" "Dovecot Pigeonhole"\r\n'
    b'"SIEVE" "fileinto reject envelope"\r\n'
    b'"NOTIFY" "mailto"\r\n'
    b'"SASL" ""\r\n'
    b'"STARTTLS"\r\n'
    b'"VERSION" "1.0"\r\n'
    b'OK "Dovecot ready."\r\n'
)
GO_AHEAD = b'OK "Begin TLS negotiation now."\r\n'
AFTER_TLS = (
    b'"IMPLEMENTATION" "Dovecot Pigeonhole"\r\n'
    b'"SASL" "PLAIN LOGIN"\r\n'
    b'"VERSION" "1.0"\r\n'
    b'OK "TLS negotiation successful."\r\n'
)
HAPPY = [GREETING, GO_AHEAD, AFTER_TLS]


def plaintext() -> SieveDialogue:
    return SieveDialogue(tls_active=False, try_starttls=True)


def test_starttls_happy_path_sends_exact_bytes() -> None:
    talk = converse(plaintext(), HAPPY)

    assert talk.wire == b"STARTTLS\r\nLOGOUT\r\n"
    assert talk.upgrades == 1
    facts = talk.facts
    assert facts.greeting == 'OK "Dovecot ready."'
    assert facts.capabilities_before == [
        "IMPLEMENTATION Dovecot Pigeonhole",
        "SIEVE fileinto reject envelope",
        "NOTIFY mailto",
        "SASL",
        "STARTTLS",
        "VERSION 1.0",
    ]
    assert facts.capabilities_after == [
        "IMPLEMENTATION Dovecot Pigeonhole",
        "SASL PLAIN LOGIN",
        "VERSION 1.0",
    ]
    assert facts.starttls_advertised
    assert facts.starttls_accepted
    assert facts.starttls_response == 'OK "Begin TLS negotiation now."'
    assert facts.protocol_error is None
    assert talk.stages == ["greeting", "starttls", "capabilities"]


def test_implicit_tls_reads_the_greeting_only() -> None:
    talk = converse(SieveDialogue(tls_active=True, try_starttls=True), [AFTER_TLS])

    assert talk.sent == ["LOGOUT"]
    assert talk.facts.capabilities_before == []
    assert talk.facts.capabilities_after is not None
    assert "SASL PLAIN LOGIN" in talk.facts.capabilities_after


def test_escapes_and_casing() -> None:
    greeting = b'"implementation" "say \\"hi\\" \\\\o/"\r\n"StartTLS"\r\nok\r\n'
    talk = converse(plaintext(), [greeting, b"no\r\n"])

    assert talk.facts.capabilities_before == [
        'implementation say "hi" \\o/',
        "StartTLS",
    ]
    assert talk.facts.starttls_advertised
    assert not talk.facts.starttls_accepted
    assert talk.facts.starttls_response == "no"
    assert talk.sent == ["STARTTLS", "LOGOUT"]


def test_starttls_refused_with_bye_skips_logout() -> None:
    talk = converse(plaintext(), [GREETING, b'BYE "no TLS for you"\r\n'])

    assert talk.sent == ["STARTTLS"]
    assert talk.facts.starttls_response == 'BYE "no TLS for you"'
    assert not talk.facts.starttls_accepted
    assert not talk.facts.closed_early


def test_injection_after_go_ahead() -> None:
    evil = GO_AHEAD + b'"SASL" "PLAIN"\r\nOK\r\n"partial'
    dialogue = plaintext()
    talk = converse(dialogue, [GREETING, evil, AFTER_TLS])

    assert dialogue.injected == b'"SASL" "PLAIN"\r\nOK\r\n"partial'
    assert talk.facts.capabilities_after == [
        "IMPLEMENTATION Dovecot Pigeonhole",
        "SASL PLAIN LOGIN",
        "VERSION 1.0",
    ]


def test_bye_greeting_is_temporary() -> None:
    talk = converse(plaintext(), [b'BYE (TRYLATER) "Too many connections"\r\n'])

    assert talk.facts.temporary_failure == 'BYE (TRYLATER) "Too many connections"'
    assert talk.sent == []


@pytest.mark.parametrize(
    ("greeting", "message"),
    [
        (
            b"* OK IMAP4rev1 ready\r\n",
            "not a ManageSieve reply, looks like IMAP: '* OK IMAP4rev1 ready'",
        ),
        (b'"SASL" PLAIN\r\n', "malformed ManageSieve line: '\"SASL\" PLAIN'"),
        (b'"A" "B" "C"\r\n', 'malformed capability: \'"A" "B" "C"\''),
        (b'"SASL" {10}\r\n', "malformed ManageSieve line: '\"SASL\" {10}'"),
        (b'"open\r\n', "malformed ManageSieve line: '\"open'"),
        (b"OKAY\r\n", "not a ManageSieve reply: 'OKAY'"),
    ],
)
def test_unexpected_syntax_is_a_protocol_error(greeting: bytes, message: str) -> None:
    talk = converse(plaintext(), [greeting])
    assert talk.facts.protocol_error == message


def test_capability_line_in_reply_to_starttls() -> None:
    talk = converse(plaintext(), [GREETING, b'"SASL" "PLAIN"\r\n'])
    assert talk.facts.protocol_error == (
        'unexpected reply to STARTTLS: \'"SASL" "PLAIN"\''
    )


def test_endless_greeting() -> None:
    talk = converse(plaintext(), [b'"X"\r\n' * (MAX_REPLY_LINES + 1)])
    assert talk.facts.protocol_error == f"reply of more than {MAX_REPLY_LINES} lines"


def test_server_silent_after_tls_is_closed_early() -> None:
    talk = converse(plaintext(), [GREETING, GO_AHEAD])

    assert talk.upgrades == 1
    assert talk.facts.closed_early
    assert talk.facts.capabilities_after is None
    assert talk.stages[-1] == "capabilities"
