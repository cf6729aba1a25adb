"""The README's first command, as a person runs it: `mailtui demo` in a terminal.

The pilot tests build the app in-process; this one starts the real command
on a pseudo-terminal, waits for the grid and for the lab's verdicts to
appear, then quits with ctrl+q and expects a clean exit: what the README
promises works from the entry point down.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import pty
import select
import signal
import struct
import sys
import termios
import time

import pytest


def read_until(fd: int, marks: list[bytes], timeout: float) -> bytes:
    """Everything the terminal shows until every mark was seen."""
    seen = b""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if all(mark in seen for mark in marks):
            return seen
        ready, _, _ = select.select([fd], [], [], 0.1)
        if ready:
            try:
                seen += os.read(fd, 65536)
            except OSError:
                break  # the app is gone
    missing = [m.decode() for m in marks if m not in seen]
    raise AssertionError(f"never shown: {missing}; last output: {seen[-300:]!r}")


def test_mailtui_demo_paints_the_lab_and_quits_cleanly() -> None:
    pid, fd = pty.fork()
    if pid == 0:  # the child becomes `mailtui demo`
        os.environ["TERM"] = "xterm-256color"
        os.execvp(sys.executable, [sys.executable, "-m", "mailtui", "demo"])
    try:
        fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 30, 120, 0, 0))
        shown = read_until(
            fd, [b"STARTTLS", b"recommended", b"do not use", b"100%"], timeout=60
        )
        assert b"simulated" in shown
        os.write(fd, b"\x11")  # ctrl+q
        waited = time.monotonic()
        while time.monotonic() - waited < 15:
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                break
            select.select([fd], [], [], 0.1)
            with contextlib.suppress(OSError):
                os.read(fd, 65536)
        else:
            pytest.fail("mailtui demo did not quit on ctrl+q")
        assert os.waitstatus_to_exitcode(status) == 0
    finally:
        try:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
        except (ProcessLookupError, ChildProcessError):
            pass
        os.close(fd)
