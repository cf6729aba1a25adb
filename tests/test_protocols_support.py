"""A scripted server for the dialogue tests: bytes in, no sockets.

`converse()` plays the engine's loop against a list of server chunks, so a
test states what the server says and checks what the client sent and
learned. It holds no tests itself.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field

from mailtui.protocols import Dialogue, Done, NeedData, Send, UpgradeTls
from mailtui.protocols.base import DialogueFacts


@dataclass
class Conversation:
    """What happened when a dialogue met a scripted server."""

    dialogue: Dialogue
    sent: list[str] = field(default_factory=list)
    """The client's lines, as the transcript shows them."""
    wire: bytes = b""
    """Every byte the client wrote."""
    shown: list[str] = field(default_factory=list)
    """The server lines `receive()` returned, in order."""
    stages: list[str] = field(default_factory=list)
    upgrades: int = 0
    eof: bool = False
    """The script ran out and the dialogue was told the server closed."""

    @property
    def facts(self) -> DialogueFacts:
        return self.dialogue.facts

    def outcome(self) -> tuple[object, ...]:
        """Everything observable, for comparing two runs."""
        return (
            self.sent,
            self.wire,
            self.shown,
            self.upgrades,
            self.dialogue.facts,
            self.dialogue.injected,
        )


def converse(dialogue: Dialogue, chunks: Iterable[bytes]) -> Conversation:
    """Run the engine loop, one chunk per read, EOF when chunks run out."""
    pending = deque(chunks)
    talk = Conversation(dialogue)
    for _ in range(100_000):
        action = dialogue.next_action()
        match action:
            case Send(data, text):
                assert data == text.encode() + b"\r\n"
                talk.sent.append(text)
                talk.wire += data
            case NeedData(stage):
                talk.stages.append(stage)
                if pending:
                    talk.shown += dialogue.receive(pending.popleft())
                else:
                    talk.eof = True
                    dialogue.connection_closed()
            case UpgradeTls():
                talk.upgrades += 1
                dialogue.tls_started()
            case Done():
                assert dialogue.next_action() == Done()
                return talk
    raise AssertionError("dialogue never finished")


def split_each(replies: list[bytes], size: int) -> list[bytes]:
    """Every reply cut into pieces of `size` bytes, one read each."""
    return [
        reply[i : i + size] for reply in replies for i in range(0, len(reply), size)
    ]


def split_one(replies: list[bytes], index: int, at: int) -> list[bytes]:
    """The replies with reply `index` cut in two at byte `at`."""
    reply = replies[index]
    return [*replies[:index], reply[:at], reply[at:], *replies[index + 1 :]]


def boundary_cases(replies: list[bytes]) -> Iterable[list[bytes]]:
    """Each reply split in two at every possible byte boundary."""
    for index, reply in enumerate(replies):
        for at in range(1, len(reply)):
            yield split_one(replies, index, at)
