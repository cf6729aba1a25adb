"""A footer that shows whole bindings only, as many as the width allows.

Textual's `Footer` lays every binding out in a row and lets the last one be
cut wherever the terminal ends ("f1 H"), which at 80 columns reads as a
glitch. This one measures each key and description before composing and
leaves out the ones that would not fit whole, from the end of the list;
they stay reachable by their keys and in the command palette. Help is
kept whatever the width, since it is the way to everything else.
"""

from __future__ import annotations

from rich.cells import cell_len
from textual import events
from textual.app import ComposeResult
from textual.widgets import Footer
from textual.widgets._footer import FooterKey

KEEP = {"help", "app.help"}
"""Actions shown even when the footer is full."""

_PALETTE_EXTRA = 3
"""The palette key is docked right with a border and padding."""


def key_width(key: FooterKey, compact: bool) -> int:
    """Cells a footer key takes, margins included."""
    if compact:
        return cell_len(key.key_display) + 1 + cell_len(key.description) + 1
    return cell_len(key.key_display) + 2 + cell_len(key.description) + 1


class FittingFooter(Footer):
    """`Footer`, minus the bindings that would be cut at the right edge."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._composed_width = 0

    def compose(self) -> ComposeResult:
        width = self.size.width or self.app.size.width
        self._composed_width = width
        keys = list(super().compose())
        used, full = 0, False
        for key in keys:
            if isinstance(key, FooterKey) and _reserved(key):
                used += key_width(key, self.compact)
                if key.has_class("-command-palette"):
                    used += _PALETTE_EXTRA
        for key in keys:
            if isinstance(key, FooterKey) and _reserved(key):
                yield key
                continue
            needed = key_width(key, self.compact) if isinstance(key, FooterKey) else 0
            # Stop at the first that does not fit, so the footer keeps the
            # bindings' order instead of filling gaps with later ones.
            full = full or used + needed > width
            if full:
                continue
            used += needed
            yield key

    def on_resize(self, event: events.Resize) -> None:
        if event.size.width != self._composed_width:
            self.refresh(recompose=True)


def _reserved(key: FooterKey) -> bool:
    return key.has_class("-command-palette") or key.action in KEEP
