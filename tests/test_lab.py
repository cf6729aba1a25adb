"""The lab servers behave as their profiles say, seen from real clients.

Most tests share one lab with every profile, run on its own event loop in
a background thread, so they can use what a person would: blocking
sockets, Python's ssl module and `openssl s_client`. All on loopback.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Coroutine, Iterator
from pathlib import Path
from typing import Any

import pytest

from mailtui.lab import LAB_ADDRESS, PROFILES, Lab
from mailtui.lab.runner import print_listing
from mailtui.lab.servers import MAX_LINE, Behaviour, ImapSession, Next, SmtpSession
from mailtui.model import Endpoint, Protocol

OPENSSL = shutil.which("openssl")
needs_openssl = pytest.mark.skipif(OPENSSL is None, reason="openssl not installed")


class ThreadedLab:
    """A `Lab` serving from a private event loop in a daemon thread."""

    def __init__(self, profiles: list[str] | None = None) -> None:
        self.lab = Lab(profiles)
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)

    def __enter__(self) -> Lab:
        self.thread.start()
        self._call(self.lab.start())
        return self.lab

    def __exit__(self, *exc: object) -> None:
        self._call(self.lab.stop())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)
        self.loop.close()

    def _call(self, coroutine: Coroutine[Any, Any, None]) -> None:
        asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(10)


@pytest.fixture(scope="module")
def lab() -> Iterator[Lab]:
    with ThreadedLab() as running:
        yield running


def find(lab: Lab, service: str, host: str) -> Endpoint:
    """The running endpoint for `service` on `host`."""
    matches = [e for e in lab.endpoints if (e.service, e.host) == (service, host)]
    assert len(matches) == 1, (service, host)
    return matches[0]


class Client:
    """A blocking line-oriented client, able to switch to TLS mid-way."""

    def __init__(self, port: int, timeout: float = 3.0) -> None:
        self.sock: socket.socket = socket.create_connection(
            (LAB_ADDRESS, port), timeout=timeout
        )
        self.buffer = b""

    def close(self) -> None:
        self.sock.close()

    def send(self, line: str) -> None:
        self.sock.sendall(line.encode() + b"\r\n")

    def line(self) -> bytes:
        while b"\n" not in self.buffer:
            data = self.sock.recv(4096)
            if not data:
                raise EOFError(self.buffer)
            self.buffer += data
        line, _, self.buffer = self.buffer.partition(b"\n")
        return line.rstrip(b"\r")

    def reply(self, last: Callable[[bytes], bool]) -> list[bytes]:
        """Lines up to and including the first one `last` accepts."""
        lines = [self.line()]
        while not last(lines[-1]):
            lines.append(self.line())
        return lines

    def smtp(self, command: str | None = None) -> list[bytes]:
        if command is not None:
            self.send(command)
        return self.reply(lambda line: line[3:4] != b"-")

    def at_eof(self) -> bool:
        try:
            return self.sock.recv(1) == b""
        except ConnectionResetError:
            return True

    def start_tls(self, lab: Lab, host: str) -> ssl.SSLSocket:
        assert self.buffer == b"", "plaintext left over before the handshake"
        context = ssl.create_default_context(cafile=str(lab.ca_file))
        tls = context.wrap_socket(self.sock, server_hostname=host)
        self.sock = tls
        return tls


@contextlib.contextmanager
def client(endpoint: Endpoint) -> Iterator[Client]:
    c = Client(endpoint.port)
    try:
        yield c
    finally:
        c.close()


def is_tagged(tag: bytes) -> Callable[[bytes], bool]:
    return lambda line: line.startswith(tag + b" ")


def sieve_done(line: bytes) -> bool:
    return line.split(b" ")[0] in (b"OK", b"NO", b"BYE")


# --- the profiles as data ---------------------------------------------------


def test_every_endpoint_is_labelled_simulated_and_pinned(lab: Lab) -> None:
    expected = sum(len(p.endpoints) for p in PROFILES.values())
    assert len(lab.endpoints) == expected
    assert len({e.port for e in lab.endpoints}) == expected
    for endpoint in lab.endpoints:
        assert endpoint.address == LAB_ADDRESS
        assert endpoint.host.endswith(".lab.test")
        assert endpoint.label.startswith("lab:")
        assert "simulated" in endpoint.label
        assert lab.describe(endpoint).startswith("Simulated (")
    assert set(lab.pins) == {e.host for e in lab.endpoints}
    assert lab.ca_file.read_bytes().startswith(b"-----BEGIN CERTIFICATE-----")


def test_describe_refuses_foreign_endpoints(lab: Lab) -> None:
    with pytest.raises(KeyError, match="not a running lab endpoint"):
        lab.describe(Endpoint("imaps", "imap.example.org", 993))


def test_unknown_profile_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown lab profile 'nope'"):
        Lab(["modern", "nope"])


# --- TLS as openssl sees it -------------------------------------------------

_STARTTLS = {
    "smtp": "smtp",
    "submission": "smtp",
    "pop3": "pop3",
    "imap": "imap",
    "sieve": "sieve",
}


def s_client(lab: Lab, endpoint: Endpoint, *extra: str) -> str:
    """Run `openssl s_client -brief` against `endpoint`; all its output."""
    assert OPENSSL is not None
    command = [
        OPENSSL,
        "s_client",
        "-brief",
        "-connect",
        f"{LAB_ADDRESS}:{endpoint.port}",
        "-servername",
        endpoint.host,
        "-CAfile",
        str(lab.ca_file),
        "-verify_return_error",
        *extra,
    ]
    if endpoint.service in _STARTTLS:
        command += ["-starttls", _STARTTLS[endpoint.service]]
    done = subprocess.run(command, input=b"", capture_output=True, timeout=10)
    return (done.stdout + done.stderr).decode(errors="replace")


@needs_openssl
@pytest.mark.parametrize(
    ("profile", "version"), [("modern", "TLSv1.3"), ("isp2018", "TLSv1.2")]
)
def test_tls_endpoints_verify_with_the_lab_ca(
    lab: Lab, profile: str, version: str
) -> None:
    endpoints = [
        e
        for e in lab.endpoints
        if lab.profile_of(e).name == profile and lab.behaviour(e).uses_tls
    ]
    assert len(endpoints) >= 4
    for endpoint in endpoints:
        output = s_client(lab, endpoint, "-verify_hostname", endpoint.host)
        assert f"Protocol version: {version}\n" in output, (endpoint, output)
        assert "Verification: OK" in output, (endpoint, output)


@needs_openssl
@pytest.mark.parametrize(
    ("service", "slug", "complaint"),
    [
        ("imaps", "expired", "certificate has expired"),
        ("submissions", "wrong-name", "hostname mismatch"),
        ("pop3s", "missing-intermediate", "unable to get local issuer"),
        ("imap", "self-signed", "self-signed certificate"),
        ("pop3s", "weak-key", "key too weak"),
        ("submissions", "sha1", "digest algorithm too weak"),
    ],
)
def test_bad_certificates_fail_verification(
    lab: Lab, service: str, slug: str, complaint: str
) -> None:
    endpoint = find(lab, service, f"{slug}.broken.lab.test")
    output = s_client(lab, endpoint, "-verify_hostname", endpoint.host)
    assert complaint in output, output
    assert "Verification: OK" not in output


@needs_openssl
def test_tls10_endpoint_speaks_tls10_and_nothing_newer(lab: Lab) -> None:
    endpoint = find(lab, "imaps", "tls10.broken.lab.test")
    legacy = s_client(lab, endpoint, "-tls1", "-cipher", "DEFAULT:@SECLEVEL=0")
    assert "Protocol version: TLSv1\n" in legacy, legacy
    modern = s_client(lab, endpoint, "-tls1_2")
    assert "Protocol version" not in modern, modern


# --- dialogues, plaintext and upgraded --------------------------------------


def test_modern_smtp_offers_auth_only_after_starttls(lab: Lab) -> None:
    endpoint = find(lab, "submission", "smtp.modern.lab.test")
    with client(endpoint) as c:
        assert c.line() == b"220 smtp.modern.lab.test ESMTP mailtui-lab (simulated)"
        before = c.smtp("EHLO probe.test")
        assert b"250-STARTTLS" in before
        assert not any(b"AUTH" in line for line in before)
        assert c.smtp("AUTH PLAIN AGFAYg==")[0].startswith(b"530 ")
        assert c.smtp("STARTTLS") == [b"220 2.0.0 Ready to start TLS"]
        assert c.start_tls(lab, endpoint.host).version() == "TLSv1.3"
        after = c.smtp("EHLO probe.test")
        assert b"250-AUTH PLAIN LOGIN" in after
        assert not any(b"STARTTLS" in line for line in after)
        assert c.smtp("AUTH PLAIN AGFAYg==")[0].startswith(b"535 ")
        assert c.smtp("NOOP") == [b"250 2.0.0 OK"]
        assert c.smtp("FROB")[0].startswith(b"502 ")
        assert c.smtp("QUIT") == [b"221 2.0.0 Bye"]
        assert c.at_eof()


def test_modern_pop3_lists_user_only_after_stls(lab: Lab) -> None:
    endpoint = find(lab, "pop3", "pop.modern.lab.test")
    with client(endpoint) as c:
        assert c.line().startswith(b"+OK ")
        c.send("CAPA")
        before = c.reply(lambda line: line == b".")
        assert b"STLS" in before and b"USER" not in before
        c.send("USER alice")
        assert c.line().startswith(b"-ERR [AUTH]")
        c.send("STLS")
        assert c.line().startswith(b"+OK")
        c.start_tls(lab, endpoint.host)
        c.send("CAPA")
        after = c.reply(lambda line: line == b".")
        assert b"USER" in after and b"STLS" not in after
        c.send("PASS secret")
        assert c.line().startswith(b"-ERR")
        c.send("QUIT")
        assert c.line().startswith(b"+OK")


def test_modern_imap_is_logindisabled_until_tls(lab: Lab) -> None:
    endpoint = find(lab, "imap", "imap.modern.lab.test")
    with client(endpoint) as c:
        greeting = c.line()
        assert greeting.startswith(b"* OK [CAPABILITY IMAP4rev1 ")
        assert b" STARTTLS " in greeting and b"LOGINDISABLED" in greeting
        c.send("a1 LOGIN alice secret")
        assert c.reply(is_tagged(b"a1"))[-1].startswith(b"a1 NO [PRIVACYREQUIRED]")
        c.send("a2 STARTTLS")
        assert c.reply(is_tagged(b"a2")) == [b"a2 OK Begin TLS negotiation now"]
        c.start_tls(lab, endpoint.host)
        c.send("a3 CAPABILITY")
        caps, done = c.reply(is_tagged(b"a3"))
        assert b"AUTH=PLAIN" in caps and b"LOGINDISABLED" not in caps
        assert b"STARTTLS" not in caps and done.startswith(b"a3 OK")
        c.send("a4 LOGIN alice secret")
        assert c.reply(is_tagged(b"a4"))[-1].startswith(b"a4 NO ")
        c.send("a5 LOGOUT")
        assert c.reply(is_tagged(b"a5"))[0] == b"* BYE Logging out"
        assert c.at_eof()


def test_sieve_reissues_capabilities_after_starttls(lab: Lab) -> None:
    endpoint = find(lab, "sieve", "imap.modern.lab.test")
    with client(endpoint) as c:
        greeting = c.reply(sieve_done)
        assert b'"SASL" ""' in greeting and b'"STARTTLS"' in greeting
        c.send("STARTTLS")
        assert c.line().startswith(b"OK ")
        c.start_tls(lab, endpoint.host)
        unprompted = c.reply(sieve_done)
        assert b'"SASL" "PLAIN LOGIN"' in unprompted
        assert b'"STARTTLS"' not in unprompted
        c.send('AUTHENTICATE "PLAIN" "AGFAYg=="')
        assert c.line().startswith(b"NO ")


def test_isp2018_submission_has_no_starttls_but_offers_auth(lab: Lab) -> None:
    endpoint = find(lab, "submission", "smtp.isp2018.lab.test")
    with client(endpoint) as c:
        c.line()
        ehlo = c.smtp("EHLO probe.test")
        assert b"250-AUTH PLAIN LOGIN" in ehlo
        assert not any(b"STARTTLS" in line for line in ehlo)
        assert c.smtp("STARTTLS")[0].startswith(b"502 ")
        assert c.smtp("AUTH LOGIN")[0].startswith(b"535 ")


def test_isp2018_pop3_has_no_stls(lab: Lab) -> None:
    endpoint = find(lab, "pop3", "pop.isp2018.lab.test")
    with client(endpoint) as c:
        c.line()
        c.send("CAPA")
        capa = c.reply(lambda line: line == b".")
        assert b"STLS" not in capa and b"USER" in capa
        c.send("STLS")
        assert c.line() == b"-ERR Unknown command"


# --- the broken profile, failure by failure ---------------------------------


def test_auth_before_tls_is_advertised_yet_never_accepted(lab: Lab) -> None:
    endpoint = find(lab, "submission", "auth-before-tls.broken.lab.test")
    with client(endpoint) as c:
        c.line()
        ehlo = c.smtp("EHLO probe.test")
        assert b"250-STARTTLS" in ehlo and b"250-AUTH PLAIN LOGIN" in ehlo
        assert c.smtp("AUTH PLAIN AGFAYg==")[0].startswith(b"535 ")


def test_injected_plaintext_follows_the_go_ahead(lab: Lab) -> None:
    endpoint = find(lab, "submission", "injection.broken.lab.test")
    with client(endpoint) as c:
        c.line()
        c.smtp("EHLO probe.test")
        assert c.smtp("STARTTLS") == [b"220 2.0.0 Ready to start TLS"]
        assert c.smtp() == [b"250-injected.lab.test", b"250 AUTH PLAIN"]
        # The handshake itself still works once the injection is consumed.
        assert c.start_tls(lab, endpoint.host).version() == "TLSv1.3"


def test_starttls_advertised_then_refused(lab: Lab) -> None:
    endpoint = find(lab, "smtp", "starttls-refused.broken.lab.test")
    with client(endpoint) as c:
        c.line()
        assert b"250-STARTTLS" in c.smtp("EHLO probe.test")
        assert c.smtp("STARTTLS")[0].startswith(b"454 ")
        assert c.smtp("NOOP") == [b"250 2.0.0 OK"]


def test_stls_accepted_then_hangs_up(lab: Lab) -> None:
    endpoint = find(lab, "pop3", "starttls-broken.broken.lab.test")
    with client(endpoint) as c:
        c.line()
        c.send("STLS")
        assert c.line() == b"+OK Begin TLS negotiation"
        assert c.at_eof()


def test_temporary_failure_greets_421_and_hangs_up(lab: Lab) -> None:
    with client(find(lab, "submission", "busy.broken.lab.test")) as c:
        assert c.line().startswith(b"421 4.3.2 ")
        assert c.at_eof()


def test_silent_port_accepts_and_says_nothing(lab: Lab) -> None:
    endpoint = find(lab, "submission", "silent.broken.lab.test")
    c = Client(endpoint.port, timeout=0.3)
    try:
        c.send("EHLO probe.test")
        with pytest.raises(TimeoutError):
            c.line()
    finally:
        c.close()


def test_garbage_speaker_sends_an_ssh_banner(lab: Lab) -> None:
    with client(find(lab, "pop3", "garbage.broken.lab.test")) as c:
        assert c.line().startswith(b"SSH-2.0-OpenSSH")


def test_filtered_port_connect_times_out(lab: Lab) -> None:
    endpoint = find(lab, "imaps", "filtered.broken.lab.test")
    started = time.monotonic()
    with pytest.raises(TimeoutError):
        socket.create_connection((LAB_ADDRESS, endpoint.port), timeout=0.4)
    assert time.monotonic() - started >= 0.35


def test_hostile_banner_arrives_verbatim_on_one_line(lab: Lab) -> None:
    with client(find(lab, "smtp", "markup.broken.lab.test")) as c:
        banner = c.line()
        assert banner.startswith(b"220 markup.broken.lab.test ESMTP ")
        assert b"[bold red]pwned[/]" in banner
        assert b"[@click=app.quit]" in banner
        assert b"\x1b[31m" in banner and b"\x1b]0;" in banner
        assert c.smtp("QUIT") == [b"221 2.0.0 Bye"]


def test_port_mismatches(lab: Lab) -> None:
    tls_on_plain = find(lab, "imap", "tls-on-plain.broken.lab.test")
    with client(tls_on_plain) as c:
        c.start_tls(lab, tls_on_plain.host)
        assert c.line().startswith(b"* OK ")
    with client(find(lab, "imaps", "plain-on-tls.broken.lab.test")) as c:
        assert c.line().startswith(b"* OK [CAPABILITY ")


# --- robustness -------------------------------------------------------------


def test_overlong_line_ends_only_that_connection(lab: Lab) -> None:
    endpoint = find(lab, "imap", "imap.modern.lab.test")
    with client(endpoint) as c:
        c.line()
        c.sock.sendall(b"a1 " + b"A" * (MAX_LINE * 2) + b"\r\n")
        assert c.line() == b"* BAD Line too long"
        assert c.at_eof()
    with client(endpoint) as c:
        assert c.line().startswith(b"* OK ")


def test_binary_junk_gets_errors_not_a_crash(lab: Lab) -> None:
    endpoint = find(lab, "smtp", "smtp.modern.lab.test")
    with client(endpoint) as c:
        c.line()
        c.sock.sendall(b"\xff\xfe\x00\x16\x03\x01 junk\r\n\r\n")
        assert c.smtp()[0].startswith(b"502 ")
        assert c.smtp()[0].startswith(b"500 ")
        assert c.smtp("QUIT") == [b"221 2.0.0 Bye"]


def test_sessions_answer_malformed_lines() -> None:
    imap = ImapSession(Behaviour(Protocol.IMAP), "imap.lab.test", can_tls=True)
    assert imap.handle("").data.startswith(b"* BAD")
    assert imap.handle("lonely-tag").data.startswith(b"* BAD")
    no_cert = SmtpSession(Behaviour(Protocol.SMTP), "smtp.lab.test", can_tls=False)
    assert b"250-STARTTLS" in no_cert.handle("EHLO x").data
    reply = no_cert.handle("STARTTLS")
    assert reply.then is Next.CONTINUE and reply.data.startswith(b"454 ")


def test_listing_gives_paste_ready_commands(lab: Lab) -> None:
    out = io.StringIO()
    print_listing(lab, out)
    text = out.getvalue()
    sieve = find(lab, "sieve", "imap.modern.lab.test")
    assert f"sieve://imap.modern.lab.test:{sieve.port}" in text
    assert (
        f"openssl s_client -connect 127.0.0.1:{sieve.port} "
        f"-servername imap.modern.lab.test -starttls sieve -CAfile {lab.ca_file}"
    ) in text
    assert "--resolve imap.modern.lab.test:127.0.0.1" in text
    assert f"CA file: {lab.ca_file}" in text
    assert "\x1b" not in text


# --- life cycle, on the test's own event loop --------------------------------


async def test_start_is_fast_and_stop_closes_every_port() -> None:
    lab = Lab()
    started = time.monotonic()
    await lab.start()
    assert time.monotonic() - started < 1.0
    ports = [e.port for e in lab.endpoints]
    directory = lab.ca_file.parent

    endpoint = next(e for e in lab.endpoints if e.host == "smtp.modern.lab.test")
    reader, writer = await asyncio.open_connection(LAB_ADDRESS, endpoint.port)
    assert (await reader.readline()).startswith(b"220 ")
    await lab.stop()

    assert await asyncio.wait_for(reader.read(), 2) == b""
    writer.close()
    for port in ports:
        with pytest.raises(ConnectionRefusedError):
            await asyncio.wait_for(asyncio.open_connection(LAB_ADDRESS, port), 2)
    assert not directory.exists()


async def test_latency_delays_each_way() -> None:
    async with Lab(["modern"], latency=0.1) as lab:
        endpoint = next(e for e in lab.endpoints if e.service == "smtp")
        started = time.monotonic()
        reader, writer = await asyncio.open_connection(LAB_ADDRESS, endpoint.port)
        await reader.readline()
        greeted = time.monotonic()
        writer.write(b"NOOP\r\n")
        assert await reader.readline() == b"250 2.0.0 OK\r\n"
        answered = time.monotonic()
        writer.close()
    assert 0.09 <= greeted - started < 0.5
    assert 0.19 <= answered - greeted < 0.6


async def test_given_directory_is_kept(tmp_path: Path) -> None:
    async with Lab(["isp2018"], directory=tmp_path) as lab:
        assert lab.ca_file == tmp_path / "ca.pem"
    assert (tmp_path / "ca.pem").exists()


def test_runner_json_then_clean_exit_on_sigterm() -> None:
    code = (
        "import argparse, sys\n"
        "from mailtui.lab import runner\n"
        "p = argparse.ArgumentParser()\n"
        "runner.add_arguments(p)\n"
        "sys.exit(runner.run(p.parse_args(sys.argv[1:])))\n"
    )
    process = subprocess.Popen(
        [sys.executable, "-c", code, "--profile", "modern", "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert process.stdout is not None
        document = json.loads(process.stdout.readline())
        assert document["simulated"] is True
        assert Path(document["ca_file"]).is_file()
        assert {e["service"] for e in document["endpoints"]} == {
            e.service for e in PROFILES["modern"].endpoints
        }
        imaps = next(e for e in document["endpoints"] if e["service"] == "imaps")
        with socket.create_connection((LAB_ADDRESS, imaps["port"]), timeout=2):
            pass
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 0
    assert b"Traceback" not in stderr
    assert not Path(document["ca_file"]).exists()


async def test_stable_ports_come_back_at_the_next_start() -> None:
    async with Lab(["modern"], stable_ports=True) as first:
        ports = {e.key.split("@")[0].rsplit(":", 1)[0]: e.port for e in first.endpoints}
    async with Lab(["modern"], stable_ports=True) as second:
        again = {
            e.key.split("@")[0].rsplit(":", 1)[0]: e.port for e in second.endpoints
        }
        # Taken while this lab runs: a third one falls back to free ports.
        async with Lab(["modern"], stable_ports=True) as third:
            other = {e.port for e in third.endpoints}
    assert again == ports
    assert all(20000 <= p < 32000 for p in ports.values())
    assert not other & set(ports.values())
