"""Server text is shown, never obeyed: controls and bidi overrides come out inert."""

from __future__ import annotations

import pytest

from mailtui.protocols.base import decode
from mailtui.reports.facts import inert

CASES = [
    ("220 ok\x1b[2J", "220 ok\\x1b[2J"),
    ("220 \x00\x07bell", "220 \\x00\\x07bell"),
    ("220 \x9b31m", "220 \\x9b31m"),
    # Right-to-left override and isolates reorder what follows them.
    ("220 \u202egnp.exe", "220 \\u202egnp.exe"),
    ("220 \u2066x\u2069 \u200f", "220 \\u2066x\\u2069 \\u200f"),
    ("220 caf\u00e9 \u4e2d\u6587", "220 caf\u00e9 \u4e2d\u6587"),
]


@pytest.mark.parametrize(("raw", "shown"), CASES)
def test_decode_and_inert_agree(raw: str, shown: str) -> None:
    assert decode(raw.encode()) == shown
    assert inert(raw) == shown


def test_inert_is_idempotent_on_its_own_output() -> None:
    for raw, shown in CASES:
        assert inert(inert(raw)) == shown
