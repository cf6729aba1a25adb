"""Saved profiles: a user's own named sets of endpoints, one TOML file each.

A profile is what a user wants to scan again: targets written as they
would type them (`mail.example.org` for its seven standard endpoints, or
`imaps://mail.example.org:10993`), the `--resolve` pins, a CA file, time
limits, the EHLO name, and free notes. The files live in
`paths.profiles_dir()`, named `<profile>.toml`, and are meant to be edited
by hand, so:

- reading is strict about meaning (unknown keys, bad hosts, bad numbers
  are errors that name the file and the problem) but one broken file
  never hides the others: `list_profiles` returns it as a `BrokenProfile`;
- a broken file is never overwritten by a save; the user fixes or deletes
  it;
- writes go to a temporary file in the same directory, are flushed to
  disk, then renamed over the old file, so a crash leaves the old profile
  or the new one, never half of each;
- a profile never holds a password: there is no field for one, and a file
  with a key that looks like one is refused.

TOML is read with `tomllib`; it is written by the small serialiser below,
which covers exactly the shapes a profile has (strings, numbers, booleans,
lists of those, one level of tables), rather than adding a dependency.
"""

from __future__ import annotations

import contextlib
import math
import os
import re
import tempfile
import tomllib
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from mailtui.model import SERVICES, Endpoint, is_ip_literal
from mailtui.probe import ProbeOptions
from mailtui.providers import paths
from mailtui.providers.catalog import UnknownName, close_names, name_key
from mailtui.targets import TargetError, parse_endpoint, parse_resolve, pin

SUFFIX = ".toml"

MAX_FILE_BYTES = 1_000_000
"""A profile is a few hundred bytes; anything this big is not one."""

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")

# Keys that suggest a secret. A profile has none, so a file with one was
# written by someone who expected mailtui to log in; it never does.
_SECRET = re.compile(
    r"^pass$|password|passwd|passphrase|secret|token|credential", re.IGNORECASE
)

_OPTION_KEYS = {"timeout", "deadline", "ca_file", "ehlo", "all_addresses"}
_TOP_KEYS = {"notes", "targets", "options", "resolve"}


class ProfileError(Exception):
    """A profile cannot be read, written or found; the message says why."""


