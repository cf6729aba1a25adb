"""The scan history: saved per target, listed, named on the command line,
robust to damaged files, and fed by `mailtui scan` unless `--no-save`."""

from __future__ import annotations

import asyncio
import copy
import json
import logging
from pathlib import Path

import pytest

from mailtui import history
from mailtui.cli import main
from mailtui.lab import Lab
from mailtui.model import Scan
from mailtui.reports import render
from tests.labscans import profile_scan, scan_lab


@pytest.fixture(scope="module")
def scan() -> Scan:
    return scan_lab(["isp2018", "modern"])


@pytest.fixture(autouse=True)
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("MAILTUI_DATA_DIR", str(tmp_path / "data"))
    return tmp_path / "data"


def later(scan: Scan, stamp: str) -> Scan:
    copied = copy.deepcopy(scan)
    copied.started_at = stamp
    return copied


def test_saved_scans_are_listed_per_target_oldest_first(
    scan: Scan, data_dir: Path
) -> None:
    isp, modern = profile_scan(scan, "isp2018"), profile_scan(scan, "modern")
    first = history.save(isp)
    second = history.save(later(isp, "2030-01-02T03:04:05+00:00"))
    history.save(modern)

    assert [e.id for e in history.list_scans("isp2018")] == [first.id, second.id]
    assert second.id.startswith("20300102T030405Z-")
    assert history.targets() == ["isp2018", "modern"]
    assert first.path.parent == data_dir / "history" / "isp2018"
    assert sum(first.verdicts.values()) == len(isp.results)
    assert history.find("isp2018").id == second.id
    assert history.find("isp2018~1").id == first.id
    assert history.find(second.id[:12]).id == second.id
    assert history.resolve(first.id).to_dict() == isp.to_dict()
    assert history.resolve(str(first.path)).to_dict() == isp.to_dict()
    assert not list(data_dir.rglob(".*"))  # no temporary file left behind


def test_bad_references_say_what_is_wrong(scan: Scan, tmp_path: Path) -> None:
    history.save(profile_scan(scan, "modern"))
    with pytest.raises(history.HistoryError, match=r"has only 1 saved scan$"):
        history.find("modern~1")
    with pytest.raises(history.HistoryError, match="no such file, scan id or"):
        history.find("never-scanned.example")
    with pytest.raises(history.HistoryError, match="no saved scan has this id"):
        history.find("19990101T000000Z")
    junk = tmp_path / "junk.json"
    junk.write_text('{"schema": "mailtui.scan/1"}')
    with pytest.raises(history.HistoryError, match="not a mailtui scan"):
        history.resolve(str(junk))
    with pytest.raises(history.HistoryError, match="no such file"):
        history.resolve(str(tmp_path / "missing.json"))
    # Loaded fine, then failed as an internal error once a report named it.
    odd = scan.to_dict()
    odd["endpoints"][0]["service"] = "gopher"
    junk.write_text(json.dumps(odd))
    with pytest.raises(history.HistoryError, match="unknown service 'gopher'"):
        history.resolve(str(junk))


def test_a_damaged_file_is_skipped_with_a_warning(
    scan: Scan, caplog: pytest.LogCaptureFixture
) -> None:
    good = history.save(profile_scan(scan, "modern"))
    folder = good.path.parent
    (folder / "20200101T000000Z-000000.json").write_text('{"schema": "mailt')
    (folder / "20200102T000000Z-000000.json").write_text("[1, 2]")
    damaged = json.loads(good.path.read_text())
    del damaged["endpoints"][0]["verdict"]
    (folder / "20200103T000000Z-000000.json").write_text(json.dumps(damaged))

    with caplog.at_level(logging.WARNING, logger="mailtui.history"):
        assert [e.id for e in history.list_scans("modern")] == [good.id]
    assert len(caplog.records) == 3
    assert all("skipping unreadable" in r.getMessage() for r in caplog.records)


def test_targets_that_flatten_alike_keep_apart(scan: Scan) -> None:
    assert history.target_slug("a b") != history.target_slug("a_b")
    assert history.target_slug("imap.example.org") == "imap.example.org"
    assert "/" not in history.target_slug("../../etc")
    one = profile_scan(scan, "modern")
    one.target = "a b"
    other = copy.deepcopy(one)
    other.target = "a_b"
    history.save(one)
    history.save(other)
    assert [e.target for e in history.list_scans("a b")] == ["a b"]


def lab_scan_args(lab: Lab) -> list[str]:
    args = ["scan", "--ca-file", str(lab.ca_file), "--timeout", "1.5"]
    args += [f"{ep.service}://{ep.host}:{ep.port}" for ep in lab.endpoints]
    for host, address in lab.pins.items():
        args += ["--resolve", f"{host}:{address}"]
    return args


async def test_headless_scan_saves_and_writes_reports(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    async with Lab(["modern"]) as lab:
        args = lab_scan_args(lab)
        report = tmp_path / "out" / "modern.html"
        code = await asyncio.to_thread(main, [*args, "--output", str(report)])
        assert code == 0
        unsaved = tmp_path / "unsaved.md"
        code = await asyncio.to_thread(main, [*args, "--no-save", "-o", str(unsaved)])
        assert code == 0
        assert await asyncio.to_thread(main, [*args, "--format", "csv"]) == 0
    out = capsys.readouterr().out
    assert "imap.modern.lab.test" in out  # the table, then the CSV
    assert "target,valid_as_of,host,port" in out

    assert report.read_text().startswith("<!DOCTYPE html>")
    assert unsaved.read_text().startswith("# Mail access points of ")
    [target] = history.targets()
    assert len(history.list_scans(target)) == 2  # --no-save kept nothing

    assert main(["history"]) == 0
    assert "(2 scans, latest " in capsys.readouterr().out
    assert main(["history", target]) == 0
    listed = capsys.readouterr().out.splitlines()
    assert len(listed) == 2 and "~0" in listed[0] and "~1" in listed[1]

    again = tmp_path / "again.md"
    assert main(["report", target, "-o", str(again)]) == 0
    assert again.read_text() == render(history.resolve(target), "markdown")


def test_report_command_errors_are_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("not json")
    assert main(["report", str(bad)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("mailtui: error: ")
