"""Every scan kept on disk, per target, so a later scan can say what changed.

Scans live under the user data directory (`mailtui.providers.paths`, which
honours `MAILTUI_DATA_DIR`)::

    <data dir>/history/<target slug>/<scan id>.json

Each file is the JSON report of the scan (`Scan.to_dict()`), so a saved
scan and an exported JSON report are the same thing and either can be
diffed or rendered again. A scan id is its start time plus a short digest
(`20260104T093000Z-3f9a2c`): sortable, unique, and short enough to type.

Files are written through a temporary file and a rename, so a crash never
leaves half a scan; a file that is unreadable anyway (edited by hand,
truncated by a full disk) is skipped with a logged warning, never a crash.

A scan is named on the command line by `ref`:

- a path to a JSON report file;
- a scan id (or a unique prefix of one);
- a target, meaning its latest scan, or `TARGET~N`, its N-th scan back.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from dataclasses import dataclass
from pathlib import Path

from mailtui.model import SERVICES, Scan
from mailtui.providers.paths import data_dir
from mailtui.reports import write_atomically

log = logging.getLogger(__name__)

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
_ID_PREFIX = re.compile(r"\d{8}(T\d{0,6}(Z(-[0-9a-f]{0,6})?)?)?")


class HistoryError(Exception):
    """A scan reference that names nothing usable; the message says why."""


@dataclass(frozen=True)
class SavedScan:
    """One scan in the history, as listed (its endpoints are not loaded)."""

    id: str
    target: str
    started_at: str
    path: Path
    verdicts: dict[str, int]
    """How many endpoints got each verdict."""

    def load(self) -> Scan:
        return load_file(self.path)


def history_dir() -> Path:
    """Where the history lives; nothing is created by asking."""
    return data_dir() / "history"


def target_slug(target: str) -> str:
    """A directory name for `target`: readable, and distinct per target."""
    slug = _UNSAFE.sub("_", target).strip("._")[:60] or "unnamed"
    if slug != target:
        # Two targets can flatten to one slug ("a b" and "a_b"): a digest of
        # the real name keeps their histories apart.
        slug += "-" + hashlib.sha256(target.encode()).hexdigest()[:8]
    return slug


def scan_id(scan: Scan, text: str) -> str:
    """The id of `scan`, from its start time and the digest of its JSON."""
    stamp = re.sub(r"[^0-9]", "", scan.started_at[:19])
    digest = hashlib.sha256(text.encode()).hexdigest()[:6]
    return f"{stamp[:8]}T{stamp[8:14]}Z-{digest}"


def save(scan: Scan) -> SavedScan:
    """Keep `scan` in the history and say where it went."""
    text = json.dumps(scan.to_dict(), indent=2, ensure_ascii=False) + "\n"
    ident = scan_id(scan, text)
    path = history_dir() / target_slug(scan.target) / f"{ident}.json"
    write_atomically(path, text)
    log.info("saved scan %s of %r to %s", ident, scan.target, path)
    return _entry(path, scan.to_dict())


def load_file(path: Path) -> Scan:
    """A scan from a JSON report file; HistoryError says what is wrong."""
    try:
        return _scan_from(json.loads(Path(path).read_text(encoding="utf-8")))
    except FileNotFoundError:
        raise HistoryError(f"{path}: no such file") from None
    except OSError as exc:
        raise HistoryError(f"{path}: {exc.strerror or exc}") from None
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        detail = f"missing key {exc}" if isinstance(exc, KeyError) else str(exc)
        raise HistoryError(f"{path}: not a mailtui scan ({detail})") from None


def _scan_from(data: object) -> Scan:
    """`Scan.from_dict`, refusing too what would only fail once rendered."""
    if not isinstance(data, dict):
        raise ValueError("not a JSON object")
    scan = Scan.from_dict(data)
    for result in scan.results:
        if result.endpoint.service not in SERVICES:
            raise ValueError(f"unknown service {result.endpoint.service!r}")
    return scan


def _entry(path: Path, data: dict) -> SavedScan:
    verdicts: dict[str, int] = {}
    for endpoint in data["endpoints"]:
        verdict = str(endpoint["verdict"])
        verdicts[verdict] = verdicts.get(verdict, 0) + 1
    return SavedScan(
        id=path.stem,
        target=str(data.get("target", "")),
        started_at=str(data["started_at"]),
        path=path,
        verdicts=verdicts,
    )


def _read_entry(path: Path) -> SavedScan | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        _scan_from(data)  # the full check: a listed scan must be loadable
        return _entry(path, data)
    except Exception as exc:  # any damage at all means "skip this file"
        log.warning("skipping unreadable history file %s: %s", path, exc)
        return None


def list_scans(target: str | None = None) -> list[SavedScan]:
    """Saved scans, oldest first; only those of `target` when given."""
    root = history_dir()
    if target is not None:
        folders = [root / target_slug(target)]
    else:
        folders = sorted(p for p in root.glob("*") if p.is_dir())
    entries = []
    for folder in folders:
        for path in sorted(folder.glob("*.json")):
            entry = _read_entry(path)
            if entry is not None and (target is None or entry.target == target):
                entries.append(entry)
    return sorted(entries, key=lambda e: (e.started_at, e.id))


def targets() -> list[str]:
    """Every target with at least one readable saved scan."""
    return sorted({e.target for e in list_scans()})


def resolve(ref: str) -> Scan:
    """The scan `ref` names: a file, a scan id, `TARGET` or `TARGET~N`."""
    path = Path(ref).expanduser()
    if path.is_file() or path.suffix.lower() == ".json":
        return load_file(path)
    return find(ref).load()


def find(ref: str) -> SavedScan:
    """The saved scan `ref` names: a scan id (or prefix), TARGET, TARGET~N."""
    if _ID_PREFIX.fullmatch(ref):
        matches = [e for e in list_scans() if e.id.startswith(ref)]
        if len(matches) == 1:
            return matches[0]
        if matches:
            raise HistoryError(f"{ref}: several saved scans match; give more of the id")
        raise HistoryError(f"{ref}: no saved scan has this id")
    target, _, back = ref.rpartition("~")
    if not target or not back.isdigit():
        target, back = ref, "0"
    scans = list_scans(target)
    if not scans:
        raise HistoryError(f"{ref}: no such file, scan id or scanned target")
    if int(back) >= len(scans):
        kept = "1 saved scan" if len(scans) == 1 else f"{len(scans)} saved scans"
        raise HistoryError(f"{ref}: {target!r} has only {kept}")
    return scans[-1 - int(back)]
