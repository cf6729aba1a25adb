"""The POP3 dialogue against scripted servers: exact bytes, every branch."""

from __future__ import annotations

from mailtui.protocols import Pop3Dialogue
from mailtui.protocols.base import MAX_LINE, MAX_REPLY_LINES
from tests.test_protocols_support import converse

GREETING = b"+OK Dovecot ready.\r\n"
CAPA_PLAIN = b"+OK\r\nCAPA\r\nTOP\r\nUIDL\r\nRESP-CODES\r\nSTLS\r\nSASL\r\n.\r\n"
GO_AHEAD = b"+OK Begin TLS negotiation now.\r\n"
CAPA_TLS = (
    b"+OK Capability list follows\r\n"
    b"TOP\r\nUSER\r\nSASL PLAIN LOGIN\r\n..dotted\r\nUIDL\r\n.\r\n"
)
HAPPY = [GREETING, CAPA_PLAIN, GO_AHEAD, CAPA_TLS]


def plaintext() -> Pop3Dialogue:
    return Pop3Dialogue(tls_active=False, try_starttls=True)


def test_stls_happy_path_sends_exact_bytes() -> None:
    talk = converse(plaintext(), HAPPY)

    assert talk.wire == b"CAPA\r\nSTLS\r\nCAPA\r\nQUIT\r\n"
    assert talk.upgrades == 1
    facts = talk.facts
    assert facts.greeting == "+OK Dovecot ready."
    assert facts.capabilities_before == [
        "CAPA",
        "TOP",
        "UIDL",
        "RESP-CODES",
        "STLS",
        "SASL",
    ]
    # ".." is dot-stuffing for a line that starts with one dot.
    assert facts.capabilities_after == [
        "TOP",
        "USER",
        "SASL PLAIN LOGIN",
        ".dotted",
        "UIDL",
    ]
    assert facts.starttls_advertised
    assert facts.starttls_accepted
    assert facts.starttls_response == "+OK Begin TLS negotiation now."
    assert facts.protocol_error is None
    assert not facts.closed_early
    assert talk.stages == ["greeting", "capabilities", "starttls", "capabilities"]


def test_implicit_tls() -> None:
    dialogue = Pop3Dialogue(tls_active=True, try_starttls=True)
    talk = converse(dialogue, [GREETING, CAPA_TLS])

    assert talk.sent == ["CAPA", "QUIT"]
    assert talk.facts.capabilities_before == []
    assert talk.facts.capabilities_after is not None
    assert "USER" in talk.facts.capabilities_after
    assert not talk.facts.starttls_tried


def test_odd_casing_and_bare_lf() -> None:
    talk = converse(plaintext(), [b"+ok hi\n", b"+Ok\nstls\nuser\n.\n", b"-err\n"])

    assert talk.facts.greeting == "+ok hi"
    assert talk.facts.starttls_advertised
    assert talk.facts.capabilities_before == ["stls", "user"]
    assert not talk.facts.starttls_accepted
    assert talk.sent == ["CAPA", "STLS", "QUIT"]


def test_capa_refused_means_no_capabilities_and_stls_still_tried() -> None:
    replies = [GREETING, b"-ERR unknown command\r\n", GO_AHEAD, b"-ERR no\r\n"]
    talk = converse(plaintext(), replies)

    assert talk.sent == ["CAPA", "STLS", "CAPA", "QUIT"]
    assert talk.facts.capabilities_before == []
    assert talk.facts.capabilities_after == []
    assert not talk.facts.starttls_advertised
    assert talk.facts.starttls_accepted


def test_stls_refused() -> None:
    talk = converse(plaintext(), [GREETING, CAPA_PLAIN, b"-ERR TLS not here\r\n"])

    assert talk.sent == ["CAPA", "STLS", "QUIT"]
    assert talk.facts.starttls_tried
    assert not talk.facts.starttls_accepted
    assert talk.facts.starttls_response == "-ERR TLS not here"
    assert talk.facts.capabilities_after is None
    assert talk.upgrades == 0


def test_injection_after_go_ahead() -> None:
    evil = GO_AHEAD + b"+OK\r\nUSER\r\n.\r\n+OK tail"
    dialogue = plaintext()
    talk = converse(dialogue, [GREETING, CAPA_PLAIN, evil, CAPA_TLS])

    assert dialogue.injected == b"+OK\r\nUSER\r\n.\r\n+OK tail"
    assert talk.facts.capabilities_after == [
        "TOP",
        "USER",
        "SASL PLAIN LOGIN",
        ".dotted",
        "UIDL",
    ]
    assert talk.sent == ["CAPA", "STLS", "CAPA", "QUIT"]


def test_err_greeting_is_temporary() -> None:
    talk = converse(plaintext(), [b"-ERR [IN-USE] too many connections\r\n"])

    assert talk.facts.temporary_failure == "-ERR [IN-USE] too many connections"
    assert talk.facts.protocol_error is None
    assert talk.sent == []


def test_sys_perm_greeting_is_a_refusal() -> None:
    talk = converse(plaintext(), [b"-ERR [SYS/PERM] go away\r\n"])

    assert talk.facts.refused == "-ERR [SYS/PERM] go away"
    assert talk.facts.protocol_error == "refused: -ERR [SYS/PERM] go away"
    assert talk.facts.temporary_failure is None


def test_garbage_greeting() -> None:
    talk = converse(plaintext(), [b"220 smtp.example ESMTP\r\n"])
    assert (
        talk.facts.protocol_error
        == "not a POP3 reply, looks like SMTP: '220 smtp.example ESMTP'"
    )


def test_status_needs_a_space_or_the_end() -> None:
    talk = converse(plaintext(), [b"+OKAY\r\n"])
    assert talk.facts.protocol_error == "not a POP3 reply: '+OKAY'"


def test_tls_on_plaintext_port() -> None:
    talk = converse(plaintext(), [b"\x16\x03\x01\x02\x00\x01"])
    assert talk.facts.protocol_error == "server speaks TLS on a plaintext port"


def test_overflowing_capability_line() -> None:
    talk = converse(plaintext(), [GREETING, b"+OK\r\n" + b"X" * (MAX_LINE + 5)])

    assert talk.facts.protocol_error == f"line longer than {MAX_LINE} bytes"
    assert talk.sent == ["CAPA"]


def test_endless_capability_list() -> None:
    flood = b"+OK\r\n" + b"X\r\n" * (MAX_REPLY_LINES + 1) + b".\r\n"
    talk = converse(plaintext(), [GREETING, flood])

    assert talk.facts.protocol_error == f"reply of more than {MAX_REPLY_LINES} lines"
    assert talk.facts.capabilities_before == []


def test_blank_lines_count_but_are_not_capabilities() -> None:
    talk = converse(plaintext(), [GREETING, b"+OK\r\n\r\nTOP\r\n \r\n.\r\n"])
    assert talk.facts.capabilities_before == ["TOP"]


def test_eof_mid_capability_list() -> None:
    talk = converse(plaintext(), [GREETING, b"+OK\r\nTOP\r\nUS"])

    assert talk.facts.closed_early
    assert talk.facts.capabilities_before == []
    assert talk.shown == ["+OK Dovecot ready.", "+OK", "TOP"]
