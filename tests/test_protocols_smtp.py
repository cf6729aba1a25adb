"""The SMTP dialogue against scripted servers: exact bytes, every branch."""

from __future__ import annotations

import pytest

from mailtui.protocols import Done, NeedData, Send, SmtpDialogue, UpgradeTls
from mailtui.protocols.base import MAX_LINE, MAX_REPLY_LINES
from tests.test_protocols_support import (
    converse,
    split_each,
)

GREETING = b"220 mx.example.test ESMTP ready\r\n"
EHLO_PLAIN = (
    b"250-mx.example.test Hello\r\n"
    b"250-PIPELINING\r\n"
    b"250-SIZE 10240000\r\n"
    b"250-STARTTLS\r\n"
    b"250 8BITMIME\r\n"
)
GO_AHEAD = b"220 2.0.0 Ready to start TLS\r\n"
EHLO_TLS = (
    b"250-mx.example.test Hello\r\n"
    b"250-PIPELINING\r\n"
    b"250-SIZE 10240000\r\n"
    b"250 AUTH PLAIN LOGIN\r\n"
)
HAPPY = [GREETING, EHLO_PLAIN, GO_AHEAD, EHLO_TLS]


def plaintext() -> SmtpDialogue:
    return SmtpDialogue(tls_active=False, try_starttls=True, client_name="probe.test")


def test_starttls_happy_path_sends_exact_bytes() -> None:
    talk = converse(plaintext(), HAPPY)

    assert talk.wire == (b"EHLO probe.test\r\nSTARTTLS\r\nEHLO probe.test\r\nQUIT\r\n")
    assert talk.upgrades == 1
    assert not talk.eof
    facts = talk.facts
    assert facts.greeting == "220 mx.example.test ESMTP ready"
    assert facts.capabilities_before == [
        "PIPELINING",
        "SIZE 10240000",
        "STARTTLS",
        "8BITMIME",
    ]
    assert facts.capabilities_after == [
        "PIPELINING",
        "SIZE 10240000",
        "AUTH PLAIN LOGIN",
    ]
    assert facts.starttls_advertised
    assert facts.starttls_tried
    assert facts.starttls_accepted
    assert facts.starttls_response == "220 2.0.0 Ready to start TLS"
    assert facts.protocol_error is None
    assert facts.temporary_failure is None
    assert not facts.closed_early
    assert talk.stages == ["greeting", "capabilities", "starttls", "capabilities"]
    assert talk.shown[0] == "220 mx.example.test ESMTP ready"
    assert len(talk.shown) == 11


def test_implicit_tls_fills_only_the_after_list() -> None:
    dialogue = SmtpDialogue(tls_active=True, try_starttls=True)
    talk = converse(dialogue, [GREETING, EHLO_TLS])

    assert talk.sent == ["EHLO mailtui.localhost", "QUIT"]
    assert talk.facts.capabilities_before == []
    assert talk.facts.capabilities_after == [
        "PIPELINING",
        "SIZE 10240000",
        "AUTH PLAIN LOGIN",
    ]
    assert not talk.facts.starttls_tried


def test_plaintext_without_starttls_stops_after_ehlo() -> None:
    dialogue = SmtpDialogue(tls_active=False, try_starttls=False)
    talk = converse(dialogue, [GREETING, EHLO_PLAIN])

    assert talk.sent == ["EHLO mailtui.localhost", "QUIT"]
    assert talk.facts.capabilities_after is None
    assert talk.facts.starttls_advertised
    assert not talk.facts.starttls_tried


def test_bare_lf_and_odd_casing() -> None:
    ehlo = b"250-mx\n250-starttls\n250 auth plain\n"
    talk = converse(plaintext(), [b"220 hi\n", ehlo, b"220 go\n", b"250 mx\n"])

    assert talk.facts.capabilities_before == ["starttls", "auth plain"]
    assert talk.facts.starttls_advertised
    assert talk.facts.capabilities_after == []


def test_starttls_refused_says_quit() -> None:
    no_tls = b"250-mx\r\n250 SIZE 100\r\n"
    refusal = b"502 5.5.1 Command not implemented\r\n"
    talk = converse(plaintext(), [GREETING, no_tls, refusal])

    assert talk.sent == ["EHLO probe.test", "STARTTLS", "QUIT"]
    assert not talk.facts.starttls_advertised
    assert talk.facts.starttls_tried
    assert not talk.facts.starttls_accepted
    assert talk.facts.starttls_response == "502 5.5.1 Command not implemented"
    assert talk.facts.capabilities_after is None
    assert talk.upgrades == 0
    assert talk.facts.temporary_failure is None


def test_454_to_starttls_is_a_tls_failure_not_try_later() -> None:
    talk = converse(plaintext(), [GREETING, EHLO_PLAIN, b"454 4.7.0 TLS down\r\n"])

    assert talk.facts.temporary_failure is None
    assert not talk.facts.starttls_accepted
    assert talk.facts.starttls_response == "454 4.7.0 TLS down"
    assert talk.sent[-1] == "QUIT"