@dataclass
class Profile:
    """A named set of targets with the options to scan them with."""

    name: str
    targets: list[str]
    """As a user types them: HOST, or SERVICE://HOST[:PORT]."""
    resolve: dict[str, str] = field(default_factory=dict)
    """Host name -> address, as `--resolve` pins them."""
    ca_file: Path | None = None
    timeout: float | None = None
    deadline: float | None = None
    client_name: str | None = None
    """The EHLO name; None keeps the scan's."""
    all_addresses: bool | None = None
    notes: str = ""
    path: Path | None = field(default=None, compare=False)
    """The file it was read from, when it was."""

    def __post_init__(self) -> None:
        check_name(self.name)

    @property
    def label(self) -> str:
        """The label its endpoints carry in a scan."""
        return f"profile:{self.name}"

    def endpoints(self) -> list[Endpoint]:
        """The endpoints its targets name, with its pins applied.

        Raises:
            TargetError: a target was edited into something unparsable.
        """
        endpoints: list[Endpoint] = []
        for target in self.targets:
            endpoints += parse_endpoint(target, label=self.label)
        return pin(list(dict.fromkeys(endpoints)), self.resolve)

    def options(self, base: ProbeOptions) -> ProbeOptions:
        """`base` with what this profile sets; its pins add to base's."""
        changes: dict[str, Any] = {"resolve": {**base.resolve, **self.resolve}}
        for name, value in (
            ("ca_file", self.ca_file),
            ("timeout", self.timeout),
            ("deadline", self.deadline),
            ("client_name", self.client_name),
            ("all_addresses", self.all_addresses),
        ):
            if value is not None:
                changes[name] = value
        return replace(base, **changes)

    @classmethod
    def from_endpoints(
        cls,
        name: str,
        endpoints: list[Endpoint],
        options: ProbeOptions | None = None,
        *,
        notes: str = "",
    ) -> Profile:
        """A profile that scans exactly these endpoints with these options.

        Options equal to mailtui's defaults are left out, so the file stays
        short and a later change of default reaches the profile.
        """
        resolve = {ep.host: ep.address for ep in endpoints if ep.address}
        profile = cls(name=name, targets=[endpoint_spec(ep) for ep in endpoints])
        profile.notes = notes
        if options is None:
            profile.resolve = resolve
            return profile
        default = ProbeOptions()
        profile.resolve = {**options.resolve, **resolve}
        profile.ca_file = options.ca_file
        for attr in ("timeout", "deadline", "client_name", "all_addresses"):
            value = getattr(options, attr)
            if value != getattr(default, attr):
                setattr(profile, attr, value)
        return profile

    def to_toml(self) -> str:
        """The file's text: a short header, then the data."""
        stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
        header = (
            f"# mailtui profile {self.name!r}, saved {stamp}.\n"
            "# Edit freely. A target is HOST (its seven standard endpoints)\n"
            "# or SERVICE://HOST[:PORT]. Profiles never hold passwords.\n\n"
        )
        options: dict[str, Any] = {}
        if self.timeout is not None:
            options["timeout"] = float(self.timeout)
        if self.deadline is not None:
            options["deadline"] = float(self.deadline)
        if self.ca_file is not None:
            options["ca_file"] = str(self.ca_file)
        if self.client_name is not None:
            options["ehlo"] = self.client_name
        if self.all_addresses is not None:
            options["all_addresses"] = self.all_addresses
        data: dict[str, Any] = {"notes": self.notes, "targets": list(self.targets)}
        if options:
            data["options"] = options
        if self.resolve:
            data["resolve"] = dict(self.resolve)
        return header + dumps(data)

    @classmethod
    def from_toml(cls, name: str, text: str, path: Path | None = None) -> Profile:
        """Parse a profile file's text; raise `ProfileError` saying what is wrong."""
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise ProfileError(f"not valid TOML: {exc}") from None
        _refuse_secrets(data)
        unknown = set(data) - _TOP_KEYS
        if unknown:
            raise ProfileError(f"unknown keys {sorted(unknown)}")
        profile = cls(name=name, targets=_targets(data.get("targets")), path=path)
        profile.notes = _typed(data, "notes", str, "a string") or ""
        resolve = _typed(data, "resolve", dict, "a table of HOST = ADDRESS") or {}
        profile.resolve = _resolve_table(resolve)
        options = _typed(data, "options", dict, "a table") or {}
        unknown = set(options) - _OPTION_KEYS
        if unknown:
            raise ProfileError(f"unknown options {sorted(unknown)}")
        profile.timeout = _seconds(options, "timeout")
        profile.deadline = _seconds(options, "deadline")
        ca_file = _typed(options, "ca_file", str, "a file path")
        profile.ca_file = Path(ca_file).expanduser() if ca_file else None
        profile.client_name = _ehlo(_typed(options, "ehlo", str, "a host name"))
        profile.all_addresses = _typed(options, "all_addresses", bool, "true/false")
        try:
            profile.endpoints()
        except TargetError as exc:
            raise ProfileError(f"targets: {exc}") from None
        return profile


@dataclass(frozen=True)
class BrokenProfile:
    """A profile file that could not be read, kept so it can be reported."""

    name: str
    path: Path
    error: str

    def __str__(self) -> str:
        return f"{self.path}: {self.error}"


# -- Validation helpers -----------------------------------------------------


def check_name(name: str) -> str:
    """Return `name` if it can name a profile file, else raise ProfileError."""
    if not isinstance(name, str) or not _NAME.match(name):
        raise ProfileError(
            f"invalid profile name {name!r}: use letters, digits, '.', '_', '-' "
            "(up to 64, starting with a letter or digit)"
        )
    return name


def _refuse_secrets(data: Any, where: str = "") -> None:
    if isinstance(data, dict):
        for key, value in data.items():
            if not where and key == "resolve":
                continue  # host names, which may well contain "pass"
            if _SECRET.search(str(key)):
                raise ProfileError(
                    f"key {where}{key!r} looks like a secret: profiles never hold "
                    "passwords (mailtui never logs in); remove it"
                )
            _refuse_secrets(value, f"{where}{key}.")


