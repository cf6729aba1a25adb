"""The headless command as a script sees it: exit codes, one-line errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest


def mailtui(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mailtui", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["scan", "gopher://example.org"], "unknown service 'gopher'"),
        (["scan", "imaps://example.org:0"], "port out of range"),
        (["scan", "imaps://example.org:70000"], "port out of range"),
        (["scan", "mail example.org"], "cannot contain spaces"),
        # The resolver would read a lone port as the address 0.0.3.225.
        (["scan", "993"], "'993' is a port, not a host"),
        (["scan"], "nothing to scan"),
        (["scan", "example.org", "--resolve", "example.org"], "--resolve wants"),
        (["scan", "example.org", "--timeout", "0"], "--timeout must be"),
        (["scan", "example.org", "--ehlo", "a b"], "--ehlo wants"),
        (["scan", "example.org", "--bogus"], "unrecognized arguments"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(args: list[str], message: str) -> None:
    done = mailtui(*args)
    assert done.returncode == 2
    assert message in done.stderr
    assert "Traceback" not in done.stderr
    assert done.stderr.count("\n") == 1
    assert done.stdout == ""


def test_unreadable_ca_files(tmp_path: Path) -> None:
    not_pem = tmp_path / "junk.pem"
    not_pem.write_text("hello\n")
    empty = tmp_path / "empty.pem"
    empty.write_text("")
    for path in (tmp_path / "missing.pem", not_pem, empty, tmp_path):
        done = mailtui("scan", "imaps://127.0.0.1:1", "--ca-file", str(path))
        assert done.returncode == 2, path
        assert "Traceback" not in done.stderr
        assert done.stderr.startswith("mailtui: error:")


def test_a_name_that_does_not_resolve() -> None:
    done = mailtui("scan", "imaps://nonexistent.invalid", "--json")
    assert done.returncode == 2
    assert "nothing could be scanned" in done.stderr
    [endpoint] = json.loads(done.stdout)["endpoints"]
    assert endpoint["state"] == "unresolved"
    assert endpoint["verdict"] == "unreachable"


def test_refused_port_is_reported_not_raised() -> None:
    done = mailtui("scan", "imaps://127.0.0.1:1", "pop3://[::1]:1")
    assert done.returncode == 2
    assert "refused" in done.stdout
    assert "Traceback" not in done.stderr


def test_headless_scan_never_imports_textual() -> None:
    code = (
        "import sys, io, contextlib\n"
        "from mailtui.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    main(['scan', 'imaps://127.0.0.1:1', '--json'])\n"
        "loaded = sorted(m for m in sys.modules if m.split('.')[0] in "
        "('textual', 'mailtui.tui'))\n"
        "print(loaded)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60
    )
    assert done.stdout.strip() == "[]", done.stderr
