"""`mailtui profile`, `mailtui discover` and `mailtui scan NAME` as users run them.

The config and data directories are temporary in every test. Scans go to
the lab's loopback servers (run on a loop in a background thread, since
the CLI starts its own event loop), never to a real provider.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from mailtui.cli import main
from mailtui.lab import Lab
from mailtui.providers import Profile, list_profiles, load_profile, paths, save_profile


@pytest.fixture(autouse=True)
def dirs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv(paths.CONFIG_ENV, str(tmp_path / "config"))
    monkeypatch.setenv(paths.DATA_ENV, str(tmp_path / "data"))
    return tmp_path


@pytest.fixture(scope="module")
def lab() -> Iterator[Lab]:
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    running = Lab(["modern"])
    asyncio.run_coroutine_threadsafe(running.start(), loop).result(60)
    yield running
    asyncio.run_coroutine_threadsafe(running.stop(), loop).result(60)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(5)


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_save_list_show_delete(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(
        capsys,
        "profile",
        "save",
        "office",
        "mail.example.org",
        "imaps://imap.example.org:10993",
        "--resolve",
        "mail.example.org:127.0.0.1",
        "--timeout",
        "2",
        "--notes",
        "the office server",
    )
    assert code == 0
    assert "saved profile 'office' (8 endpoints)" in out
    profile = load_profile("office")
    assert profile.timeout == 2.0
    assert profile.resolve == {"mail.example.org": "127.0.0.1"}

    code, out, _ = run(capsys, "profile", "list")
    assert code == 0
    assert out.startswith("office")
    assert "8 endpoints  the office server" in out

    code, out, _ = run(capsys, "profile", "show", "OFFICE")
    assert "imaps://imap.example.org:10993" in out
    assert "smtp://mail.example.org:25@127.0.0.1" in out

    code, out, _ = run(capsys, "profile", "delete", "office")
    assert code == 0
    assert list_profiles() == ([], [])


def test_list_reports_broken_files_and_the_catalog(
    capsys: pytest.CaptureFixture[str],
) -> None:
    directory = paths.profiles_dir()
    directory.mkdir(parents=True)
    (directory / "broken.toml").write_text("targets = [\n")
    code, out, err = run(capsys, "profile", "list", "--catalog")
    assert code == 0
    assert f"broken profile {directory / 'broken.toml'}: not valid TOML" in err
    assert "orange" in out and "gmail" in out and "(also google" in out


def test_show_a_catalog_provider_marks_documented_endpoints(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, _ = run(capsys, "profile", "show", "google")
    assert code == 0
    assert "provider gmail: Gmail (Google)" in out
    assert "checked 2026-12-03" in out
    lines = {line.split()[0]: line for line in out.splitlines() if "://" in line}
    assert lines["imaps://imap.gmail.com:993"].endswith("documented")
    assert not lines["imap://imap.gmail.com:143"].endswith("documented")


def test_unknown_names_are_one_line_errors(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "profile", "show", "gmial")
    assert code == 2
    assert err.count("\n") == 1
    assert "did you mean gmail" in err
    code, _, err = run(capsys, "scan", "gmial")
    assert code == 2
    assert "closest: gmail" in err and "'gmial.'" in err


def test_saving_a_catalog_name_warns_that_it_shadows(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, _, err = run(capsys, "profile", "save", "orange", "imaps://a.example:993")
    assert code == 0
    assert "now scans this profile, not the catalog's Orange" in err


def test_scan_a_profile_by_name_with_its_options(
    capsys: pytest.CaptureFixture[str], lab: Lab
) -> None:
    profile = Profile.from_endpoints("lab-modern", list(lab.endpoints))
    profile.ca_file = lab.ca_file
    profile.timeout = 3.0
    save_profile(profile)
    code, out, _ = run(capsys, "scan", "lab-modern", "--json", "--no-save")
    scan = json.loads(out)
    assert scan["target"] == "lab-modern"
    assert scan["options"]["ca_file"] == str(lab.ca_file)
    assert scan["options"]["timeout"] == 3.0
    assert {e["label"] for e in scan["endpoints"]} == {"profile:lab-modern"}
    assert [e["key"] for e in scan["endpoints"]] == [e.key for e in lab.endpoints]
    assert all(e["state"] == "open" for e in scan["endpoints"])
    assert code in (0, 1)


def test_scan_save_profile_then_scan_it_again(
    capsys: pytest.CaptureFixture[str], lab: Lab
) -> None:
    endpoint = lab.endpoints[0]
    target = f"{endpoint.service}://{endpoint.host}:{endpoint.port}"
    pin = f"{endpoint.host}:{endpoint.address}"
    args = ["scan", target, "--resolve", pin, "--ca-file", str(lab.ca_file)]
    code, _, err = run(capsys, *args, "--no-save", "--save-profile", "again", "-q")
    assert "saved profile 'again'" in err
    saved = load_profile("again")
    assert saved.targets == [target]
    assert saved.ca_file == lab.ca_file
    assert code in (0, 1)
    code, out, _ = run(capsys, "scan", "again", "--json", "--no-save")
    assert code in (0, 1)
    [result] = json.loads(out)["endpoints"]
    assert result["state"] == "open"
    assert result["address"] == endpoint.address


def test_a_broken_profile_named_in_a_scan_is_a_one_line_error(
    capsys: pytest.CaptureFixture[str],
) -> None:
    directory = paths.profiles_dir()
    directory.mkdir(parents=True)
    (directory / "bad.toml").write_text('targets = ["a.example"]\npassword = "x"\n')
    code, _, err = run(capsys, "scan", "bad")
    assert code == 2
    assert "never hold passwords" in err
    assert str(directory / "bad.toml") in err


def test_a_catalog_name_expands_without_touching_the_network() -> None:
    from mailtui.commands.scan import endpoints_from_args

    parser_args = type(
        "Args",
        (),
        {"targets": ["free", "mail.example.org."], "smtp": None, "imap": None}
        | {"pop": None, "sieve": None},
    )()
    endpoints = endpoints_from_args(parser_args, {})  # type: ignore[arg-type]
    assert endpoints[0].key == "smtp://smtp.free.fr:25"
    assert endpoints[0].label == "provider:free"
    assert endpoints[-1].host == "mail.example.org"


def test_edit_runs_the_editor_and_checks_the_result(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    save_profile(Profile(name="edited", targets=["a.example"]))
    script = tmp_path / "editor.sh"
    script.write_text('#!/bin/sh\nprintf "targets = [\\n" > "$1"\n')
    script.chmod(0o755)
    monkeypatch.setenv("VISUAL", str(script))
    code, _, err = run(capsys, "profile", "edit", "edited")
    assert code == 2
    assert "now broken" in err and "not valid TOML" in err
    fixer = tmp_path / "fixer.sh"
    fixer.write_text('#!/bin/sh\necho \'targets = ["b.example"]\' > "$1"\n')
    fixer.chmod(0o755)
    monkeypatch.setenv("VISUAL", str(fixer))
    code, out, _ = run(capsys, "profile", "edit", "edited")
    assert code == 0
    assert "is valid (7 endpoints)" in out


def test_discover_a_catalog_domain_and_save_it(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, err = run(
        capsys, "discover", "someone@laposte.net", "--save-profile", "myposte"
    )
    assert code == 0
    assert "answered by: catalog" in out
    assert "imaps://imap.laposte.net:993" in out
    assert "catalog:laposte" in out
    assert "saved profile 'myposte'" in err
    assert len(load_profile("myposte").endpoints()) == 7


def test_discover_json(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "discover", "free.fr", "--json")
    assert code == 0
    data = json.loads(out)
    assert data["step"] == "catalog"
    assert data["provider"] == "free"
    assert data["found"][0]["source"] == "catalog:free"


def test_discover_bad_input(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "discover", "user@")
    assert code == 2
    assert err.startswith("mailtui: error:")


def test_profile_and_discover_never_import_textual(dirs: Path) -> None:
    code = (
        "import sys, io, contextlib\n"
        "from mailtui.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    main(['profile', 'list', '--catalog'])\n"
        "    main(['discover', 'orange.fr'])\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'textual'))\n"
    )
    env = os.environ | {paths.CONFIG_ENV: str(dirs / "config")}
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )
    assert done.stdout.strip() == "[]", done.stderr


def test_the_command_line_wins_over_the_profile_which_wins_over_defaults() -> None:
    from mailtui.cli import build_parser
    from mailtui.commands.scan import options_from_args
    from mailtui.probe import ProbeOptions

    save_profile(Profile(name="slow", targets=["imaps://a.example"], timeout=12.0))

    def options(*argv: str) -> ProbeOptions:
        args = ["scan", *argv]
        return options_from_args(build_parser(args).parse_args(args))

    assert options("slow").timeout == 12.0
    assert options("slow", "--timeout", "5").timeout == 5.0
    assert options("slow", "--timeout", "2").deadline == 30.0
    assert options("a.example").timeout == 5.0
    assert options("slow", "--ehlo", "me.example").client_name == "me.example"


def test_a_failing_editor_is_reported(monkeypatch: pytest.MonkeyPatch) -> None:
    save_profile(Profile(name="p1", targets=["imaps://a.example"]))
    monkeypatch.setenv("VISUAL", "false")
    assert main(["profile", "edit", "p1"]) == 2
