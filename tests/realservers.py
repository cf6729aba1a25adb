"""Real Dovecot and Postfix on loopback, for the truth about real servers.

The lab servers show what mailtui says about behaviours we chose; these
show what it says about the daemons people actually run. Each server gets
a private configuration, private state directories and a leaf certificate
from the lab CA, and listens only on loopback on free high ports. Nothing
of the system's own configuration, ports or spool is read or touched.
(Dovecot listens on 127.0.0.2; see `DOVECOT_ADDRESS` for why.)

The daemons need root (both drop privileges per process) and they reach
some of their files by absolute path *after* dropping privileges: Postfix's
master opens ``data_directory/master.lock`` as the ``postfix`` user, and
Postfix's smtpd reaches Dovecot's auth socket as ``postfix`` too. So their
directories cannot live in pytest's temporary tree: pytest keeps its root
private (0700) and resets it whenever any pytest session starts, which
would cut off a running server. `server_root` makes a directory of their
own in the system's temp dir instead, searchable (o+x) but not listable by
others, and at the end copies the logs and configurations into the pytest
directory for a post-mortem before removing it.

``openssl s_client`` is the independent witness: `openssl_s_client` runs
it against an endpoint and `parse_s_client` turns its output into the few
facts mailtui's engine must agree with.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import re
import shutil
import socket
import stat
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from mailtui.lab.pki import LabPki
from mailtui.model import Endpoint, Protocol, Security

DOVECOT_HOSTS = {
    "imap": "imap.dovecot.test",
    "imaps": "imap.dovecot.test",
    "pop3": "pop3.dovecot.test",
    "pop3s": "pop3.dovecot.test",
    "sieve": "sieve.dovecot.test",
}
"""The name each Dovecot endpoint is asked for; one certificate has them all."""

POSTFIX_HOST = "smtp.postfix.test"
"""Postfix's myhostname, and the only name in its certificate."""

POSTFIX_SERVICES = ("smtp", "submission", "submissions")

LOOPBACK = "127.0.0.1"

DOVECOT_ADDRESS = "127.0.0.2"
"""Where Dovecot listens: loopback, but not the address clients come from.

Dovecot treats a connection whose remote and local addresses are equal as
already secure, so on 127.0.0.1 to 127.0.0.1 it offers AUTH=PLAIN before
TLS and drops LOGINDISABLED, unlike what any remote client sees. A client
connecting to 127.0.0.2 comes from 127.0.0.1 (Linux picks the source
address of the loopback route), so Dovecot behaves as it does in real life.
"""

START_TIMEOUT = 20.0
"""Seconds a daemon gets to listen on every port; generous for slow CI."""

STOP_TIMEOUT = 10.0

_MANAGESIEVE_LOGIN = (
    Path("/usr/lib/dovecot/managesieve-login"),
    Path("/usr/libexec/dovecot/managesieve-login"),
)


class ServerStartError(RuntimeError):
    """A daemon did not come up; the message carries the end of its log."""


@dataclass
class RealServer:
    """A running daemon and the endpoints it serves."""

    name: str
    endpoints: dict[str, Endpoint]
    """By service name ("imap", "submissions", ...)."""
    ca_file: Path
    """The lab root CA that signed the server's certificate."""
    root: Path
    """The directory holding its configuration, state and log."""
    log_file: Path
    process: subprocess.Popen[bytes]
    sasl_socket: Path | None = None
    """Dovecot's auth socket for Postfix: offered by Dovecot, used by Postfix
    (which then offers SMTP AUTH)."""
    stop_command: list[str] | None = None
    """Run before signalling `process`, for daemons that detach a child."""

    def log_tail(self, lines: int = 40) -> str:
        return _tail(self.log_file, lines)


def missing_reason(daemon: str) -> str | None:
    """Why `daemon` ("dovecot" or "postfix") cannot run here, or None."""
    if shutil.which(daemon) is None and not Path(f"/usr/sbin/{daemon}").exists():
        packages = {
            "dovecot": "dovecot-imapd dovecot-pop3d dovecot-managesieved",
            "postfix": "postfix",
        }[daemon]
        return f"{daemon} is not installed (apt-get install {packages}; see .ci/run)"
    if os.geteuid() != 0:
        return f"{daemon} needs root to drop privileges; run the tests as root"
    return None


def has_managesieve() -> bool:
    return any(path.exists() for path in _MANAGESIEVE_LOGIN)


