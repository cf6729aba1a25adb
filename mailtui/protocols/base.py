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

Lines are capped at `MAX_LINE` bytes: a longer line is dropped, flagged as a
protocol error and the dialogue ends, so a hostile server cannot make us
buffer without bound. Replies are assembled from lines, never from reads:
a reply split over many packets parses the same as one read.

Anything the server says after the STARTTLS go-ahead, before the handshake,
is never parsed: it is kept in `dialogue.injected` as evidence of a
plaintext injection (the attack of CVE-2011-0411 and its many cousins),
and the line buffer starts empty once TLS is up.

Writing a protocol
------------------

`Dialogue` does the buffering, the cap, the injection guard and the
bookkeeping of `facts`. A subclass only reacts to one decoded line at a
time in `_on_line()`, queueing commands with `_send()` and moving the
script on with the helpers below (`_capabilities_learned()`, `_go_ahead()`,
`_goodbye()`, `_fail()`...). A parser that meets bytes that are not its
protocol raises `ProtocolError`; the base turns that into
`facts.protocol_error` and ends the dialogue, so no server text can make a
dialogue raise.
"""

from __future__ import annotations

import re
from collections import deque
from dataclasses import dataclass, field
from enum import Enum

MAX_LINE = 8192
"""Longest server line accepted, in bytes, terminator included."""

MAX_REPLY_LINES = 1000
"""Longest multi-line reply accepted before the server is called broken."""

MAX_INJECTED = 65536
"""Plaintext kept after a STARTTLS go-ahead; enough to show, not to hoard."""

SNIPPET = 80
"""Characters of an unexpected line quoted in a protocol error."""


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
    refused: str | None = None
    """A permanent "no service here" (SMTP 554 greeting, POP3 [SYS/PERM]).

    `protocol_error` is set as well, since the script could not run; this
    field keeps the server's own words apart from real protocol breakage.
    """
    preauth: bool = False
    """IMAP only: the greeting was PREAUTH, logged in before any TLS."""


class ProtocolError(Exception):
    """Raised by reply parsers for bytes that are not the protocol."""


class LineBuffer:
    """Splits a byte stream into lines, with a cap on each line's length.

    Accepts CRLF and bare LF, since real servers send both. Lines can be
    taken one at a time (`push()` then `pop_line()`), so that a caller can
    stop at any line and keep the rest of the stream as raw bytes.
    """

    def __init__(self, max_line: int = MAX_LINE) -> None:
        self._buffer = bytearray()
        self._start = 0
        """Where the unread part of `_buffer` begins; compacted on push."""
        self._max_line = max_line
        self.overflowed = False
        """Set when a line longer than the cap arrived; it is then dropped."""

    def push(self, data: bytes) -> None:
        """Add bytes from the stream."""
        del self._buffer[: self._start]
        self._start = 0
        self._buffer += data

    def pop_line(self) -> bytes | None:
        """The next complete line without its terminator, or None.

        Overlong lines are skipped (and `overflowed` set), so the line
        returned after an overflow is the one that followed it.
        """
        while True:
            end = self._buffer.find(b"\n", self._start)
            if end < 0:
                if len(self._buffer) - self._start >= self._max_line:
                    # No terminator can make this tail fit any more.
                    self.overflowed = True
                    self._buffer.clear()
                    self._start = 0
                return None
            line = bytes(self._buffer[self._start : end])
            self._start = end + 1
            if len(line) + 1 > self._max_line:
                self.overflowed = True
                continue
            return line.removesuffix(b"\r")

    def feed(self, data: bytes) -> list[bytes]:
        """Add `data` and return the complete lines, without terminators."""
        self.push(data)
        lines: list[bytes] = []
        while (line := self.pop_line()) is not None:
            lines.append(line)
        return lines

    @property
    def pending(self) -> bytes:
        """Bytes received but not yet taken as a line."""
        return bytes(self._buffer[self._start :])

    def take_pending(self) -> bytes:
        """Return and forget everything not yet taken as a line."""
        data = self.pending
        self._buffer.clear()
        self._start = 0
        return data


# C0 and C1 controls (but tab and newline) would drive the terminal that
# shows a transcript, so they are written out as \xNN instead. The Unicode
# bidirectional controls would let a banner reorder what is displayed
# around it (the "Trojan Source" trick), so they are written out as \uNNNN.
_CONTROLS = {
    c: f"\\x{c:02x}"
    for c in (*range(0x20), *range(0x7F, 0xA0))
    if c not in (0x09, 0x0A)
} | {
    c: f"\\u{c:04x}"
    for c in (0x061C, 0x200E, 0x200F, *range(0x202A, 0x202F), *range(0x2066, 0x206A))
}


def decode(line: bytes) -> str:
    """Server bytes as text, never failing.

    Invalid UTF-8 becomes U+FFFD and control characters (NUL, ESC, a lone
    CR...) are escaped as ``\\xNN``, so the result is safe to print or to
    show. A line has no newline; a longer stretch of bytes (the injected
    plaintext) keeps its line breaks, CRLF read as LF.
    """
    text = line.decode("utf-8", errors="replace").replace("\r\n", "\n")
    return text.translate(_CONTROLS)


def snippet(text: str) -> str:
    """`text` quoted for an error message, cut to about `SNIPPET` chars."""
    if len(text) > SNIPPET:
        text = text[: SNIPPET - 3] + "..."
    return repr(text)


_SMTP_LIKE = re.compile(r"[2-5][0-9]{2}([ -]|$)")

_LOOKALIKES: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("SSH", re.compile(r"SSH-")),
    ("HTTP", re.compile(r"HTTP/", re.IGNORECASE)),
    ("SMTP", _SMTP_LIKE),
    ("POP3", re.compile(r"(\+OK|-ERR)( |$)", re.IGNORECASE)),
    ("IMAP", re.compile(r"\* (OK|PREAUTH|BYE)( |$)", re.IGNORECASE)),
    ("ManageSieve", re.compile(r'"IMPLEMENTATION"|"SIEVE"', re.IGNORECASE)),
)


def not_this_protocol(protocol: str, line: str) -> str:
    """The protocol error for a line that is not `protocol`.

    Names the protocol the line looks like, when it is a well-known
    banner, because a wrong service on a custom port is a common mistake.
    """
    article = "an" if protocol in ("SMTP", "IMAP") else "a"
    what = f"not {article} {protocol} reply"
    for name, pattern in _LOOKALIKES:
        if name != protocol and pattern.match(line):
            return f"{what}, looks like {name}: {snippet(line)}"
    return f"{what}: {snippet(line)}"


class _Phase(Enum):
    TALKING = "talking"
    UPGRADING = "upgrading"
    """The go-ahead arrived; waiting for `tls_started()`."""
    DONE = "done"


class Dialogue:
    """Base of the per-protocol dialogues; see the module docstring.

    Subclasses implement `_on_line()` and the protocol's three commands
    (`_ask_capabilities()`, `_ask_starttls()`, `_goodbye()`); the line
    buffering, the line cap and the STARTTLS bookkeeping live here.
    """

    name = "base"
    """The protocol's name as error messages spell it ("SMTP", "IMAP")."""

    def __init__(
        self,
        *,
        tls_active: bool,
        try_starttls: bool,
        client_name: str = "mailtui.localhost",
    ) -> None:
        if not client_name or any(
            c.isspace() or not c.isprintable() for c in client_name
        ):
            # It goes on the wire inside a command line.
            raise ValueError(f"client name must be one printable word: {client_name!r}")
        self.tls_active = tls_active
        """True once the connection is TLS (from the start, or upgraded)."""
        self.try_starttls = try_starttls and not tls_active
        self.client_name = client_name
        self.facts = DialogueFacts()
        self.injected = b""
        """Bytes that followed the STARTTLS go-ahead in plaintext."""
        self._lines = LineBuffer()
        self._outbox: deque[Send] = deque()
        self._phase = _Phase.TALKING
        self._stage = "greeting"
        self._seen_bytes = False
        self._setup()

    def _setup(self) -> None:
        """Set up the subclass's own state; called at the end of __init__."""

    # -- the engine's side -------------------------------------------------

    def next_action(self) -> Action:
        """What the engine should do now; see the module docstring."""
        if self._outbox:
            return self._outbox.popleft()
        if self._phase is _Phase.DONE:
            return Done()
        if self._phase is _Phase.UPGRADING:
            return UpgradeTls()
        return NeedData(self._stage)

    def receive(self, data: bytes) -> list[str]:
        """Feed bytes from the server; return the complete lines, decoded.

        Never raises: whatever the bytes, the worst outcome is a
        `protocol_error` and a dialogue that is done.
        """
        if self._phase is _Phase.UPGRADING:
            self._keep_injected(data)
            return []
        if not data:
            return []
        if not self._seen_bytes and self._phase is _Phase.TALKING:
            self._seen_bytes = True
            if not self.tls_active and data[0] in (0x15, 0x16):
                # 0x16 opens a TLS handshake record and 0x15 an alert.
                self._fail("server speaks TLS on a plaintext port")
                return []

        self._lines.push(data)
        shown: list[str] = []
        while self._phase is not _Phase.UPGRADING:
            raw = self._lines.pop_line()
            if self._lines.overflowed and self._phase is _Phase.TALKING:
                self._fail(f"line longer than {MAX_LINE} bytes")
            if raw is None:
                break
            text = decode(raw)
            shown.append(text)
            if self._phase is _Phase.TALKING:
                self._handle(text)

        if self._phase is _Phase.UPGRADING:
            self._keep_injected(self._lines.take_pending())
        return shown

    def connection_closed(self) -> None:
        """The server closed the connection (EOF)."""
        if self._phase is not _Phase.DONE:
            self.facts.closed_early = True
        self._phase = _Phase.DONE
        # Nothing can be written to a closed connection.
        self._outbox.clear()

    def tls_started(self) -> None:
        """The engine finished the handshake after `UpgradeTls`."""
        if self._phase is not _Phase.UPGRADING:
            return
        self.tls_active = True
        self._lines = LineBuffer()
        self._phase = _Phase.TALKING
        self._stage = "capabilities"
        self._on_tls()

    @property
    def done(self) -> bool:
        """True once the script is over (a goodbye may still be queued)."""
        return self._phase is _Phase.DONE

    # -- the protocol's side -----------------------------------------------

    def _on_line(self, line: str) -> None:  # pragma: no cover - abstract
        """React to one complete, decoded server line."""
        raise NotImplementedError

    def _ask_capabilities(self) -> None:  # pragma: no cover - abstract
        """Send the capability command and wait for its reply."""
        raise NotImplementedError

    def _ask_starttls(self) -> None:  # pragma: no cover - abstract
        """Send STARTTLS (STLS) and wait for its reply."""
        raise NotImplementedError

    def _goodbye(self) -> None:  # pragma: no cover - abstract
        """Queue QUIT or LOGOUT and end the script without waiting."""
        raise NotImplementedError

    def _on_tls(self) -> None:
        """TLS is up: by default, ask for the capabilities again."""
        self._ask_capabilities()

    # -- helpers for subclasses ----------------------------------------------

    def _handle(self, line: str) -> None:
        try:
            self._on_line(line)
        except ProtocolError as error:
            self._fail(str(error))

    def _send(self, text: str, *, stage: str) -> None:
        """Queue a command line and say what its reply will be."""
        self._outbox.append(Send((text + "\r\n").encode(), text))
        self._stage = stage

    def _finish(self) -> None:
        self._phase = _Phase.DONE

    def _fail(self, message: str) -> None:
        """The server broke the protocol: record why and stop talking."""
        if self.facts.protocol_error is None:
            self.facts.protocol_error = message
        self._finish()

    def _temporary_failure(self, reply: str) -> None:
        """The server said "try later": record it and stop talking."""
        self.facts.temporary_failure = reply
        self._finish()

    def _refused(self, reply: str) -> None:
        """The server said "never here": record it and stop talking."""
        self.facts.refused = reply
        self._fail(f"refused: {reply}")

    def _not_mine(self, line: str) -> ProtocolError:
        return ProtocolError(not_this_protocol(self.name, line))

    def _capabilities_learned(self, capabilities: list[str]) -> None:
        """Record a capability list, then STARTTLS or goodbye."""
        if self.tls_active:
            self.facts.capabilities_after = capabilities
            self._goodbye()
            return
        self.facts.capabilities_before = capabilities
        self.facts.starttls_advertised = any(
            self._names_starttls(c) for c in capabilities
        )
        if self.try_starttls:
            self.facts.starttls_tried = True
            self._ask_starttls()
        else:
            self._goodbye()

    def _names_starttls(self, capability: str) -> bool:
        """Whether one capability advertises STARTTLS (POP3 says STLS)."""
        keyword = capability.split(maxsplit=1)[0] if capability.strip() else ""
        return keyword.upper() == "STARTTLS"

    def _starttls_answered(self, reply: str, *, go_ahead: bool) -> None:
        """Record the reply to STARTTLS; upgrade or say goodbye."""
        self.facts.starttls_response = reply
        if go_ahead:
            self.facts.starttls_accepted = True
            self._phase = _Phase.UPGRADING
            self._stage = "handshake"
        else:
            self._goodbye()

    def _keep_injected(self, data: bytes) -> None:
        room = MAX_INJECTED - len(self.injected)
        if room > 0:
            self.injected += data[:room]
