"""Properties every dialogue keeps whatever a server sends.

No bytes, in any chunking, make a dialogue raise; a closed connection
always ends it; and how the bytes are cut never changes what is learned.
"""

from __future__ import annotations

from itertools import pairwise

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tests.test_protocols_imap as imap
import tests.test_protocols_pop3 as pop3
import tests.test_protocols_sieve as sieve
import tests.test_protocols_smtp as smtp
from mailtui.model import Protocol
from mailtui.protocols import (
    Dialogue,
    Done,
    NeedData,
    Send,
    UpgradeTls,
    make_dialogue,
)
from mailtui.protocols.base import MAX_INJECTED
from tests.test_protocols_support import boundary_cases, converse, split_each

HAPPY = {
    Protocol.SMTP: smtp.HAPPY,
    Protocol.POP3: pop3.HAPPY,
    Protocol.IMAP: imap.HAPPY,
    Protocol.SIEVE: sieve.HAPPY,
}

# Pieces of real replies, so random sequences reach the deeper states.
FRAGMENTS = [
    b"220 ready\r\n",
    b"250-mx\r\n",
    b"250-STARTTLS\r\n",
    b"250 AUTH PLAIN\r\n",
    b"421 later\r\n",
    b"502 no\r\n",
    b"+OK\r\n",
    b"-ERR\r\n",
    b"STLS\r\n",
    b".\r\n",
    b"..x\r\n",
    b"* OK [CAPABILITY IMAP4rev1 STARTTLS] hi\r\n",
    b"* CAPABILITY IMAP4rev1\r\n",
    b"* PREAUTH\r\n",
    b"* BYE\r\n",
    b"a1 OK\r\n",
    b"a2 OK\r\n",
    b"a3 NO\r\n",
    b"{5}\r\n",
    b'"SASL" "PLAIN"\r\n',
    b'"STARTTLS"\r\n',
    b'OK "go"\r\n',
    b"BYE\r\n",
    b"\x00\xff\xfe",
    b"\r",
    b"\n",
    b"\x16\x03",
    b"x" * 5000,
]


def new(protocol: Protocol, tls_active: bool, try_starttls: bool) -> Dialogue:
    return make_dialogue(
        protocol, tls_active=tls_active, try_starttls=try_starttls, client_name="p"
    )


def drive(dialogue: Dialogue, chunks: list[bytes], feed_while_upgrading: bool) -> None:
    """The engine loop, stopping when the chunks run out (no EOF given)."""
    pending = list(chunks)
    for _ in range(10_000):
        action = dialogue.next_action()
        match action:
            case Send(data, _):
                assert data.endswith(b"\r\n")
                assert data.count(b"\n") == 1
            case NeedData():
                if not pending:
                    return
                for line in dialogue.receive(pending.pop(0)):
                    assert "\n" not in line
                    assert "\x00" not in line and "\x1b" not in line
            case UpgradeTls():
                if feed_while_upgrading and pending:
                    assert dialogue.receive(pending.pop(0)) == []
                dialogue.tls_started()
            case Done():
                assert dialogue.next_action() == Done()
                return
    raise AssertionError("dialogue loops forever")


protocols = st.sampled_from(list(Protocol))
noise = st.lists(st.binary(max_size=200), max_size=12)
mail_like = st.lists(
    st.lists(st.sampled_from(FRAGMENTS), max_size=6).map(b"".join), max_size=12
)


@settings(max_examples=300, deadline=None)
@given(protocols, st.booleans(), st.booleans(), st.booleans(), noise | mail_like)
def test_no_bytes_make_a_dialogue_raise_and_eof_ends_it(
    protocol: Protocol,
    tls_active: bool,
    try_starttls: bool,
    feed_while_upgrading: bool,
    chunks: list[bytes],
) -> None:
    dialogue = new(protocol, tls_active, try_starttls)
    drive(dialogue, chunks, feed_while_upgrading)
    was_done = dialogue.done

    dialogue.connection_closed()

    assert dialogue.next_action() == Done()
    assert dialogue.facts.closed_early is not was_done
    assert len(dialogue.injected) <= MAX_INJECTED


@settings(max_examples=150, deadline=None)
@given(protocols, st.data())
def test_any_cutting_of_a_script_learns_the_same(
    protocol: Protocol, data: st.DataObject
) -> None:
    replies = HAPPY[protocol]
    chunks: list[bytes] = []
    for reply in replies:
        cuts = data.draw(st.sets(st.integers(1, len(reply) - 1), max_size=8))
        edges = [0, *sorted(cuts), len(reply)]
        chunks += [reply[a:b] for a, b in pairwise(edges)]

    whole = converse(new(protocol, False, True), replies)
    cut = converse(new(protocol, False, True), chunks)

    assert cut.outcome() == whole.outcome()
    assert whole.facts.capabilities_after
    assert whole.facts.protocol_error is None


@settings(max_examples=150, deadline=None)
@given(protocols, st.integers(0, 40))
def test_eof_at_any_step_ends_the_dialogue(protocol: Protocol, steps: int) -> None:
    dialogue = new(protocol, False, True)
    stream = b"".join(HAPPY[protocol])
    for _ in range(steps):
        match dialogue.next_action():
            case NeedData():
                dialogue.receive(stream[:7])
                stream = stream[7:]
            case UpgradeTls():
                dialogue.tls_started()
            case Done():
                break

    dialogue.connection_closed()

    assert dialogue.next_action() == Done()
    assert dialogue.done


MODULES = {"smtp": smtp, "pop3": pop3, "imap": imap, "sieve": sieve}


@pytest.mark.parametrize("name", MODULES)
def test_every_split_parses_like_one_read(name: str) -> None:
    module = MODULES[name]
    whole = converse(module.plaintext(), module.HAPPY).outcome()
    for chunks in boundary_cases(module.HAPPY):
        assert converse(module.plaintext(), chunks).outcome() == whole, chunks


@pytest.mark.parametrize("name", MODULES)
def test_byte_by_byte_parses_like_one_read(name: str) -> None:
    module = MODULES[name]
    whole = converse(module.plaintext(), module.HAPPY).outcome()
    split = split_each(module.HAPPY, 1)
    assert converse(module.plaintext(), split).outcome() == whole
