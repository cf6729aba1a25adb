"""The IMAP dialogue against scripted servers: exact bytes, every branch."""

from __future__ import annotations

import pytest

from mailtui.protocols import ImapDialogue
from mailtui.protocols.base import MAX_LINE
from tests.test_protocols_support import converse

GREETING = b"* OK Dovecot ready.\r\n"
CAPABILITY_PLAIN = (
    b"* CAPABILITY IMAP4rev1 SASL-IR STARTTLS LOGINDISABLED\r\n"
    b"a1 OK Pre-login capabilities listed, post-login capabilities have more.\r\n"
)
GO_AHEAD = b"a2 OK Begin TLS negotiation now.\r\n"
CAPABILITY_TLS = (
    b"* CAPABILITY IMAP4rev1 SASL-IR AUTH=PLAIN AUTH=LOGIN\r\n"
    b"a3 OK Pre-login capabilities listed, post-login capabilities have more.\r\n"
)
HAPPY = [GREETING, CAPABILITY_PLAIN, GO_AHEAD, CAPABILITY_TLS]
CODE_GREETING = b"* OK [CAPABILITY IMAP4rev1 STARTTLS LOGINDISABLED] ready\r\n"


def plaintext() -> ImapDialogue:
    return ImapDialogue(tls_active=False, try_starttls=True)


def test_starttls_happy_path_sends_exact_bytes() -> None:
    talk = converse(plaintext(), HAPPY)

    assert talk.wire == (
        b"a1 CAPABILITY\r\na2 STARTTLS\r\na3 CAPABILITY\r\na4 LOGOUT\r\n"
    )
    assert talk.upgrades == 1
    facts = talk.facts
    assert facts.greeting == "* OK Dovecot ready."
    assert facts.capabilities_before == [
        "IMAP4rev1",
        "SASL-IR",
        "STARTTLS",
        "LOGINDISABLED",
    ]
    assert facts.capabilities_after == [
        "IMAP4rev1",
        "SASL-IR",
        "AUTH=PLAIN",
        "AUTH=LOGIN",
    ]
    assert facts.starttls_advertised
    assert facts.starttls_accepted
    assert facts.starttls_response == "a2 OK Begin TLS negotiation now."
    assert facts.protocol_error is None
    assert not facts.preauth
    assert not facts.closed_early


def test_capabilities_from_the_greeting_save_a_round_trip() -> None:
    go_ahead = b"a1 OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] Begin TLS now\r\n"
    after = b"* CAPABILITY IMAP4rev1 AUTH=PLAIN\r\na2 OK done\r\n"
    talk = converse(plaintext(), [CODE_GREETING, go_ahead, after])

    # The list in the STARTTLS reply came in plaintext: asked for again.
    assert talk.sent == ["a1 STARTTLS", "a2 CAPABILITY", "a3 LOGOUT"]
    assert talk.facts.capabilities_before == [
        "IMAP4rev1",
        "STARTTLS",
        "LOGINDISABLED",
    ]
    assert talk.facts.capabilities_after == ["IMAP4rev1", "AUTH=PLAIN"]
    assert talk.stages == ["greeting", "starttls", "capabilities"]


def test_implicit_tls_greeting_with_capabilities_is_enough() -> None:
    dialogue = ImapDialogue(tls_active=True, try_starttls=True)
    talk = converse(dialogue, [CODE_GREETING])

    assert talk.sent == ["a1 LOGOUT"]
    assert talk.facts.capabilities_before == []
    assert talk.facts.capabilities_after == [
        "IMAP4rev1",
        "STARTTLS",
        "LOGINDISABLED",
    ]


def test_implicit_tls_asks_when_the_greeting_is_silent() -> None:
    dialogue = ImapDialogue(tls_active=True, try_starttls=False)
    talk = converse(dialogue, [GREETING, CAPABILITY_PLAIN])

    assert talk.sent == ["a1 CAPABILITY", "a2 LOGOUT"]
    assert talk.facts.capabilities_after == [
        "IMAP4rev1",
        "SASL-IR",
        "STARTTLS",
        "LOGINDISABLED",
    ]


def test_odd_casing_and_unrelated_untagged_responses() -> None:
    replies = [
        b"* ok [capability imap4rev1 starttls] hi\n",
        b"* OK [ALERT] maintenance tonight\r\nA1 ok begin\r\n",
        b"* 3 EXISTS\r\n* capability IMAP4rev1\r\nA2 Ok done\r\n",
    ]
    talk = converse(plaintext(), replies)

    assert talk.facts.starttls_advertised
    assert talk.facts.capabilities_before == ["imap4rev1", "starttls"]
    assert talk.facts.starttls_accepted
    assert talk.facts.capabilities_after == ["IMAP4rev1"]
    assert talk.facts.protocol_error is None