def _typed(data: dict[str, Any], key: str, kind: type, what: str) -> Any:
    value = data.get(key)
    if value is not None and not isinstance(value, kind):
        raise ProfileError(f"{key!r} must be {what}, not {value!r}")
    return value


def _targets(value: Any) -> list[str]:
    if not isinstance(value, list) or not value:
        raise ProfileError("'targets' must be a non-empty list of strings")
    if not all(isinstance(v, str) for v in value):
        raise ProfileError("'targets' must be a list of strings")
    return list(value)


def _resolve_table(table: dict[str, Any]) -> dict[str, str]:
    resolve: dict[str, str] = {}
    for host, address in table.items():
        if not isinstance(address, str):
            raise ProfileError(f"resolve: {host!r} must map to an address string")
        try:
            name, ip = parse_resolve(f"{host}:{address}")
        except TargetError:
            # The value is not echoed: it may be something that was never
            # meant to be shown.
            raise ProfileError(f"resolve: {host!r} must map to an IP address") from None
        resolve[name] = ip
    return resolve


def _seconds(options: dict[str, Any], key: str) -> float | None:
    value = options.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ProfileError(f"options.{key} must be a number of seconds")
    if not 0 < value <= 3600:
        raise ProfileError(f"options.{key} must be between 0 and 3600: {value}")
    return float(value)


def _ehlo(name: str | None) -> str | None:
    if name is not None and (
        not name or any(c.isspace() or not c.isprintable() for c in name)
    ):
        raise ProfileError(f"options.ehlo must be a name without spaces: {name!r}")
    return name


def endpoint_spec(endpoint: Endpoint) -> str:
    """`SERVICE://HOST:PORT` for an endpoint, without its pinned address."""
    host = endpoint.host
    if ":" in host and is_ip_literal(host):
        host = f"[{host}]"
    if endpoint.service not in SERVICES:  # pragma: no cover - model guarantees
        raise ProfileError(f"unknown service {endpoint.service!r}")
    return f"{endpoint.service}://{host}:{endpoint.port}"


# -- Files ------------------------------------------------------------------


def _files(directory: Path) -> list[Path]:
    """Profile files in `directory`, skipping our own temporary files."""
    try:
        entries = list(directory.iterdir())
    except FileNotFoundError:
        return []  # nothing saved yet
    return sorted(
        p for p in entries if p.suffix == SUFFIX and not p.name.startswith(".")
    )


def _find_file(name: str, directory: Path) -> Path | None:
    exact = directory / f"{name}{SUFFIX}"
    if exact.is_file():
        return exact
    wanted = name.casefold()
    try:
        files = _files(directory)
    except OSError:
        return None  # reported by list_profiles, and by any attempt to write
    for path in files:
        if path.stem.casefold() == wanted:
            return path
    return None


def read_profile(path: Path) -> Profile:
    """Read one profile file; raise `ProfileError` naming the file."""
    try:
        with path.open("rb") as stream:
            raw = stream.read(MAX_FILE_BYTES + 1)
        if len(raw) > MAX_FILE_BYTES:
            raise ProfileError(f"larger than {MAX_FILE_BYTES} bytes")
        return Profile.from_toml(path.stem, raw.decode("utf-8"), path)
    except UnicodeDecodeError:
        raise ProfileError(f"{path}: not UTF-8 text") from None
    except OSError as exc:
        raise ProfileError(f"{path}: {exc.strerror or exc}") from None
    except ProfileError as exc:
        raise ProfileError(f"{path}: {exc}") from None


def list_profiles(
    directory: Path | None = None,
) -> tuple[list[Profile], list[BrokenProfile]]:
    """Every saved profile, and every file that failed to read.

    Never raises for a bad file or an unreadable directory: those come back
    as `BrokenProfile`s, so the app can start and show what is wrong.
    """
    directory = directory or paths.profiles_dir()
    profiles: list[Profile] = []
    broken: list[BrokenProfile] = []
    try:
        files = _files(directory)
    except OSError as exc:
        return [], [BrokenProfile("", directory, exc.strerror or str(exc))]
    for path in files:
        if not _NAME.match(path.stem):
            broken.append(BrokenProfile(path.stem, path, "not a valid profile name"))
            continue
        try:
            profiles.append(read_profile(path))
        except ProfileError as exc:
            error = str(exc).removeprefix(f"{path}: ")
            broken.append(BrokenProfile(path.stem, path, error))
    return profiles, broken


