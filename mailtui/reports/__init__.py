"""Reports made from a `Scan`: nothing here imports Textual.

`render(scan, format)` is the one entry point the CLI and the app use; each
format lives in its own module and is imported only when asked for.
`write_atomically` puts a report (or any text) on disk so that a reader
never sees half a file, even if mailtui is killed while writing.
"""

from __future__ import annotations

import importlib
import os
import tempfile
from pathlib import Path

from mailtui.model import Scan

FORMATS: dict[str, tuple[str, str]] = {
    "table": ("mailtui.reports", "render_text_table"),
    "json": ("mailtui.reports.jsonreport", "render_json"),
    "markdown": ("mailtui.reports.markdown", "render_markdown"),
    "html": ("mailtui.reports.html", "render_html"),
    "csv": ("mailtui.reports.csvreport", "render_csv"),
}
"""Format name -> (module, function taking a Scan and returning text)."""

SUFFIXES = {"json": ".json", "markdown": ".md", "html": ".html", "csv": ".csv"}
"""The usual file name ending of each file format."""


def render_text_table(scan: Scan) -> str:
    """The terminal table with the findings worth a look, without colour."""
    from mailtui.model import Severity
    from mailtui.reports.table import render_findings, render_table

    text = render_table(scan.results)
    findings = render_findings(scan.results, minimum=Severity.WARNING)
    return text + "\n" + (f"\n{findings}\n" if findings else "")


def render(scan: Scan, format: str) -> str:
    """`scan` as text in `format` (one of `FORMATS`)."""
    try:
        module, function = FORMATS[format]
    except KeyError:
        known = ", ".join(FORMATS)
        raise ValueError(f"unknown report format {format!r} (known: {known})") from None
    text: str = getattr(importlib.import_module(module), function)(scan)
    return text


def format_for(path: Path) -> str | None:
    """The format a file name suggests by its ending, if any."""
    suffix = path.suffix.lower()
    if suffix in (".markdown", ".md"):
        return "markdown"
    if suffix in (".htm", ".html"):
        return "html"
    return {".json": "json", ".csv": "csv"}.get(suffix)


def write_atomically(path: Path, text: str) -> None:
    """Write `text` to `path` through a temporary file and a rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        # mkstemp makes the file private; give it the mode a plain open()
        # would have, or keep the one of the file it replaces.
        os.chmod(temp, _mode_for(path))
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


def _mode_for(path: Path) -> int:
    try:
        return path.stat().st_mode & 0o777
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


def write_report(scan: Scan, format: str, path: Path) -> None:
    """Render `scan` in `format` and write it to `path` atomically."""
    write_atomically(path, render(scan, format))
