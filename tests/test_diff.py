"""Diffs between real lab scans, dressed as two scans of one provider.

The lab serves each behaviour on its own host and random port; a provider
that changes keeps its names and ports. So each pair below takes two real
results and gives them the same endpoint (host, standard port, address)
before comparing: what differs is only what the servers did.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from mailtui import history
from mailtui.cli import main
from mailtui.diff import Change, Effect, diff_scans, render_diff
from mailtui.model import Endpoint, ProbeResult, Scan, Verdict
from mailtui.reports.facts import when
from tests.labscans import broken, find, profile_scan, scan_lab


@pytest.fixture(scope="module")
def scan() -> Scan:
    return scan_lab()


def moved(r: ProbeResult, host: str) -> ProbeResult:
    """`r` as if served by `host` on its service's standard port."""
    ep = r.endpoint
    copied = copy.deepcopy(r)
    copied.endpoint = Endpoint(ep.service, host, ep.spec.port, address="127.0.0.1")
    return copied


def provider(results: list[ProbeResult], started_at: str) -> Scan:
    return Scan(target="mail.example.test", started_at=started_at, results=results)


def isp_then_modern(scan: Scan) -> tuple[Scan, Scan]:
    """The 2018 ISP, then the same ISP configured by today's rules."""

    def hosted(profile: str) -> list[ProbeResult]:
        part = profile_scan(scan, profile)
        return [
            moved(r, r.endpoint.host.split(".")[0] + ".example.test")
            for r in part.results
        ]

    return (
        provider(hosted("isp2018"), "2018-01-04T09:00:00+00:00"),
        provider(hosted("modern"), "2026-01-04T09:00:00+00:00"),
    )


def modern_imaps(scan: Scan) -> ProbeResult:
    return find(
        scan,
        lambda r: (
            r.endpoint.host == "imap.modern.lab.test" and r.endpoint.service == "imaps"
        ),
    )


def pair(old: ProbeResult, new: ProbeResult) -> tuple[Scan, Scan]:
    return (
        provider([moved(old, "imap.example.test")], "2026-01-01T00:00:00+00:00"),
        provider([moved(new, "imap.example.test")], "2026-02-01T08:30:00+00:00"),
    )


def texts(changes: list[Change]) -> dict[str, Effect]:
    return {c.text: c.effect for c in changes}


def starting(said: dict[str, Effect], prefix: str) -> str:
    [text] = [t for t in said if t.startswith(prefix)]
    return text


def test_an_isp_that_modernised(scan: Scan) -> None:
    result = diff_scans(*isp_then_modern(scan))
    said = texts(result.changes)
    assert said["587 now offers STARTTLS"] is Effect.BETTER
    assert said["587 is now acceptable (was do not use)"] is Effect.BETTER
    assert said["110 now offers STARTTLS"] is Effect.BETTER
    assert said["993 now negotiates TLS 1.3 instead of TLS 1.2"] is Effect.BETTER
    assert said["993: TLS 1.3 now accepted"] is Effect.BETTER
    assert said["143: fixed: password offered before TLS"] is Effect.BETTER
    assert said["4190 is new in this scan: acceptable"] is Effect.NEUTRAL
    assert not result.worse, render_diff(result)


def test_the_same_isp_going_back_is_worse(scan: Scan) -> None:
    old, new = isp_then_modern(scan)
    result = diff_scans(new, old)
    said = texts(result.changes)
    assert said[starting(said, "587 no longer offers working STARTTLS (")] is (
        Effect.WORSE
    )
    assert said["587 is now do not use (was acceptable)"] is Effect.WORSE
    assert said["4190 was not scanned this time"] is Effect.NEUTRAL
    assert result.worse
    assert render_diff(result).endswith("In short: something got worse.\n")


def test_a_renewed_certificate(scan: Scan) -> None:
    fresh = modern_imaps(scan)
    result = diff_scans(*pair(broken(scan, "expired"), fresh))
    expires = fresh.certificate.chain[0].not_after[:10]  # type: ignore[union-attr]
    said = texts(result.changes)
    assert said[f"993: certificate renewed, now expires on {expires}"] is (
        Effect.NEUTRAL
    )
    assert said["993: certificate no longer expired"] is Effect.BETTER
    assert not result.worse


