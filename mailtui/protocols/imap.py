"""IMAP (RFC 3501, RFC 9051) with STARTTLS, sans-I/O.

The script is greeting, CAPABILITY, STARTTLS, CAPABILITY again over TLS,
LOGOUT. Most servers put their capability list in the greeting as a
`[CAPABILITY ...]` response code; it is used instead of asking, since the
greeting came over the same channel. The one in the tagged OK of STARTTLS
is not: it was sent in plaintext, so after TLS the list is always asked
for again (RFC 9051 6.2.1 tells clients to forget it).

Only the few responses these commands can produce are understood. IMAP
literals (`{n}`) cannot appear in them, so one is treated as a broken
server instead of being followed.
"""

from __future__ import annotations

import re
from enum import Enum

from mailtui.protocols.base import Dialogue, ProtocolError, snippet

_CAPABILITY_CODE = re.compile(r"\[CAPABILITY(?: ([^\]]*))?\]", re.IGNORECASE)
_LITERAL = re.compile(r"\{[0-9]+\+?\}$")
_STATUSES = ("OK", "NO", "BAD")


def capability_code(text: str) -> list[str] | None:
    """The tokens of a `[CAPABILITY ...]` code opening `text`, if any."""
    match = _CAPABILITY_CODE.match(text)
    if match is None:
        return None
    return (match[1] or "").split()


class _Waiting(Enum):
    GREETING = "greeting"
    CAPABILITY = "CAPABILITY"
    STARTTLS = "STARTTLS"


class ImapDialogue(Dialogue):
    """Greeting, CAPABILITY, STARTTLS, CAPABILITY over TLS, LOGOUT."""

    name = "IMAP"

    def _setup(self) -> None:
        self._waiting = _Waiting.GREETING
        self._tag = ""
        self._tags_used = 0
        self._listed: list[str] | None = None
        """The latest untagged CAPABILITY response to our command."""

    def _on_line(self, line: str) -> None:
        if _LITERAL.search(line):
            raise ProtocolError(f"unexpected IMAP literal: {snippet(line)}")
        if line == "*" or line.startswith("* "):
            self._on_untagged(line, line[2:])
        elif self._waiting is _Waiting.GREETING:
            raise self._not_mine(line)
        elif line.startswith("+"):
            raise ProtocolError(f"unexpected continuation: {snippet(line)}")
        else:
            self._on_tagged(line)

    def _on_untagged(self, line: str, rest: str) -> None:
        keyword, _, text = rest.partition(" ")
        keyword = keyword.upper()
        if self._waiting is _Waiting.GREETING:
            self._on_greeting(line, keyword, text)
        elif keyword == "BYE":
            # The server is closing the connection on us.
            self._temporary_failure(line)
        elif keyword == "CAPABILITY":
            self._listed = text.split()
        elif keyword == "OK" and self._waiting is _Waiting.CAPABILITY:
            self._listed = capability_code(text) or self._listed
        # Anything else untagged (ALERT, EXISTS...) does not matter here.

    def _on_greeting(self, line: str, keyword: str, text: str) -> None:
        self.facts.greeting = line
        if keyword == "BYE":
            self._temporary_failure(line)
            return
        if keyword not in ("OK", "PREAUTH"):
            raise self._not_mine(line)
        self.facts.preauth = keyword == "PREAUTH"
        offered = capability_code(text)
        if offered is None:
            self._ask_capabilities()
        else:
            self._capabilities_learned(offered)

    def _on_tagged(self, line: str) -> None:
        tag, _, rest = line.partition(" ")
        status, _, text = rest.partition(" ")
        status = status.upper()
        if status not in _STATUSES:
            raise self._not_mine(line)
        if tag.lower() != self._tag.lower():
            raise ProtocolError(f"reply to a command never sent: {snippet(line)}")

        if self._waiting is _Waiting.CAPABILITY:
            listed = self._listed
            if status == "OK" and listed is None:
                listed = capability_code(text)
            self._capabilities_learned(listed if status == "OK" and listed else [])
        else:
            self._starttls_answered(line, go_ahead=status == "OK")

    def _command(self, command: str, *, stage: str) -> None:
        self._tags_used += 1
        self._tag = f"a{self._tags_used}"
        self._send(f"{self._tag} {command}", stage=stage)

    def _ask_capabilities(self) -> None:
        self._listed = None
        self._command("CAPABILITY", stage="capabilities")
        self._waiting = _Waiting.CAPABILITY

    def _ask_starttls(self) -> None:
        self._command("STARTTLS", stage="starttls")
        self._waiting = _Waiting.STARTTLS

    def _goodbye(self) -> None:
        self._command("LOGOUT", stage="done")
        self._finish()
