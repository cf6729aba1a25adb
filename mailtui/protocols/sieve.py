"""ManageSieve (RFC 5804), sans-I/O.

ManageSieve needs no capability command: the greeting *is* the capability
list, one quoted line each, closed by OK. After STARTTLS the server sends
the list again unprompted (RFC 5804 2.2), so the script is greeting,
STARTTLS, the fresh list, LOGOUT.

Capabilities are stored as their quoted strings joined by a space, so
`"SASL" "PLAIN LOGIN"` becomes `SASL PLAIN LOGIN`, like the other
protocols' lists read.
"""

from __future__ import annotations

import re
from enum import Enum

from mailtui.protocols.base import MAX_REPLY_LINES, Dialogue, ProtocolError, snippet

_QUOTED = re.compile(r'"((?:[^"\\]|\\.)*)"', re.DOTALL)
_ESCAPE = re.compile(r"\\(.)", re.DOTALL)
_RESPONSE = re.compile(r"(OK|NO|BYE)(?: .*|$)", re.IGNORECASE | re.DOTALL)


def quoted_strings(text: str) -> list[str]:
    """The space-separated quoted strings making up `text`."""
    strings: list[str] = []
    position = 0
    while position < len(text):
        match = _QUOTED.match(text, position)
        if match is None:
            raise ProtocolError(f"malformed ManageSieve line: {snippet(text)}")
        strings.append(_ESCAPE.sub(r"\1", match[1]))
        position = match.end()
        if position < len(text):
            if text[position] != " ":
                raise ProtocolError(f"malformed ManageSieve line: {snippet(text)}")
            position += 1
    return strings


def capability(line: str) -> str:
    """`"NAME" "value"` as `NAME value`; `"NAME"` as `NAME`."""
    strings = quoted_strings(line)
    if not 1 <= len(strings) <= 2:
        raise ProtocolError(f"malformed capability: {snippet(line)}")
    return " ".join(s for s in strings if s)


class _Waiting(Enum):
    GREETING = "greeting"
    STARTTLS = "STARTTLS"
    CAPABILITIES = "capabilities"


class SieveDialogue(Dialogue):
    """Greeting with capabilities, STARTTLS, capabilities over TLS, LOGOUT."""

    name = "ManageSieve"

    def _setup(self) -> None:
        self._waiting = _Waiting.GREETING
        self._capabilities: list[str] = []

    def _on_line(self, line: str) -> None:
        if line.startswith('"') and self._waiting is _Waiting.STARTTLS:
            raise ProtocolError(f"unexpected reply to STARTTLS: {snippet(line)}")
        if line.startswith('"'):
            self._capabilities.append(capability(line))
            if len(self._capabilities) > MAX_REPLY_LINES:
                raise ProtocolError(f"reply of more than {MAX_REPLY_LINES} lines")
            return
        if _RESPONSE.fullmatch(line) is None:
            raise self._not_mine(line)

        ok = line[:2].upper() == "OK"
        bye = line[:3].upper() == "BYE"
        if self._waiting is _Waiting.STARTTLS:
            if bye:
                # The server hangs up: no TLS, and no point in LOGOUT.
                self.facts.starttls_response = line
                self._finish()
            else:
                self._starttls_answered(line, go_ahead=ok)
            return

        if self._waiting is _Waiting.GREETING:
            self.facts.greeting = line
        if not ok:
            self._temporary_failure(line)
            return
        capabilities, self._capabilities = self._capabilities, []
        self._capabilities_learned(capabilities)

    def _on_tls(self) -> None:
        # RFC 5804 2.2: the server speaks first after the handshake.
        self._capabilities = []
        self._waiting = _Waiting.CAPABILITIES
        self._stage = "capabilities"

    def _ask_capabilities(self) -> None:
        self._send("CAPABILITY", stage="capabilities")
        self._waiting = _Waiting.CAPABILITIES

    def _ask_starttls(self) -> None:
        self._send("STARTTLS", stage="starttls")
        self._waiting = _Waiting.STARTTLS

    def _goodbye(self) -> None:
        self._send("LOGOUT", stage="done")
        self._finish()
