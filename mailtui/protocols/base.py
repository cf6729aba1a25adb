"""The contract between a sans-I/O mail dialogue and the probe engine.

Theory of operation
-------------------

A dialogue knows one protocol and nothing about sockets. The engine owns the
connection and runs this loop::

    while True:
        action = dialogue.next_action()
        match action:
            case Send(data):   write data to the connection
            case NeedData():   read some bytes; dialogue.receive(data), or
                               dialogue.connection_closed() on EOF
            case UpgradeTls(): do the TLS handshake, then
                               dialogue.tls_started() (or stop on failure)
            case Done():       close the connection; the probe is over

The dialogue is created knowing whether the connection is already TLS
(implicit TLS) and whether it should try STARTTLS. Its script is always the
same, and as short as the protocol allows:

1. read the greeting;
2. ask for capabilities;
3. on a plaintext connection, send STARTTLS *even when it was not
   advertised* (servers exist that accept it silently), and on a go-ahead
   ask the engine to upgrade;
4. after TLS, ask for capabilities again (never carried over);
5. say goodbye and be done, without waiting for the answer.

What it learned is in `dialogue.facts`. Every complete line the server sent
is returned by `receive()` for the transcript, in order.

Lines are capped at `MAX_LINE` bytes: a longer line is cut, flagged as a
protocol error and the dialogue ends, so a hostile server cannot make us
buffer without bound. Replies are assembled from lines, never from reads:
a reply split over many packets parses the same as one read.
"""

from __future__ import annotations

from dataclasses import dataclass, field

MAX_LINE = 8192
"""Longest server line accepted, in bytes, terminator included."""

MAX_REPLY_LINES = 1000
"""Longest multi-line reply accepted before the server is called broken."""


@dataclass(frozen=True)
class Send:
    """Write these bytes; `text` is what the transcript shows."""

    data: bytes
    text: str


@dataclass(frozen=True)
class NeedData:
    """Read from the connection and feed `receive()`."""

    stage: str
    """What we are waiting for: "greeting", "capabilities", "starttls"."""


@dataclass(frozen=True)
class UpgradeTls:
    """The server said go ahead: start the TLS handshake now."""


@dataclass(frozen=True)
class Done:
    """Nothing more to say; close the connection."""


Action = Send | NeedData | UpgradeTls | Done


@dataclass
class DialogueFacts:
    """What a dialogue learned; copied into the `ProbeResult` by the engine."""

    greeting: str | None = None
    capabilities_before: list[str] = field(default_factory=list)
    capabilities_after: list[str] | None = None
    starttls_advertised: bool = False
    starttls_tried: bool = False
    starttls_accepted: bool = False
    starttls_response: str | None = None
    temporary_failure: str | None = None
    """The server said "try later" (SMTP 421, ...): not a TLS failure."""
    protocol_error: str | None = None
    """The server said something that is not this protocol."""
    closed_early: bool = False
    """The server closed the connection before the script ended."""


class ProtocolError(Exception):
    """Raised by reply parsers for bytes that are not the protocol."""


class LineBuffer:
    """Splits a byte stream into lines, with a cap on each line's length.

    Accepts CRLF and bare LF, since real servers send both.
    """

    def __init__(self, max_line: int = MAX_LINE) -> None:
        self._buffer = bytearray()
        self._max_line = max_line
        self.overflowed = False
        """Set when a line longer than the cap arrived; it is then dropped."""

    def feed(self, data: bytes) -> list[bytes]:
        """Add `data` and return the complete lines, without terminators."""
        self._buffer += data
        lines: list[bytes] = []
        while True:
            end = self._buffer.find(b"\n")
            if end < 0:
                break
            line = bytes(self._buffer[:end])
            del self._buffer[: end + 1]
            if len(line) + 1 > self._max_line:
                self.overflowed = True
                continue
            lines.append(line.removesuffix(b"\r"))
        if len(self._buffer) > self._max_line:
            self.overflowed = True
            self._buffer.clear()
        return lines

    @property
    def pending(self) -> bytes:
        """Bytes received but not yet part of a complete line."""
        return bytes(self._buffer)

    def take_pending(self) -> bytes:
        """Return and forget the incomplete tail."""
        data = bytes(self._buffer)
        self._buffer.clear()
        return data


def decode(line: bytes) -> str:
    """Server bytes as text, never failing: invalid UTF-8 is replaced."""
    return line.decode("utf-8", errors="replace")


class Dialogue:
    """Base of the per-protocol dialogues; see the module docstring.

    Subclasses implement `next_action()` and `_on_line()`; the line
    buffering, the line cap and the STARTTLS bookkeeping live here.
    """

    name = "base"

    def __init__(
        self,
        *,
        tls_active: bool,
        try_starttls: bool,
        client_name: str = "mailtui.localhost",
    ) -> None:
        self.tls_active = tls_active
        """True once the connection is TLS (from the start, or upgraded)."""
        self.try_starttls = try_starttls and not tls_active
        self.client_name = client_name
        self.facts = DialogueFacts()
        self.injected = b""
        """Bytes that followed the STARTTLS go-ahead in plaintext."""
        self._lines = LineBuffer()

    def next_action(self) -> Action:  # pragma: no cover - abstract
        raise NotImplementedError

    def receive(self, data: bytes) -> list[str]:
        """Feed bytes from the server; return the complete lines, decoded."""
        raise NotImplementedError  # pragma: no cover - abstract

    def connection_closed(self) -> None:
        """The server closed the connection (EOF)."""
        raise NotImplementedError  # pragma: no cover - abstract

    def tls_started(self) -> None:
        """The engine finished the handshake after `UpgradeTls`."""
        raise NotImplementedError  # pragma: no cover - abstract