def test_tls_10_switched_off(scan: Scan) -> None:
    result = diff_scans(*pair(broken(scan, "tls10"), modern_imaps(scan)))
    said = texts(result.changes)
    assert said["993: TLS 1.0 no longer accepted"] is Effect.BETTER
    assert said["993 now negotiates TLS 1.3 instead of TLS 1.0"] is Effect.BETTER
    assert said["993 is now recommended (was deprecated)"] is Effect.BETTER


def test_a_port_gone_dark_and_back(scan: Scan) -> None:
    old, new = pair(modern_imaps(scan), broken(scan, "filtered"))
    result = diff_scans(old, new)
    [change] = result.changes
    assert change.effect is Effect.WORSE
    assert change.text.startswith(f"993 unreachable since {when(new.started_at)} (")
    assert when(new.started_at) == "2026-02-01 08:30 UTC"
    back = diff_scans(new, old)
    assert texts(back.changes) == {"993 is reachable again: recommended": Effect.BETTER}


def test_a_scan_against_itself_has_no_change(scan: Scan) -> None:
    result = diff_scans(scan, copy.deepcopy(scan))
    assert result.changes == [] and not result.worse
    assert render_diff(result).startswith("No change between the scans of ")


def test_ports_shared_by_several_hosts_are_named_with_the_host(scan: Scan) -> None:
    old = provider(
        [
            moved(broken(scan, "tls10"), "a.example.test"),
            moved(modern_imaps(scan), "b.example.test"),
        ],
        "2026-01-01T00:00:00+00:00",
    )
    new = copy.deepcopy(old)
    new.results[0].verdict = Verdict.DO_NOT_USE
    [change] = diff_scans(old, new).changes
    assert change.where == "a.example.test:993"
    assert change.text == "a.example.test:993 is now do not use (was deprecated)"


def write(scan: Scan, path: Path) -> str:
    path.write_text(json.dumps(scan.to_dict()))
    return str(path)


def test_diff_command_exit_codes(
    scan: Scan,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("MAILTUI_DATA_DIR", str(tmp_path / "data"))
    old, new = isp_then_modern(scan)
    old_file, new_file = (
        write(old, tmp_path / "old.json"),
        write(new, tmp_path / "new.json"),
    )

    assert main(["diff", old_file, new_file]) == 0
    assert "587 now offers STARTTLS" in capsys.readouterr().out
    assert main(["diff", new_file, old_file]) == 1
    capsys.readouterr()
    assert main(["diff", "--json", new_file, old_file]) == 1
    data = json.loads(capsys.readouterr().out)
    assert data["worse"] is True
    assert {
        "where": "587",
        "text": "587 is now do not use (was acceptable)",
        "effect": "worse",
    } in data["changes"]

    (tmp_path / "bad.json").write_text("{")
    assert main(["diff", old_file, str(tmp_path / "bad.json")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "bad.json: not a mailtui scan" in err[0]

    # Saved scans: one target alone compares its last two scans.
    history.save(old)
    history.save(new)
    assert main(["diff", "mail.example.test"]) == 0
    assert main(["diff", "mail.example.test~0", "mail.example.test~1"]) == 1


def test_a_port_alone_names_an_endpoint_only_on_its_standard_port(scan: Scan) -> None:
    imaps = modern_imaps(scan)
    standard, odd = copy.deepcopy(imaps), copy.deepcopy(imaps)
    standard.endpoint = Endpoint("imaps", "imap.example.test", 993)
    odd.endpoint = Endpoint("imaps", "imap.example.test", 10993)
    old = provider([standard, odd], "2026-01-01T00:00:00+00:00")
    new = provider([], "2026-02-01T00:00:00+00:00")
    said = texts(diff_scans(old, new).changes)
    assert "993 was not scanned this time" in said
    assert "imap.example.test:10993 was not scanned this time" in said