def free_ports(count: int, address: str = LOOPBACK) -> list[int]:
    """`count` distinct loopback ports that were free a moment ago.

    All sockets are held open together, so the ports differ; another
    process can still take one before the daemon binds it, which the
    start functions handle by retrying on "address in use".
    """
    with contextlib.ExitStack() as stack:
        ports: list[int] = []
        for _ in range(count):
            sock = stack.enter_context(socket.socket())
            sock.bind((address, 0))
            ports.append(sock.getsockname()[1])
        return ports


@contextlib.contextmanager
def server_root(records: Path) -> Iterator[Path]:
    """A directory for the daemons' files, removed afterwards.

    Its logs and configuration files are copied into `records` first, so
    a failed run can still be read.
    """
    root = Path(tempfile.mkdtemp(prefix="mailtui-realservers-"))
    try:
        check_reachable(root)
        root.chmod(0o711)
        yield root
    finally:
        for path in root.rglob("*"):
            if path.suffix in (".log", ".conf", ".cf") and path.is_file():
                target = records / path.relative_to(root)
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(path, target)
        shutil.rmtree(root, ignore_errors=True)


def check_reachable(directory: Path) -> None:
    """Fail clearly if unprivileged daemons could not walk to `directory`."""
    for parent in directory.resolve().parents:
        if not parent.stat().st_mode & stat.S_IXOTH:
            raise ServerStartError(
                f"{parent} is not searchable by others, so the daemons' "
                "unprivileged processes cannot reach their files under "
                f"{directory}; point TMPDIR at a world-searchable directory"
            )


def _tail(path: Path, lines: int) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return f"(no log at {path})"
    return "\n".join(text.splitlines()[-lines:])


def _wait_listening(
    process: subprocess.Popen[bytes], address: str, ports: list[int], timeout: float
) -> bool:
    """True once every port accepts; False if the process died first."""
    deadline = time.monotonic() + timeout
    waiting = list(ports)
    while waiting:
        if process.poll() is not None:
            return False
        if time.monotonic() > deadline:
            raise TimeoutError(f"ports {waiting} not listening after {timeout}s")
        try:
            with socket.create_connection((address, waiting[0]), timeout=1.0):
                waiting.pop(0)
        except OSError:
            time.sleep(0.05)
    # A port taken by someone else in the meantime also accepts; the daemon
    # then dies on "address in use" a moment later, so look once more.
    time.sleep(0.2)
    return process.poll() is None


def stop_server(server: RealServer) -> None:
    """Stop the daemon and every process it started; safe to call twice."""
    if server.stop_command:
        subprocess.run(
            server.stop_command,
            capture_output=True,
            timeout=STOP_TIMEOUT,
            check=False,
        )
    _stop_process(server.process)


