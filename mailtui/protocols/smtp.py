"""SMTP (RFC 5321) and its STARTTLS extension (RFC 3207), sans-I/O.

The script is greeting, EHLO, STARTTLS, EHLO again over TLS, QUIT. A
server that refuses EHLO gets HELO, which works but lists no extensions.
Reply codes decide everything: 4xx means "try later" and is kept apart
from a TLS failure, 5xx to the greeting means "no service here".
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum

from mailtui.protocols.base import (
    MAX_REPLY_LINES,
    Dialogue,
    ProtocolError,
    snippet,
)

_LINE = re.compile(r"([0-9]{3})([ -]|$)(.*)", re.DOTALL)


@dataclass(frozen=True)
class Reply:
    """One complete SMTP reply, possibly of many lines."""

    code: int
    texts: list[str]
    """Each line's text after the code and separator."""
    lines: list[str]
    """The lines as sent, for the facts and the transcript."""

    @property
    def text(self) -> str:
        return "\n".join(self.lines)

    @property
    def kind(self) -> int:
        """The first digit: 2 done, 3 go on, 4 try later, 5 never."""
        return self.code // 100


def parse_line(line: str) -> tuple[int, bool, str]:
    """Split a reply line into (code, more lines follow, text)."""
    match = _LINE.fullmatch(line)
    if match is None:
        raise ProtocolError(f"malformed reply line: {snippet(line)}")
    return int(match[1]), match[2] == "-", match[3]


class _Waiting(Enum):
    GREETING = "greeting"
    EHLO = "EHLO"
    HELO = "HELO"
    STARTTLS = "STARTTLS"


class SmtpDialogue(Dialogue):
    """Greeting, EHLO, STARTTLS, EHLO over TLS, QUIT."""

    name = "SMTP"

    def _setup(self) -> None:
        self._waiting = _Waiting.GREETING
        self._codes: list[int] = []
        self._texts: list[str] = []
        self._raw: list[str] = []

    def _on_line(self, line: str) -> None:
        try:
            code, more, text = parse_line(line)
        except ProtocolError:
            if not self._raw:
                raise self._not_mine(line) from None
            raise
        if self._codes and code != self._codes[0]:
            raise ProtocolError(
                f"reply code changed from {self._codes[0]} to {code} mid-reply"
            )
        self._codes.append(code)
        self._texts.append(text)
        self._raw.append(line)
        if len(self._raw) > MAX_REPLY_LINES:
            raise ProtocolError(f"reply of more than {MAX_REPLY_LINES} lines")
        if more:
            return

        reply = Reply(code, self._texts, self._raw)
        self._codes, self._texts, self._raw = [], [], []
        self._on_reply(reply)

    def _on_reply(self, reply: Reply) -> None:
        if reply.code == 421 or (
            reply.kind == 4 and self._waiting is not _Waiting.STARTTLS
        ):
            # 421 is the server closing the channel, whatever was asked.
            if self._waiting is _Waiting.GREETING:
                self.facts.greeting = reply.text
            elif self._waiting is _Waiting.STARTTLS:
                self.facts.starttls_response = reply.text
            self._temporary_failure(reply.text)
            return

        match self._waiting:
            case _Waiting.GREETING:
                self._on_greeting(reply)
            case _Waiting.EHLO:
                self._on_ehlo(reply)
            case _Waiting.HELO:
                self._on_helo(reply)
            case _Waiting.STARTTLS:
                # Anything but 220, 454 included, means no TLS here; it is
                # a TLS failure, not the whole service saying "later".
                self._starttls_answered(reply.text, go_ahead=reply.code == 220)

    def _on_greeting(self, reply: Reply) -> None:
        self.facts.greeting = reply.text
        if reply.code == 220:
            self._ask_capabilities()
        elif reply.kind == 5:
            # RFC 5321 4.3.2: a 554 greeting still expects a QUIT.
            self._refused(reply.text)
            self._goodbye()
        else:
            raise ProtocolError(f"unexpected greeting: {snippet(reply.text)}")

    def _on_ehlo(self, reply: Reply) -> None:
        if reply.kind == 2:
            # The first line names the server; the others are extensions.
            extensions = [t.strip() for t in reply.texts[1:] if t.strip()]
            self._capabilities_learned(extensions)
        elif reply.kind == 5:
            self._send(f"HELO {self.client_name}", stage="capabilities")
            self._waiting = _Waiting.HELO
        else:
            raise ProtocolError(f"unexpected reply to EHLO: {snippet(reply.text)}")

    def _on_helo(self, reply: Reply) -> None:
        if reply.kind == 2:
            self._capabilities_learned([])
        elif reply.kind == 5:
            self._refused(reply.text)
            self._goodbye()
        else:
            raise ProtocolError(f"unexpected reply to HELO: {snippet(reply.text)}")

    def _ask_capabilities(self) -> None:
        self._send(f"EHLO {self.client_name}", stage="capabilities")
        self._waiting = _Waiting.EHLO

    def _ask_starttls(self) -> None:
        self._send("STARTTLS", stage="starttls")
        self._waiting = _Waiting.STARTTLS

    def _goodbye(self) -> None:
        self._send("QUIT", stage="done")
        self._finish()
