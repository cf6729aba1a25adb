"""Server text reaches the screen inert: no markup, no terminal escapes."""

from __future__ import annotations

from mailtui.lab.profiles import MARKUP_BANNER
from mailtui.model import Direction, TranscriptEvent
from mailtui.tui.render import Palette, literal, transcript_plain, transcript_text


def test_literal_keeps_markup_as_text_and_shows_escapes() -> None:
    text = literal(MARKUP_BANNER)
    assert "[@click=app.quit]x[/]" in text.plain
    assert "[bold red]pwned[/]" in text.plain
    assert "\x1b" not in text.plain and "\x07" not in text.plain
    assert "\\x1b[31m" in text.plain and "\\x07" in text.plain
    assert text.spans == [], "no style came from the server's text"


def test_literal_leaves_ordinary_text_alone() -> None:
    assert literal("250-AUTH PLAIN LOGIN\té").plain == "250-AUTH PLAIN LOGIN\té"


def test_transcript_tells_client_server_and_tls_apart() -> None:
    events = [
        TranscriptEvent(0.0, Direction.SERVER, "220 ready"),
        TranscriptEvent(1.0, Direction.CLIENT, "STARTTLS"),
        TranscriptEvent(2.0, Direction.NOTE, "TLS handshake done in 1.0 ms: TLSv1.3"),
        TranscriptEvent(3.0, Direction.CLIENT, "EHLO x"),
    ]
    lines = transcript_text(events, Palette()).plain.splitlines()
    assert lines[0].endswith("    S: 220 ready")
    assert lines[1].endswith("    C: STARTTLS")
    assert "══ TLS handshake done" in lines[2]
    assert lines[3].endswith("tls C: EHLO x")
    assert transcript_plain(events).splitlines()[1].endswith("C: STARTTLS")