def load_profile(name: str, directory: Path | None = None) -> Profile:
    """The saved profile called `name` (any case).

    Raises:
        UnknownName: none has that name; the message offers the closest.
        ProfileError: the file exists but is broken.
    """
    directory = directory or paths.profiles_dir()
    path = _find_file(name, directory) if _NAME.match(name) else None
    if path is None:
        try:
            stems = {name_key(p.stem): p.stem for p in _files(directory)}
        except OSError:
            stems = {}
        suggestions = close_names(name, stems)
        hint = f"; did you mean {', '.join(suggestions)}?" if suggestions else ""
        raise UnknownName(f"no saved profile named {name!r}{hint}", suggestions)
    return read_profile(path)


def save_profile(profile: Profile, directory: Path | None = None) -> Path:
    """Write `profile` atomically, replacing a valid profile of that name.

    Returns:
        The file written.

    Raises:
        ProfileError: the directory cannot be written, or a broken file of
            that name is in the way (it is the user's; it is not replaced).
    """
    directory = directory or paths.profiles_dir()
    check_name(profile.name)
    text = profile.to_toml()
    # Check that what we write reads back as the same profile.
    Profile.from_toml(profile.name, text)
    path = _find_file(profile.name, directory) or directory / f"{profile.name}{SUFFIX}"
    if path.exists():
        try:
            read_profile(path)
        except ProfileError as exc:
            raise ProfileError(
                f"not overwriting {exc} (fix the file or delete the profile first)"
            ) from None
    try:
        write_atomic(path, text)
    except OSError as exc:
        raise ProfileError(
            f"cannot save profile {profile.name!r} to {path}: {exc.strerror or exc}"
        ) from None
    profile.path = path
    return path


def profile_path(name: str, directory: Path | None = None) -> Path:
    """The file of the saved profile `name` (any case), broken or not.

    Raises:
        UnknownName: there is no such file.
    """
    directory = directory or paths.profiles_dir()
    path = _find_file(name, directory) if _NAME.match(name) else None
    if path is None:
        raise UnknownName(f"no saved profile named {name!r}")
    return path


def delete_profile(name: str, directory: Path | None = None) -> Path:
    """Remove the profile file called `name`, broken or not; return its path."""
    path = profile_path(name, directory)
    try:
        path.unlink()
    except OSError as exc:
        raise ProfileError(f"cannot delete {path}: {exc.strerror or exc}") from None
    return path


def write_atomic(path: Path, text: str) -> None:
    """Replace `path` with `text` so that readers see the old or new file whole."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(
        prefix=f".{path.name}.", suffix=".tmp", dir=path.parent
    )
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(text)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


# -- A TOML writer for the shapes a profile has -----------------------------

_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")
_ESCAPES = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\t": "\\t", "\n": "\\n"}
_ESCAPES |= {"\f": "\\f", "\r": "\\r"}


def _string(text: str) -> str:
    out = []
    for ch in text:
        if ch in _ESCAPES:
            out.append(_ESCAPES[ch])
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            # TOML forbids raw control characters in basic strings.
            out.append(f"\\u{ord(ch):04X}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def _key(key: str) -> str:
    return key if _BARE_KEY.match(key) else _string(key)


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"cannot write {value!r} in a profile")
        return repr(value)
    if isinstance(value, str):
        return _string(value)
    if isinstance(value, list):
        if not value:
            return "[]"
        return "[\n" + "".join(f"    {_value(v)},\n" for v in value) + "]"
    raise TypeError(f"cannot write {type(value).__name__} in a profile")


def dumps(data: dict[str, Any]) -> str:
    """TOML for a dict of scalars and lists, then one level of tables."""
    lines = [
        f"{_key(k)} = {_value(v)}" for k, v in data.items() if not isinstance(v, dict)
    ]
    for name, table in data.items():
        if isinstance(table, dict):
            lines += ["", f"[{_key(name)}]"]
            for key, value in table.items():
                if isinstance(value, dict):
                    raise TypeError("profiles nest tables one level deep only")
                lines.append(f"{_key(key)} = {_value(value)}")
    return "\n".join(lines) + "\n"