def test_starttls_accepted_without_being_advertised() -> None:
    talk = converse(plaintext(), [GREETING, b"250 mx\r\n", GO_AHEAD, EHLO_TLS])

    assert not talk.facts.starttls_advertised
    assert talk.facts.starttls_accepted
    assert talk.upgrades == 1
    assert talk.facts.capabilities_after == [
        "PIPELINING",
        "SIZE 10240000",
        "AUTH PLAIN LOGIN",
    ]


def test_plaintext_after_go_ahead_is_injected_not_parsed() -> None:
    evil = GO_AHEAD + b"250-mx.evil\r\n250 AUTH PLAIN\r\n250 par"
    dialogue = plaintext()
    talk = converse(dialogue, [GREETING, EHLO_PLAIN, evil, EHLO_TLS])

    assert dialogue.injected == b"250-mx.evil\r\n250 AUTH PLAIN\r\n250 par"
    assert talk.facts.capabilities_after == [
        "PIPELINING",
        "SIZE 10240000",
        "AUTH PLAIN LOGIN",
    ]
    assert "250 AUTH PLAIN" not in talk.shown


def test_bytes_fed_while_waiting_for_handshake_are_injected() -> None:
    dialogue = plaintext()
    assert dialogue.next_action() == NeedData("greeting")
    dialogue.receive(GREETING)
    assert dialogue.next_action() == Send(b"EHLO probe.test\r\n", "EHLO probe.test")
    dialogue.receive(EHLO_PLAIN)
    assert dialogue.next_action() == Send(b"STARTTLS\r\n", "STARTTLS")
    assert dialogue.next_action() == NeedData("starttls")
    assert dialogue.receive(GO_AHEAD) == ["220 2.0.0 Ready to start TLS"]
    assert dialogue.next_action() == UpgradeTls()

    # The engine read more before starting the handshake.
    assert dialogue.receive(b"250 fake\r\n") == []
    assert dialogue.injected == b"250 fake\r\n"
    assert dialogue.next_action() == UpgradeTls()

    dialogue.tls_started()
    assert dialogue.next_action() == Send(b"EHLO probe.test\r\n", "EHLO probe.test")
    assert dialogue.receive(EHLO_TLS)[0] == "250-mx.example.test Hello"
    assert dialogue.next_action() == Send(b"QUIT\r\n", "QUIT")
    assert dialogue.next_action() == Done()
    assert dialogue.facts.capabilities_after == [
        "PIPELINING",
        "SIZE 10240000",
        "AUTH PLAIN LOGIN",
    ]


def test_421_greeting_is_a_temporary_failure() -> None:
    talk = converse(plaintext(), [b"421 4.3.2 Too busy, try later\r\n"])

    assert talk.facts.temporary_failure == "421 4.3.2 Too busy, try later"
    assert talk.facts.greeting == "421 4.3.2 Too busy, try later"
    assert talk.facts.protocol_error is None
    assert talk.sent == []
    assert not talk.facts.starttls_tried


def test_421_after_ehlo_is_a_temporary_failure() -> None:
    talk = converse(plaintext(), [GREETING, b"421 closing\r\n"])

    assert talk.facts.temporary_failure == "421 closing"
    assert talk.sent == ["EHLO probe.test"]


def test_554_greeting_is_a_refusal_with_quit() -> None:
    talk = converse(plaintext(), [b"554 5.7.1 No service for you\r\n"])

    assert talk.facts.refused == "554 5.7.1 No service for you"
    assert talk.facts.protocol_error == "refused: 554 5.7.1 No service for you"
    assert talk.facts.temporary_failure is None
    assert talk.sent == ["QUIT"]


def test_ehlo_refused_falls_back_to_helo() -> None:
    replies = [GREETING, b"502 5.5.2 EHLO unknown\r\n", b"250 mx\r\n", GO_AHEAD]
    replies += [b"500 no\r\n", b"250 mx\r\n"]
    talk = converse(plaintext(), replies)

    assert talk.sent == [
        "EHLO probe.test",
        "HELO probe.test",
        "STARTTLS",
        "EHLO probe.test",
        "HELO probe.test",
        "QUIT",
    ]
    assert talk.facts.capabilities_before == []
    assert talk.facts.capabilities_after == []


@pytest.mark.parametrize(
    "line",
    [b"2500 too long\r\n", b"25 short\r\n", b"250_odd\r\n", b"abc ok\r\n"],
)
def test_malformed_reply_codes_are_protocol_errors(line: bytes) -> None:
    talk = converse(plaintext(), [GREETING, line])

    assert talk.facts.protocol_error is not None
    assert talk.sent == ["EHLO probe.test"]
    assert talk.facts.capabilities_before == []


def test_reply_code_must_not_change_mid_reply() -> None:
    talk = converse(plaintext(), [GREETING, b"250-mx\r\n251 odd\r\n"])
    assert talk.facts.protocol_error == "reply code changed from 250 to 251 mid-reply"


