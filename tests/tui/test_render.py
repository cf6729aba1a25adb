"""Server text reaches the screen inert: no markup, no terminal escapes."""

from __future__ import annotations

from dataclasses import replace

from mailtui.lab.profiles import MARKUP_BANNER
from mailtui.model import (
    Direction,
    Endpoint,
    ProbeResult,
    StartTls,
    State,
    TlsFacts,
    TranscriptEvent,
)
from mailtui.reports.facts import starttls_word
from mailtui.tui import render
from mailtui.tui.render import Palette, literal, transcript_plain, transcript_text
from mailtui.tui.widgets.grid import KEY_COLUMNS, column_widths


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


def _result(**changes: object) -> ProbeResult:
    endpoint = Endpoint("submission", "mail.example.test", 587)
    return replace(ProbeResult(endpoint, state=State.OPEN), **changes)


def test_cells_use_the_reports_words() -> None:
    palette = Palette()
    old = _result(tls=TlsFacts(version="TLSv1"))
    assert render.tls_version_cell(old, palette).plain == "1.0"
    refused = _result(starttls=StartTls(advertised=True), greeting="220 hi")
    broken = _result(starttls=StartTls(advertised=True, accepted=True))
    assert render.starttls_cell(refused, palette).plain == "refused"
    assert render.starttls_cell(broken, palette).plain == "broken"
    assert render.state_cell(_result(), palette).plain == "silent"
    for result in (old, refused, broken):
        assert render.starttls_cell(result, palette).plain in (
            starttls_word(result),
            "—",
        )


def test_a_lab_row_says_what_it_imitates() -> None:
    lab = Endpoint("imaps", "expired.broken.lab.test", 1993, label="")
    lab = replace(lab, label="lab:broken expired certificate (simulated)")
    assert render.what_of(lab) == "expired certificate"
    assert render.what_of(Endpoint("imaps", "imap.example.org", 993)) == (
        "imap.example.org"
    )


def test_key_columns_fit_in_80_columns() -> None:
    widths = column_widths(80)
    used = sum(widths[key] + 2 for key, _, _ in KEY_COLUMNS)
    assert used <= 80 - 2, widths
    assert widths["what"] >= 10
    assert column_widths(160)["what"] > widths["what"]


def test_the_tls_pane_shows_the_sweep_when_there_was_one() -> None:
    swept = _result(
        tls=TlsFacts(
            version="TLSv1.3",
            accepted_versions=["TLSv1", "TLSv1.2", "TLSv1.3"],
            not_tested=["SSLv3"],
            weak_ciphers={"3des": "DES-CBC3-SHA"},
            weak_not_tested=["rc4"],
        )
    )
    rows = dict(render.tls_rows(swept))
    assert rows["accepts"] == "TLS 1.0, TLS 1.2, TLS 1.3"
    assert rows["not tested"] == "SSL 3.0"
    assert rows["weak suites"] == "3des (DES-CBC3-SHA)"
    assert rows["weak untested"] == "rc4"
    unswept = dict(render.tls_rows(_result(tls=TlsFacts(version="TLSv1.3"))))
    assert unswept["accepts"].startswith("not swept")
