"""POP3 (RFC 1939) with CAPA (RFC 2449) and STLS (RFC 2595), sans-I/O.

The script is greeting, CAPA, STLS, CAPA again over TLS, QUIT. POP3 has
only two answers, +OK and -ERR; a server without CAPA simply reports no
capabilities. The extended response codes of RFC 3206 tell a permanent
refusal ([SYS/PERM]) from a passing one.
"""

from __future__ import annotations

import re
from enum import Enum

from mailtui.protocols.base import MAX_REPLY_LINES, Dialogue, ProtocolError

_STATUS = re.compile(r"([+]OK|-ERR)(?: (.*)|$)", re.IGNORECASE | re.DOTALL)


def parse_status(line: str) -> tuple[bool, str] | None:
    """(True for +OK, the text after it), or None if not a status line."""
    match = _STATUS.fullmatch(line)
    if match is None:
        return None
    return match[1].upper() == "+OK", match[2] or ""


class _Waiting(Enum):
    GREETING = "greeting"
    CAPA = "CAPA"
    CAPA_LIST = "CAPA list"
    STLS = "STLS"


class Pop3Dialogue(Dialogue):
    """Greeting, CAPA, STLS, CAPA over TLS, QUIT."""

    name = "POP3"

    def _setup(self) -> None:
        self._waiting = _Waiting.GREETING
        self._capabilities: list[str] = []
        self._listed = 0
        """Lines of the CAPA list so far, blank ones included."""

    def _on_line(self, line: str) -> None:
        if self._waiting is _Waiting.CAPA_LIST:
            self._on_capability(line)
            return

        status = parse_status(line)
        if status is None:
            raise self._not_mine(line)
        ok, text = status
        match self._waiting:
            case _Waiting.GREETING:
                self._on_greeting(line, ok, text)
            case _Waiting.CAPA:
                if ok:
                    self._waiting = _Waiting.CAPA_LIST
                else:
                    # CAPA is optional (RFC 2449): an old server, no list.
                    self._capabilities_learned([])
            case _Waiting.STLS:
                self._starttls_answered(line, go_ahead=ok)

    def _on_greeting(self, line: str, ok: bool, text: str) -> None:
        self.facts.greeting = line
        if ok:
            self._ask_capabilities()
        elif "[SYS/PERM]" in text.upper():
            self._refused(line)
        else:
            # Most -ERR greetings are "too many connections" or "busy".
            self._temporary_failure(line)

    def _on_capability(self, line: str) -> None:
        if line == ".":
            capabilities, self._capabilities = self._capabilities, []
            self._listed = 0
            self._capabilities_learned(capabilities)
            return
        # Dot-stuffing (RFC 1939 3): a leading dot is doubled on the wire.
        if line.startswith("."):
            line = line[1:]
        self._listed += 1
        if self._listed > MAX_REPLY_LINES:
            raise ProtocolError(f"reply of more than {MAX_REPLY_LINES} lines")
        if line.strip():
            self._capabilities.append(line.strip())

    def _names_starttls(self, capability: str) -> bool:
        words = capability.split(maxsplit=1)
        return bool(words) and words[0].upper() in ("STLS", "STARTTLS")

    def _ask_capabilities(self) -> None:
        self._send("CAPA", stage="capabilities")
        self._waiting = _Waiting.CAPA

    def _ask_starttls(self) -> None:
        self._send("STLS", stage="starttls")
        self._waiting = _Waiting.STLS

    def _goodbye(self) -> None:
        self._send("QUIT", stage="done")
        self._finish()