def test_bare_code_line_is_valid() -> None:
    talk = converse(plaintext(), [b"220\r\n", b"250\r\n", b"502\r\n"])
    assert talk.facts.greeting == "220"
    assert talk.facts.protocol_error is None
    assert talk.sent[-1] == "QUIT"


@pytest.mark.parametrize(
    ("banner", "message"),
    [
        (
            b"SSH-2.0-OpenSSH_9.6p1 Debian-3\r\n",
            "not an SMTP reply, looks like SSH: 'SSH-2.0-OpenSSH_9.6p1 Debian-3'",
        ),
        (
            b"+OK Dovecot ready.\r\n",
            "not an SMTP reply, looks like POP3: '+OK Dovecot ready.'",
        ),
        (
            b"\x16\x03\x03\x00\x4a\x02\x00",
            "server speaks TLS on a plaintext port",
        ),
        (b"\x15\x03\x01\x00\x02\x02\x46", "server speaks TLS on a plaintext port"),
    ],
)
def test_garbage_names_what_it_looks_like(banner: bytes, message: str) -> None:
    talk = converse(plaintext(), [banner])

    assert talk.facts.protocol_error == message
    assert talk.sent == []
    assert not talk.facts.closed_early


def test_garbage_quote_is_cut_to_about_80_characters() -> None:
    talk = converse(plaintext(), [b"HTTP/1.1 400 " + b"x" * 500 + b"\r\n"])
    error = talk.facts.protocol_error
    assert error is not None
    assert error.startswith("not an SMTP reply, looks like HTTP: 'HTTP/1.1 400 xx")
    assert len(error) < 130


def test_overflowing_line_ends_the_dialogue() -> None:
    talk = converse(plaintext(), [GREETING, b"250-" + b"A" * MAX_LINE])

    assert talk.facts.protocol_error == f"line longer than {MAX_LINE} bytes"
    assert talk.sent == ["EHLO probe.test"]
    assert talk.facts.capabilities_before == []


def test_overflow_with_terminator_in_a_later_read() -> None:
    long_line = b"250-" + b"B" * (MAX_LINE - 3) + b"\r\n"
    talk = converse(plaintext(), [GREETING, *split_each([long_line], 1000)])
    assert talk.facts.protocol_error == f"line longer than {MAX_LINE} bytes"


def test_longest_allowed_line_is_accepted() -> None:
    line = b"250 " + b"C" * (MAX_LINE - 5) + b"\n"
    assert len(line) == MAX_LINE
    talk = converse(plaintext(), [GREETING, line, b"502 no\r\n"])
    assert talk.facts.protocol_error is None


def test_one_byte_over_the_cap_is_refused() -> None:
    line = b"250 " + b"C" * (MAX_LINE - 4) + b"\n"
    assert len(line) == MAX_LINE + 1
    talk = converse(plaintext(), [GREETING, line])
    assert talk.facts.protocol_error == f"line longer than {MAX_LINE} bytes"


@pytest.mark.parametrize("name", ["", "two words", "crlf\r\nRSET", "nul\x00"])
def test_client_name_cannot_smuggle_a_command(name: str) -> None:
    with pytest.raises(ValueError, match="client name"):
        SmtpDialogue(tls_active=False, try_starttls=True, client_name=name)


def test_too_many_lines_in_one_reply() -> None:
    flood = b"250-x\r\n" * (MAX_REPLY_LINES + 1) + b"250 end\r\n"
    talk = converse(plaintext(), [GREETING, flood])

    assert talk.facts.protocol_error == f"reply of more than {MAX_REPLY_LINES} lines"
    assert talk.facts.capabilities_before == []


def test_eof_mid_reply_keeps_what_was_learned() -> None:
    talk = converse(plaintext(), [GREETING, b"250-mx\r\n250-SIZE 1\r\n"])

    assert talk.eof
    assert talk.facts.closed_early
    assert talk.facts.greeting == "220 mx.example.test ESMTP ready"
    assert talk.facts.capabilities_before == []
    assert talk.shown[-1] == "250-SIZE 1"


def test_eof_after_goodbye_is_not_early() -> None:
    dialogue = plaintext()
    converse(dialogue, HAPPY)
    dialogue.connection_closed()
    assert not dialogue.facts.closed_early


def test_eof_at_once_is_early() -> None:
    talk = converse(plaintext(), [])
    assert talk.facts.closed_early
    assert talk.facts.greeting is None


def test_invalid_utf8_and_nul_never_raise() -> None:
    talk = converse(plaintext(), [b"220 caf\xe9 \x00 \x1b[31mred\r\n", EHLO_TLS])

    assert talk.facts.greeting == "220 caf\ufffd \\x00 \\x1b[31mred"
    assert talk.facts.capabilities_before == [
        "PIPELINING",
        "SIZE 10240000",
        "AUTH PLAIN LOGIN",
    ]
