"""Saved profiles: round trips, atomic writes, broken files, bad directories.

Every test runs with MAILTUI_CONFIG_DIR pointing at a temporary directory,
so the real user's profiles are never read or written.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mailtui.model import Endpoint
from mailtui.probe import ProbeOptions
from mailtui.providers import (
    Profile,
    ProfileError,
    UnknownName,
    delete_profile,
    list_profiles,
    load_profile,
    lookup,
    named_endpoints,
    named_options,
    paths,
    save_profile,
)
from mailtui.providers.profiles import dumps, endpoint_spec
from mailtui.targets import TargetError


@pytest.fixture(autouse=True)
def config_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    directory = tmp_path / "config"
    monkeypatch.setenv(paths.CONFIG_ENV, str(directory))
    monkeypatch.setenv(paths.DATA_ENV, str(tmp_path / "data"))
    return directory


def _profile(name: str = "work") -> Profile:
    return Profile(
        name=name,
        targets=["mail.example.org", "imaps://imap.example.org:10993"],
        resolve={"mail.example.org": "127.0.0.1", "imap.example.org": "::1"},
        ca_file=Path("/etc/ssl/extra.pem"),
        timeout=2.5,
        deadline=20.0,
        client_name="me.example",
        all_addresses=True,
        notes='Office "mail"\nsecond line\ttab \\ backslash \x01 é',
    )


def test_paths_follow_the_environment(config_dir: Path, tmp_path: Path) -> None:
    assert paths.config_dir() == config_dir
    assert paths.profiles_dir() == config_dir / "profiles"
    assert paths.data_dir() == tmp_path / "data"


def test_paths_default_to_platformdirs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(paths.CONFIG_ENV)
    assert paths.config_dir().name == "mailtui"


def test_a_profile_round_trips_through_its_file(config_dir: Path) -> None:
    profile = _profile()
    path = save_profile(profile)
    assert path == config_dir / "profiles" / "work.toml"
    assert load_profile("work") == profile
    assert load_profile("WORK") == profile
    text = path.read_text(encoding="utf-8")
    assert text.startswith("# mailtui profile 'work'")
    assert "password" not in text.lower().replace("never hold passwords", "")


def test_endpoints_carry_the_profile_label_and_pins() -> None:
    endpoints = _profile().endpoints()
    assert len(endpoints) == 8
    assert {e.label for e in endpoints} == {"profile:work"}
    assert endpoints[0].address == "127.0.0.1"
    assert endpoints[-1].key == "imaps://imap.example.org:10993@::1"


def test_options_overlay_the_base() -> None:
    base = ProbeOptions(timeout=9.0, resolve={"other.example": "192.0.2.1"})
    options = _profile().options(base)
    assert options.timeout == 2.5
    assert options.deadline == 20.0
    assert options.client_name == "me.example"
    assert options.ca_file == Path("/etc/ssl/extra.pem")
    assert options.resolve["other.example"] == "192.0.2.1"
    assert options.resolve["imap.example.org"] == "::1"
    bare = Profile(name="bare", targets=["a.example"])
    assert bare.options(base).timeout == 9.0


def test_a_profile_from_a_scan_keeps_only_what_differs() -> None:
    endpoints = [
        Endpoint("imaps", "mail.example.org", 993, address="127.0.0.1"),
        Endpoint("submission", "2001:db8::1", 587),
    ]
    options = ProbeOptions(timeout=3.0)
    profile = Profile.from_endpoints("scan", endpoints, options)
    assert profile.targets == [
        "imaps://mail.example.org:993",
        "submission://[2001:db8::1]:587",
    ]
    assert profile.resolve == {"mail.example.org": "127.0.0.1"}
    assert profile.timeout == 3.0
    assert profile.deadline is None
    assert [e.key for e in profile.endpoints()] == [e.key for e in endpoints]


def test_saving_writes_atomically_and_leaves_no_temporary_file(
    config_dir: Path,
) -> None:
    save_profile(_profile())
    changed = _profile()
    changed.notes = "second version"
    save_profile(changed)
    directory = config_dir / "profiles"
    assert [p.name for p in directory.iterdir()] == ["work.toml"]
    assert load_profile("work").notes == "second version"


def test_a_failed_write_keeps_the_old_file_and_cleans_up(config_dir: Path) -> None:
    directory = config_dir / "profiles"
    save_profile(_profile("one"))
    # A directory where the file should go makes the final rename fail,
    # after the temporary file was written.
    (directory / "two.toml").mkdir()
    (directory / "two.toml" / "keep").write_text("x")
    with pytest.raises(ProfileError, match="two"):
        save_profile(_profile("two"))
    assert sorted(p.name for p in directory.iterdir()) == ["one.toml", "two.toml"]
    assert load_profile("one").name == "one"


def test_an_unwritable_place_is_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    monkeypatch.setenv(paths.CONFIG_ENV, str(blocker))
    with pytest.raises(ProfileError, match="cannot"):
        save_profile(_profile())
    profiles, broken = list_profiles()
    assert profiles == []
    assert len(broken) == 1
    assert str(blocker) in str(broken[0])


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes through permissions")
def test_a_read_only_directory_is_a_clear_error(config_dir: Path) -> None:
    directory = config_dir / "profiles"
    directory.mkdir(parents=True)
    directory.chmod(0o500)
    try:
        with pytest.raises(ProfileError, match="Permission denied"):
            save_profile(_profile())
    finally:
        directory.chmod(0o700)


BROKEN = {
    "syntax.toml": ("targets = [", "not valid TOML"),
    "secret.toml": ('targets = ["a.example"]\npassword = "x"\n', "never hold"),
    "nested.toml": (
        'targets = ["a.example"]\n[options]\nsmtp_password = "x"\n',
        "looks like a secret",
    ),
    "unknown.toml": ('targets = ["a.example"]\nport = 3\n', "unknown keys"),
    "empty.toml": ("", "targets"),
    "host.toml": ('targets = ["bad host"]\n', "spaces"),
    "timeout.toml": ('targets = ["a.example"]\n[options]\ntimeout = -1\n', "between"),
    "pin.toml": ('targets = ["a.example"]\n[resolve]\n"a.example" = "x"\n', "IP"),
    "binary.toml": (b"\xff\xfe", "UTF-8"),
    "bad name!.toml": ('targets = ["a.example"]\n', "valid profile name"),
}


def _write_broken(directory: Path) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    for name, (content, _) in BROKEN.items():
        if isinstance(content, bytes):
            (directory / name).write_bytes(content)
        else:
            (directory / name).write_text(content)


def test_broken_files_are_reported_with_path_and_error(config_dir: Path) -> None:
    directory = config_dir / "profiles"
    save_profile(_profile())
    _write_broken(directory)
    profiles, broken = list_profiles()
    assert [p.name for p in profiles] == ["work"]
    by_file = {b.path.name: b for b in broken}
    assert set(by_file) == set(BROKEN)
    for name, (_, message) in BROKEN.items():
        assert message in by_file[name].error, name
        assert str(directory / name) in str(by_file[name])


def test_a_password_value_is_not_echoed_in_errors(config_dir: Path) -> None:
    directory = config_dir / "profiles"
    directory.mkdir(parents=True)
    (directory / "leak.toml").write_text(
        'targets = ["a.example"]\n[resolve]\n"a.example" = "hunter2"\n'
    )
    _, broken = list_profiles()
    assert "hunter2" not in broken[0].error


def test_a_broken_file_is_never_overwritten(config_dir: Path) -> None:
    directory = config_dir / "profiles"
    directory.mkdir(parents=True)
    original = 'targets = ["a.example"\n# half edited\n'
    (directory / "work.toml").write_text(original)
    with pytest.raises(ProfileError, match="not overwriting"):
        save_profile(_profile())
    assert (directory / "work.toml").read_text() == original
    with pytest.raises(ProfileError, match="not valid TOML"):
        load_profile("work")
    # Deleting is how a user gets rid of it.
    assert delete_profile("work") == directory / "work.toml"
    save_profile(_profile())


def test_delete_and_unknown_names() -> None:
    save_profile(_profile("office"))
    with pytest.raises(UnknownName, match="did you mean office"):
        load_profile("ofice")
    delete_profile("office")
    with pytest.raises(UnknownName):
        delete_profile("office")
    assert list_profiles() == ([], [])


@pytest.mark.parametrize("name", ["", "a b", "../escape", ".hidden", "x" * 65])
def test_names_that_cannot_be_file_names_are_refused(name: str) -> None:
    with pytest.raises(ProfileError, match="invalid profile name"):
        Profile(name=name, targets=["a.example"])


def test_profiles_come_before_the_catalog_and_names_expand() -> None:
    assert lookup("orange").name == "Orange"  # type: ignore[union-attr]
    save_profile(Profile(name="orange", targets=["imaps://mine.example:993"]))
    found = lookup("orange")
    assert isinstance(found, Profile)
    endpoints, rest = named_endpoints(["orange", "gmail", "mail.example.org"])
    assert rest == ["mail.example.org"]
    assert endpoints[0].key == "imaps://mine.example:993"
    assert {e.label for e in endpoints[1:]} == {"provider:gmail"}


def test_a_near_miss_name_is_an_error_but_other_words_are_hosts() -> None:
    with pytest.raises(TargetError, match=r"closest: gmail.*'gmial\.'"):
        named_endpoints(["gmial"])
    assert named_endpoints(["localhost", "intranethost"]) == (
        [],
        ["localhost", "intranethost"],
    )


def test_named_options_apply_profile_settings(tmp_path: Path) -> None:
    save_profile(Profile(name="slow", targets=["a.example"], timeout=30.0))
    options = named_options(["slow", "orange"], ProbeOptions())
    assert options.timeout == 30.0
    missing = Profile(name="ca", targets=["a.example"], ca_file=tmp_path / "no.pem")
    save_profile(missing)
    with pytest.raises(Exception, match="no such file"):
        named_options(["ca"], ProbeOptions())


def test_endpoint_spec_brackets_ipv6() -> None:
    assert endpoint_spec(Endpoint("imaps", "::1", 993)) == "imaps://[::1]:993"


scalars = st.one_of(
    st.text(max_size=40),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(allow_nan=False, allow_infinity=False),
    st.booleans(),
)
keys = st.text(min_size=1, max_size=12)


@given(
    top=st.dictionaries(
        keys, st.one_of(scalars, st.lists(scalars, max_size=4)), max_size=5
    ),
    table=st.dictionaries(keys, scalars, max_size=5),
)
def test_the_toml_writer_round_trips_through_tomllib(
    top: dict[str, object], table: dict[str, object]
) -> None:
    data = {**top, "zz-table": table}
    assert tomllib.loads(dumps(data)) == data


def test_a_blocked_directory_does_not_stop_lookups(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    monkeypatch.setenv(paths.CONFIG_ENV, str(blocker))
    with pytest.raises(UnknownName):
        load_profile("work")
    assert lookup("gmail").name == "Gmail (Google)"  # type: ignore[union-attr]