def _stop_process(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(STOP_TIMEOUT)


def _write_leaf(pki: LabPki, names: list[str], directory: Path) -> tuple[Path, Path]:
    """The leaf (with its intermediate) and key, as files a daemon loads."""
    chain, key = pki.leaf(names)
    chain_file = directory / "server-chain.pem"
    key_file = directory / "server-key.pem"
    chain_file.write_bytes(chain)
    key_file.touch(mode=0o600)
    key_file.write_bytes(key)
    return chain_file, key_file


# -- Dovecot -----------------------------------------------------------------


def dovecot_config(
    root: Path,
    ports: dict[str, int],
    cert: Path,
    key: Path,
    sasl_user: str | None,
) -> str:
    """A self-contained dovecot.conf: nothing from /etc/dovecot is included.

    Nobody can log in (the static passdb password is random and we never
    try); the point is the pre-login behaviour every client sees.
    """
    protocols = "imap pop3" + (" sieve" if "sieve" in ports else "")
    password = os.urandom(16).hex()
    sections = [
        f"""\
base_dir = {root}/run
state_dir = {root}/state
instance_name = mailtui-test-{root.name}
protocols = {protocols}
listen = {DOVECOT_ADDRESS}
log_path = {root}/dovecot.log
default_internal_user = dovecot
default_login_user = dovenull
ssl = yes
ssl_cert = <{cert}
ssl_key = <{key}
disable_plaintext_auth = yes
auth_mechanisms = plain login
mail_location = maildir:{root}/mail/%u
passdb {{
  driver = static
  args = password={password}
}}
userdb {{
  driver = static
  args = uid=nobody gid=nogroup home={root}/mail/%u
}}
""",
        _dovecot_listeners("imap-login", "imap", "imaps", ports),
        _dovecot_listeners("pop3-login", "pop3", "pop3s", ports),
    ]
    if "sieve" in ports:
        sections.append(_dovecot_listeners("managesieve-login", "sieve", None, ports))
    if sasl_user:
        # The Debian recipe for Postfix SMTP AUTH through Dovecot.
        sections.append(
            f"""\
service auth {{
  unix_listener auth-postfix {{
    mode = 0600
    user = {sasl_user}
  }}
}}
"""
        )
    return "".join(sections)


def _dovecot_listeners(
    service: str, plain: str, implicit: str | None, ports: dict[str, int]
) -> str:
    text = f"service {service} {{\n"
    text += f"  inet_listener {plain} {{\n    port = {ports[plain]}\n  }}\n"
    if implicit:
        text += (
            f"  inet_listener {implicit} {{\n    port = {ports[implicit]}\n"
            "    ssl = yes\n  }\n"
        )
    return text + "}\n"


def start_dovecot(root: Path, pki: LabPki, attempts: int = 3) -> RealServer:
    """Run ``dovecot -F`` with a private configuration under `root`."""
    services = ["imap", "imaps", "pop3", "pop3s"]
    if has_managesieve():
        services.append("sieve")
    root.mkdir(parents=True, exist_ok=True)
    cert, key = _write_leaf(pki, sorted(set(DOVECOT_HOSTS.values())), root)
    sasl_user = _existing_user("postfix")
    config = root / "dovecot.conf"
    log_file = root / "dovecot.log"

    for _ in range(attempts):
        numbers = free_ports(len(services), DOVECOT_ADDRESS)
        ports = dict(zip(services, numbers, strict=True))
        config.write_text(dovecot_config(root, ports, cert, key, sasl_user))
        log_file.write_text("")
        process = _spawn(["dovecot", "-F", "-c", str(config)], log_file)
        server = RealServer(
            name="dovecot",
            endpoints={
                s: Endpoint(s, DOVECOT_HOSTS[s], p, address=DOVECOT_ADDRESS)
                for s, p in ports.items()
            },
            ca_file=pki.ca_file,
            root=root,
            log_file=log_file,
            process=process,
            sasl_socket=root / "run" / "auth-postfix" if sasl_user else None,
        )
        if _came_up(server):
            return server
    raise ServerStartError(f"dovecot did not start:\n{_tail(log_file, 40)}")


def _spawn(command: list[str], log_file: Path) -> subprocess.Popen[bytes]:
    with log_file.open("ab") as log:
        return subprocess.Popen(
            command, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT
        )


def _came_up(server: RealServer) -> bool:
    """True when listening; False to retry on a port race; raises otherwise."""
    ports = [endpoint.port for endpoint in server.endpoints.values()]
    address = next(iter(server.endpoints.values())).address or LOOPBACK
    try:
        if _wait_listening(server.process, address, ports, START_TIMEOUT):
            return True
    except TimeoutError as exc:
        stop_server(server)
        raise ServerStartError(f"{server.name}: {exc}\n{server.log_tail()}") from exc
    stop_server(server)
    if "in use" in server.log_tail():
        return False
    raise ServerStartError(f"{server.name} exited:\n{server.log_tail()}")


def _existing_user(name: str) -> str | None:
    try:
        pwd.getpwnam(name)
    except KeyError:
        return None
    return name


# -- Postfix -----------------------------------------------------------------


def postfix_main_cf(root: Path, cert: Path, key: Path) -> str:
    """main.cf for a Postfix that accepts connections and delivers nothing."""
    nowhere = "error:5.7.1 this test server delivers nothing"
    return f"""\
compatibility_level = 3.6
queue_directory = {root}/queue
data_directory = {root}/data
maillog_file = /dev/stdout
inet_interfaces = {LOOPBACK}
inet_protocols = ipv4
myhostname = {POSTFIX_HOST}
mydomain = postfix.test
myorigin = $myhostname
mydestination =
relay_domains =
local_recipient_maps =
alias_maps =
alias_database =
local_transport = {nowhere}
default_transport = {nowhere}
relay_transport = {nowhere}
smtpd_relay_restrictions = reject
smtpd_recipient_restrictions = reject
smtpd_tls_chain_files = {key}, {cert}
smtpd_tls_security_level = may
smtpd_tls_loglevel = 1
smtp_tls_security_level = none
biff = no
"""


def postfix_master_cf(ports: dict[str, int], sasl_socket: Path | None) -> str:
    """master.cf: the three SMTP ports and the internal services, none chrooted.

    No chroot, so nothing from /etc must be copied into the queue directory.
    """
    sasl = ""
    if sasl_socket:
        sasl = (
            "  -o smtpd_sasl_auth_enable=yes\n"
            "  -o smtpd_sasl_type=dovecot\n"
            f"  -o smtpd_sasl_path={sasl_socket}\n"
        )
    inet = "inet  n  -  n  -  -  smtpd\n"
    return (
        f"{LOOPBACK}:{ports['smtp']} {inet}"
        f"{LOOPBACK}:{ports['submission']} {inet}"
        "  -o syslog_name=postfix/submission\n"
        "  -o smtpd_tls_security_level=encrypt\n"
        "  -o smtpd_tls_auth_only=yes\n"
        f"{sasl}"
        f"{LOOPBACK}:{ports['submissions']} {inet}"
        "  -o syslog_name=postfix/submissions\n"
        "  -o smtpd_tls_wrappermode=yes\n"
        f"{sasl}"
        + "".join(
            f"{name} {kind} {private} - n {wakeup} {limit} {command}\n"
            for name, kind, private, wakeup, limit, command in _POSTFIX_INTERNAL
        )
    )


# name, type, private, wakeup, process limit, command
_POSTFIX_INTERNAL = (
    ("pickup", "unix", "n", "60", "1", "pickup"),
    ("cleanup", "unix", "n", "-", "0", "cleanup"),
    ("qmgr", "unix", "n", "300", "1", "qmgr"),
    ("tlsmgr", "unix", "-", "1000?", "1", "tlsmgr"),
    ("rewrite", "unix", "-", "-", "-", "trivial-rewrite"),
    ("bounce", "unix", "-", "-", "0", "bounce"),
    ("defer", "unix", "-", "-", "0", "bounce"),
    ("trace", "unix", "-", "-", "0", "bounce"),
    ("verify", "unix", "-", "-", "1", "verify"),
    ("flush", "unix", "n", "1000?", "0", "flush"),
    ("proxymap", "unix", "-", "-", "-", "proxymap"),
    ("smtp", "unix", "-", "-", "-", "smtp"),
    ("relay", "unix", "-", "-", "-", "smtp"),
    ("showq", "unix", "n", "-", "-", "showq"),
    ("error", "unix", "-", "-", "-", "error"),
    ("retry", "unix", "-", "-", "-", "error"),
    ("discard", "unix", "-", "-", "-", "discard"),
    ("anvil", "unix", "-", "-", "1", "anvil"),
    ("scache", "unix", "-", "-", "1", "scache"),
    # maillog_file needs postlogd; without it Postfix logs nowhere at all.
    ("postlog", "unix-dgram", "n", "-", "1", "postlogd"),
)


def start_postfix(
    root: Path, pki: LabPki, sasl_socket: Path | None = None, attempts: int = 3
) -> RealServer:
    """Run ``postfix start-fg`` with a private config directory under `root`.

    With `sasl_socket` (Dovecot's), ports 587 and 465 offer SMTP AUTH, 587
    only after STARTTLS, as a real submission server does.
    """
    conf = root / "conf"
    for directory in (conf, root / "queue", root / "data"):
        directory.mkdir(parents=True, exist_ok=True)
    # The master takes its lock in data_directory as the postfix user.
    shutil.chown(root / "data", user="postfix")
    cert, key = _write_leaf(pki, [POSTFIX_HOST], root)
    log_file = root / "postfix.log"
    conf.joinpath("main.cf").write_text(postfix_main_cf(root, cert, key))
    command = ["postfix", "-c", str(conf)]

    for _ in range(attempts):
        ports = dict(zip(POSTFIX_SERVICES, free_ports(3), strict=True))
        conf.joinpath("master.cf").write_text(postfix_master_cf(ports, sasl_socket))
        log_file.write_text("")
        # `check` creates the queue directories with the owners Postfix wants.
        checked = subprocess.run(
            [*command, "check"], capture_output=True, text=True, check=False
        )
        if checked.returncode != 0:
            raise ServerStartError(
                f"postfix check failed:\n{checked.stdout}{checked.stderr}"
                f"{_tail(log_file, 40)}"
            )
        process = _spawn([*command, "start-fg"], log_file)
        server = RealServer(
            name="postfix",
            endpoints={
                s: Endpoint(s, POSTFIX_HOST, p, address=LOOPBACK)
                for s, p in ports.items()
            },
            ca_file=pki.ca_file,
            root=root,
            log_file=log_file,
            process=process,
            sasl_socket=sasl_socket,
            # The master runs in its own session: stopping the start-fg
            # wrapper alone would leave it behind, so Postfix stops itself.
            stop_command=[*command, "stop"],
        )
        if _came_up(server):
            return server
    raise ServerStartError(f"postfix did not start:\n{_tail(log_file, 40)}")


@contextlib.contextmanager
def running(server: RealServer) -> Iterator[RealServer]:
    """Yield `server` and stop it afterwards, whatever happened meanwhile."""
    try:
        yield server
    finally:
        stop_server(server)


# -- openssl s_client, the independent witness -------------------------------

_STARTTLS_OPTION = {
    Protocol.SMTP: "smtp",
    Protocol.IMAP: "imap",
    Protocol.POP3: "pop3",
    Protocol.SIEVE: "sieve",
}


@dataclass(frozen=True)
class SClientResult:
    """What ``openssl s_client`` saw, in the terms mailtui reports."""

    handshake_ok: bool
    version: str | None
    """"TLSv1.3", ...: OpenSSL's spelling, which Python's ssl shares."""
    cipher: str | None
    """OpenSSL's cipher name, which Python's ssl shares."""
    verify_code: int | None
    """X.509 verification result; 0 is success, 62 a name mismatch; None
    when there was no handshake."""
    verify_text: str | None
    chain_length: int
    """Certificates the server sent."""
    output: str


_NEW_SESSION = re.compile(r"^(?:New|Reused), (\S+), Cipher is (\S+)", re.MULTILINE)
_VERIFY = re.compile(r"^\s*Verify return code: (\d+) \((.*)\)", re.MULTILINE)
_CHAIN_ENTRY = re.compile(r"\s*\d+ s:")


def parse_s_client(output: str) -> SClientResult:
    """Read the handshake facts from ``openssl s_client`` output.

    A failed handshake prints "New, (NONE), Cipher is (NONE)" or no
    session line at all; both give ``handshake_ok=False``.
    """
    version = cipher = None
    if match := _NEW_SESSION.search(output):
        version, cipher = match.groups()
        if version == "(NONE)" or cipher in ("(NONE)", "0000"):
            version = cipher = None
    verify_code = verify_text = None
    # Without a handshake OpenSSL still prints "0 (ok)": nothing was checked.
    if version is not None and (match := _VERIFY.search(output)):
        verify_code, verify_text = int(match[1]), match[2]
    return SClientResult(
        handshake_ok=version is not None,
        version=version,
        cipher=cipher,
        verify_code=verify_code,
        verify_text=verify_text,
        chain_length=_chain_length(output),
        output=output,
    )


def _chain_length(output: str) -> int:
    """Entries of the "Certificate chain" block: " 0 s:...", " 1 s:...".

    The block ends at a line that is exactly "---" (PEM armour lines are
    longer, so they cannot end it early).
    """
    lines = output.splitlines()
    try:
        start = lines.index("Certificate chain") + 1
    except ValueError:
        return 0
    count = 0
    for line in lines[start:]:
        if line == "---":
            break
        if _CHAIN_ENTRY.match(line):
            count += 1
    return count


def s_client_command(endpoint: Endpoint, ca_file: Path) -> list[str]:
    """The command a person would type to check `endpoint` by hand."""
    address = endpoint.address or endpoint.host
    command = ["openssl", "s_client", "-connect", f"{address}:{endpoint.port}"]
    if endpoint.security is Security.STARTTLS:
        command += ["-starttls", _STARTTLS_OPTION[endpoint.protocol]]
    if endpoint.server_name:
        command += [
            "-servername",
            endpoint.server_name,
            "-verify_hostname",
            endpoint.server_name,
        ]
    return [*command, "-CAfile", str(ca_file)]


def openssl_s_client(
    endpoint: Endpoint, ca_file: Path, timeout: float = 20.0
) -> SClientResult:
    """Run ``openssl s_client`` against `endpoint` and parse what it printed.

    Its stdin is empty, so it closes the connection right after the
    handshake, as ``echo | openssl s_client ...`` does.
    """
    completed = subprocess.run(
        s_client_command(endpoint, ca_file),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        timeout=timeout,
        check=False,
    )
    output = (completed.stdout + completed.stderr).decode(errors="replace")
    return parse_s_client(output)
