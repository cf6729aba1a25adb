"""Fixtures shared by the test suite."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from mailtui.lab.pki import LabPki
from tests import realservers

# -- Never the user's own folders -------------------------------------------


@pytest.fixture(scope="session", autouse=True)
def private_user_dirs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Point profiles and history at throwaway folders for the whole run.

    Set in os.environ, not with monkeypatch, so that the `mailtui`
    subprocesses the tests start inherit it too: a test scan must never
    land in the real history or read a real profile.
    """
    saved = {k: os.environ.get(k) for k in ("MAILTUI_CONFIG_DIR", "MAILTUI_DATA_DIR")}
    os.environ["MAILTUI_CONFIG_DIR"] = str(tmp_path_factory.mktemp("config"))
    os.environ["MAILTUI_DATA_DIR"] = str(tmp_path_factory.mktemp("data"))
    yield
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


# -- Real Dovecot and Postfix (tests/realservers.py does the work) ----------


def _require(daemon: str) -> None:
    """Skip when `daemon` cannot run here; in CI that is a failure instead."""
    reason = realservers.missing_reason(daemon)
    if reason is None:
        return
    if os.environ.get("CI"):
        pytest.fail(f"CI must run the real servers: {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def real_servers_root(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Where the daemons live; their logs end up in the pytest tmp dir."""
    with realservers.server_root(tmp_path_factory.mktemp("realservers")) as root:
        yield root


@pytest.fixture(scope="session")
def real_servers_pki(real_servers_root: Path) -> LabPki:
    return LabPki.create(real_servers_root / "pki")


@pytest.fixture(scope="session")
def dovecot(
    real_servers_root: Path, real_servers_pki: LabPki
) -> Iterator[realservers.RealServer]:
    """Dovecot with IMAP, POP3 (and ManageSieve) on free loopback ports."""
    _require("dovecot")
    server = realservers.start_dovecot(real_servers_root / "dovecot", real_servers_pki)
    with realservers.running(server):
        yield server


@pytest.fixture(scope="session")
def postfix(
    request: pytest.FixtureRequest, real_servers_root: Path, real_servers_pki: LabPki
) -> Iterator[realservers.RealServer]:
    """Postfix on 25/587/465 equivalents; SMTP AUTH through Dovecot if present."""
    _require("postfix")
    sasl_socket = None
    if realservers.missing_reason("dovecot") is None:
        dovecot: realservers.RealServer = request.getfixturevalue("dovecot")
        sasl_socket = dovecot.sasl_socket
    server = realservers.start_postfix(
        real_servers_root / "postfix", real_servers_pki, sasl_socket
    )
    with realservers.running(server):
        yield server
