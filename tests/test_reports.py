"""Reports from a real lab scan: JSON against its schema, Markdown as GitHub
would render it, HTML as a browser loads it, CSV as a spreadsheet reads it.

The hostile endpoints (the lab's markup banner, and the same scan with a
`<script>` banner put in its place) must come out as text in every format.
"""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import stat
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import jsonschema
import pytest
from markdown_it import MarkdownIt

from mailtui.model import Scan, Verdict
from mailtui.reports import FORMATS, format_for, render, write_atomically
from mailtui.reports.csvreport import COLUMNS
from mailtui.reports.jsonreport import schema
from mailtui.reports.markdown import escape, fenced
from tests.labscans import (
    SCRIPT_BANNER,
    broken,
    profile_scan,
    scan_lab,
    with_script_banner,
)

PROFILES = ("isp2018", "modern", "broken")


@pytest.fixture(scope="module")
def scan() -> Scan:
    return scan_lab()


@pytest.fixture(scope="module")
def hostile(scan: Scan) -> Scan:
    return with_script_banner(scan)


class Tables(HTMLParser):
    """Every table row's cell texts, and every start tag seen, from HTML."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.rows: list[list[str]] = []
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self._cell: list[str] | None = None
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        if tag == "tr":
            self.rows.append([])
        elif tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell is not None:
            self.rows[-1].append("".join(self._cell).strip())
            self._cell = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


# -- JSON ----------------------------------------------------------------------


def validator() -> jsonschema.Draft202012Validator:
    document = schema()
    jsonschema.Draft202012Validator.check_schema(document)
    return jsonschema.Draft202012Validator(document)


@pytest.mark.parametrize("profile", [None, *PROFILES])
def test_json_reports_match_the_schema(scan: Scan, profile: str | None) -> None:
    part = scan if profile is None else profile_scan(scan, profile)
    data = json.loads(render(part, "json"))
    errors = [e.message for e in validator().iter_errors(data)]
    assert errors == []
    assert data["schema"] == "mailtui.scan/1"
    assert Scan.from_dict(data).to_dict() == data


def test_the_schema_rejects_a_damaged_report(scan: Scan) -> None:
    data = json.loads(render(scan, "json"))
    data["endpoints"][0]["verdict"] = "fine"
    del data["endpoints"][1]["transcript"]
    data["endpoints"][2]["port"] = "993"
    assert len(list(validator().iter_errors(data))) == 3


def test_the_schema_ships_as_package_data() -> None:
    assert schema()["properties"]["schema"]["const"] == "mailtui.scan/1"


# -- Markdown ------------------------------------------------------------------


def markdown_html(text: str) -> str:
    return MarkdownIt("commonmark").enable(["table", "strikethrough"]).render(text)


@pytest.mark.parametrize("profile", PROFILES)
def test_markdown_table_has_a_row_per_endpoint(scan: Scan, profile: str) -> None:
    part = profile_scan(scan, profile)
    text = render(part, "markdown")
    assert text.startswith(f"# Mail access points of {profile}\n")
    assert f"Valid as of **{part.started_at[:10]}**" in text
    assert "simulated" in text
    rows = Tables(markdown_html(text)).rows
    header, body = rows[0], rows[1 : 1 + len(part.results)]
    assert header[:2] == ["Protocol", "Host"]
    assert header[-2:] == ["Exchange format", "Recommendation"]
    assert all(len(row) == len(header) for row in body)
    for r, row in zip(part.results, body, strict=True):
        assert row[1] == r.endpoint.host
        assert row[2] == str(r.endpoint.port)


def test_markdown_words_match_the_isp2018_writeup(scan: Scan) -> None:
    rows = Tables(markdown_html(render(profile_scan(scan, "isp2018"), "markdown")))
    by_port_kind = {(row[0], row[3]): row[4] for row in rows.rows[1:8]}
    assert by_port_kind[("IMAP", "plaintext + STARTTLS")].startswith("Acceptable")
    assert by_port_kind[("IMAP", "implicit TLS")] == "Recommended"
    assert by_port_kind[("POP3", "plaintext")] == (
        "Do not use: no STARTTLS, password sent in clear"
    )


def test_markdown_shows_hostile_banners_as_text(hostile: Scan) -> None:
    text = render(hostile, "markdown")
    html = markdown_html(text)
    tags = {tag for tag, _ in Tables(html).tags}
    assert not tags & {"script", "img", "a"}
    # The banner comes out whole in its bullet, pipes and backticks included.
    assert "<strong>Greeting:</strong> 220 &lt;script&gt;" in html
    assert "| `tick` ``` [x](http://a.invalid)" in html.replace("&quot;", '"')
    # The lab's own banner: Rich markup stays literal, escapes stay visible.
    assert "[bold red]pwned[/] [@click=app.quit]x[/]" in html
    assert "\x1b" not in text
    # Transcript fences outlast the triple backticks inside.
    assert "````text\n" in text


def test_markdown_escape_and_fence_units() -> None:
    assert escape("a|b `c` <d> *e* [f](g) $x$\nnext") == (
        r"a\|b \`c\` \<d\> \*e\* \[f\](g) \$x\$ next"
    )
    block = fenced(["x ```` y"])
    assert block.startswith("`````text\n") and block.endswith("\n`````")


# -- HTML ----------------------------------------------------------------------


def test_html_is_self_contained_and_escaped(hostile: Scan) -> None:
    html = render(hostile, "html")
    parsed = Tables(html)
    tags = [tag for tag, _ in parsed.tags]
    assert "script" not in tags and "img" not in tags
    assert not [a for _, a in parsed.tags if a.get("src") or a.get("rel")]
    assert "&lt;script&gt;document.body.setAttribute(" in html
    rows = [a for t, a in parsed.tags if t == "tr" and a.get("data-verdict")]
    assert len(rows) == len(hostile.results)
    assert {a["data-verdict"] for a in rows} == {str(v) for v in Verdict}
    assert html.count('<details class="transcript">') == sum(
        1 for r in hostile.results if r.transcript
    )
    assert html.count('<details class="chain">') == sum(
        1 for r in hostile.results if r.certificate and r.certificate.chain
    )


def chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


def dump_dom(page: Path, profile_dir: Path) -> str:
    done = subprocess.run(
        [
            str(chromium()),
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            f"--user-data-dir={profile_dir}",
            "--dump-dom",
            page.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=90,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


@pytest.mark.skipif(
    chromium() is None and not os.environ.get("CI"),
    reason="Chromium is not installed (.ci/run installs the Debian package)",
)
def test_html_in_a_real_browser(hostile: Scan, tmp_path: Path) -> None:
    page = tmp_path / "report.html"
    page.write_text(render(hostile, "html"), encoding="utf-8")
    dom = dump_dom(page, tmp_path / "chromium")
    parsed = Tables(dom)
    rows = [a for t, a in parsed.tags if t == "tr" and a.get("data-verdict")]
    assert len(rows) == len(hostile.results)
    body = [a for t, a in parsed.tags if t == "body"]
    assert body == [{}], "a script in the banner ran"
    assert "<title>Mail access points of lab</title>" in dom
    assert not [t for t, _ in parsed.tags if t in ("script", "img")]
    assert "&lt;script&gt;document.body.setAttribute(" in dom


# -- CSV -----------------------------------------------------------------------


def test_csv_has_one_row_per_endpoint(scan: Scan) -> None:
    rows = list(csv.reader(io.StringIO(render(scan, "csv"))))
    assert tuple(rows[0]) == COLUMNS
    assert len(rows) == 1 + len(scan.results)
    column = {name: i for i, name in enumerate(COLUMNS)}
    for r, row in zip(scan.results, rows[1:], strict=True):
        assert row[column["host"]] == r.endpoint.host
        assert row[column["port"]] == str(r.endpoint.port)
        assert row[column["verdict"]] == str(r.verdict)
    expired = rows[1 + scan.results.index(broken(scan, "expired"))]
    assert expired[column["certificate"]] == "expired"
    # A 421 greeting ends the dialogue before anyone asks about STARTTLS.
    busy = rows[1 + scan.results.index(broken(scan, "busy"))]
    assert busy[column["starttls"]] == "not asked: the server said to try later"
    table = render(scan, "table").splitlines()
    busy_line = next(line for line in table if line.startswith("busy."))
    assert busy_line.split()[4] == "-"


def test_csv_defuses_formulas(scan: Scan) -> None:
    odd = profile_scan(scan, "broken")
    odd.target = '=HYPERLINK("http://a.invalid")'
    rows = list(csv.reader(io.StringIO(render(odd, "csv"))))
    assert {row[0] for row in rows[1:]} == {"'" + odd.target}


# -- Entry point and files -----------------------------------------------------


def test_every_format_renders_and_unknown_ones_are_refused(scan: Scan) -> None:
    part = profile_scan(scan, "modern")
    for name in FORMATS:
        assert "imap.modern.lab.test" in render(part, name)
    with pytest.raises(ValueError, match="unknown report format 'pdf'"):
        render(part, "pdf")


def test_format_from_file_name() -> None:
    assert [format_for(Path(n)) for n in ("a.MD", "b.htm", "c.csv", "d.json")] == [
        "markdown",
        "html",
        "csv",
        "json",
    ]
    assert format_for(Path("e.txt")) is None


def test_atomic_write_replaces_whole_and_leaves_no_temp(tmp_path: Path) -> None:
    target = tmp_path / "deep" / "report.md"
    write_atomically(target, "first\n")
    target.chmod(0o640)
    write_atomically(target, "second\n")
    assert target.read_text() == "second\n"
    assert stat.S_IMODE(target.stat().st_mode) == 0o640
    assert [p.name for p in target.parent.iterdir()] == ["report.md"]


def test_script_banner_is_in_the_hostile_copy_only(scan: Scan, hostile: Scan) -> None:
    assert broken(hostile, "markup").greeting == SCRIPT_BANNER
    assert broken(scan, "markup").greeting != SCRIPT_BANNER


def test_state_word_tells_silence_from_a_failed_handshake() -> None:
    from mailtui.model import Endpoint, ProbeResult, State
    from mailtui.reports.facts import state_word

    silent = ProbeResult(Endpoint("imap", "x.test", 143), state=State.OPEN)
    failed = ProbeResult(
        Endpoint("imaps", "x.test", 993), state=State.OPEN, tls_error="alert"
    )
    assert (state_word(silent), state_word(failed)) == ("silent", "open")


def test_the_table_explains_a_poor_verdict_even_when_the_reason_is_info() -> None:
    from mailtui.findings import assess
    from mailtui.model import Endpoint, ProbeResult, Severity, StartTls, State, TlsFacts
    from mailtui.reports.table import render_findings

    relay = ProbeResult(Endpoint("smtp", "mx.test", 25), state=State.OPEN)
    relay.greeting = "220 mx.test ESMTP"
    relay.tls = TlsFacts(version="TLSv1.3", cipher="TLS_AES_256_GCM_SHA384", bits=256)
    relay.starttls = StartTls(advertised=True, accepted=True, completed=True)
    assess(relay)
    assert str(relay.verdict) == "do-not-use"
    text = render_findings([relay], minimum=Severity.WARNING)
    assert "relay-port" in text