def test_capability_in_the_tagged_ok_counts_when_untagged_is_missing() -> None:
    replies = [GREETING, b"a1 OK [CAPABILITY IMAP4rev1 X-FOO] done\r\n", b"a2 NO\r\n"]
    talk = converse(plaintext(), replies)
    assert talk.facts.capabilities_before == ["IMAP4rev1", "X-FOO"]


def test_starttls_refused() -> None:
    refusal = b"a2 BAD STARTTLS not supported\r\n"
    talk = converse(plaintext(), [GREETING, CAPABILITY_PLAIN, refusal])

    assert talk.sent == ["a1 CAPABILITY", "a2 STARTTLS", "a3 LOGOUT"]
    assert not talk.facts.starttls_accepted
    assert talk.facts.starttls_response == "a2 BAD STARTTLS not supported"
    assert talk.facts.capabilities_after is None


def test_capability_refused_is_an_empty_list() -> None:
    replies = [GREETING, b"a1 BAD what\r\n", GO_AHEAD, CAPABILITY_TLS]
    talk = converse(plaintext(), replies)

    assert talk.facts.capabilities_before == []
    assert not talk.facts.starttls_advertised
    assert talk.facts.starttls_accepted


def test_injection_after_go_ahead() -> None:
    evil = GO_AHEAD + b"* CAPABILITY IMAP4rev1 AUTH=PLAIN\r\na3 OK"
    dialogue = plaintext()
    talk = converse(dialogue, [GREETING, CAPABILITY_PLAIN, evil, CAPABILITY_TLS])

    assert dialogue.injected == b"* CAPABILITY IMAP4rev1 AUTH=PLAIN\r\na3 OK"
    assert talk.facts.capabilities_after == [
        "IMAP4rev1",
        "SASL-IR",
        "AUTH=PLAIN",
        "AUTH=LOGIN",
    ]


def test_preauth_is_noted() -> None:
    talk = converse(plaintext(), [b"* PREAUTH [CAPABILITY IMAP4rev1] hi\r\n"])

    assert talk.facts.preauth
    assert talk.facts.capabilities_before == ["IMAP4rev1"]
    assert talk.sent == ["a1 STARTTLS"]
    assert talk.facts.closed_early


def test_bye_greeting_is_temporary() -> None:
    talk = converse(plaintext(), [b"* BYE Too many connections\r\n"])

    assert talk.facts.temporary_failure == "* BYE Too many connections"
    assert talk.facts.greeting == "* BYE Too many connections"
    assert talk.sent == []


def test_bye_later_is_temporary() -> None:
    talk = converse(plaintext(), [GREETING, b"* BYE shutting down\r\n"])
    assert talk.facts.temporary_failure == "* BYE shutting down"
    assert talk.sent == ["a1 CAPABILITY"]


@pytest.mark.parametrize(
    ("replies", "message"),
    [
        (
            [b"+OK POP3 ready\r\n"],
            "not an IMAP reply, looks like POP3: '+OK POP3 ready'",
        ),
        ([b"* HELLO\r\n"], "not an IMAP reply: '* HELLO'"),
        ([GREETING, b"+ go on\r\n"], "unexpected continuation: '+ go on'"),
        (
            [GREETING, b"* CAPABILITY {12}\r\n"],
            "unexpected IMAP literal: '* CAPABILITY {12}'",
        ),
        ([GREETING, b"b7 OK\r\n"], "reply to a command never sent: 'b7 OK'"),
        ([GREETING, b"a1 MAYBE\r\n"], "not an IMAP reply: 'a1 MAYBE'"),
    ],
)
def test_unexpected_syntax_is_a_protocol_error(
    replies: list[bytes], message: str
) -> None:
    talk = converse(plaintext(), replies)
    assert talk.facts.protocol_error == message
    assert not talk.facts.closed_early


def test_overflowing_greeting() -> None:
    talk = converse(plaintext(), [b"* OK " + b"x" * MAX_LINE + b"\r\n"])
    assert talk.facts.protocol_error == f"line longer than {MAX_LINE} bytes"
    assert talk.facts.greeting is None


def test_eof_while_waiting_for_the_tagged_reply() -> None:
    talk = converse(plaintext(), [GREETING, b"* CAPABILITY IMAP4rev1 STARTTLS\r\n"])

    assert talk.facts.closed_early
    assert talk.facts.capabilities_before == []
    assert talk.stages[-1] == "capabilities"
