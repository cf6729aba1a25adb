"""Where a session starts: pick a provider, or type the hosts to scan.

The list holds the lab profiles (in demo mode), the user's saved profiles
and the built-in catalog, filtered as the user types. Saved profiles are
files, so they and the catalog are read by a worker thread once the
screen is up, never on the event loop; a profile file that cannot be read
is listed, greyed, with its path and the reason, instead of hiding the
others or stopping the app.

The form accepts the same spellings as the command line and checks them
with `mailtui.targets`, so a typo is flagged on the field that holds it,
with the parser's one-line message, and never raises. Its first field
takes a mail domain or address instead: discovery runs in a worker and
what it found is offered to scan or to save as a profile.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.screen import Screen
from textual.validation import Failure, ValidationResult, Validator
from textual.widgets import (
    Button,
    Collapsible,
    Header,
    Input,
    Label,
    OptionList,
    Static,
    TabbedContent,
    TabPane,
)
from textual.widgets.option_list import Option

from mailtui.model import Endpoint
from mailtui.providers import (
    BrokenProfile,
    Profile,
    Provider,
    list_profiles,
    load_catalog,
)
from mailtui.targets import TargetError, parse_resolve, parse_targets
from mailtui.tui import render
from mailtui.tui.messages import ScanRequested
from mailtui.tui.widgets.footer import FittingFooter

if TYPE_CHECKING:
    from mailtui.providers.discovery import Discovery

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Choice:
    """Something that can be scanned by name: a lab profile, a provider."""

    name: str
    description: str
    endpoints: list[Endpoint]
    kind: str = "lab"
    """"lab", "profile", "provider", or "broken" (a file that failed to read)."""
    profile: Profile | None = None
    """The saved profile, whose options (pins, CA file, limits) apply."""
    keywords: str = ""
    """More words the filter matches (aliases, mail domains)."""

    def matches(self, query: str) -> bool:
        words = query.lower().split()
        haystack = f"{self.name} {self.kind} {self.description} {self.keywords}"
        return all(word in haystack.lower() for word in words)

    @property
    def broken(self) -> bool:
        return self.kind == "broken"


def provider_choice(provider: Provider) -> Choice:
    hosts = ", ".join(dict.fromkeys(host for _, host in provider.hosts))
    return Choice(
        provider.id,
        f"{provider.name}: {hosts}",
        provider.endpoints(),
        kind="provider",
        keywords=" ".join((*provider.aliases, *provider.domains)),
    )


def profile_choice(profile: Profile) -> Choice:
    try:
        endpoints = profile.endpoints()
    except TargetError as error:
        path = profile.path or Path(f"{profile.name}.toml")
        return broken_choice(BrokenProfile(profile.name, path, str(error)))
    where = ", ".join(profile.targets[:3]) + (" …" if len(profile.targets) > 3 else "")
    notes = f" ({profile.notes})" if profile.notes else ""
    return Choice(
        profile.name, where + notes, endpoints, kind="profile", profile=profile
    )


def broken_choice(broken: BrokenProfile) -> Choice:
    return Choice(broken.name or "?", str(broken), [], kind="broken")


def load_saved(directory: Path | None = None) -> list[Choice]:
    """Saved profiles (broken ones too), then the catalog; reads files."""
    profiles, broken = list_profiles(directory)
    return [
        *(profile_choice(p) for p in profiles),
        *(broken_choice(b) for b in broken),
        *(provider_choice(p) for p in load_catalog()),
    ]


def _check_domain(value: str) -> None:
    from mailtui.providers.discovery import domain_of

    domain_of(value)


def _check_targets(value: str) -> None:
    parse_targets(value.split())


def _check_host(value: str) -> None:
    parse_targets([], smtp=value)


def _check_resolve(value: str) -> None:
    for spec in value.replace(",", " ").split():
        parse_resolve(spec)


def _check_ca_file(value: str) -> None:
    if not Path(value).expanduser().is_file():
        raise TargetError(f"no such file: {value!r}")


class _ParserValidator(Validator):
    """Runs one of the `_check_*` functions; an empty field is fine."""

    def __init__(self, check: object) -> None:
        super().__init__()
        self.check = check

    def validate(self, value: str) -> ValidationResult:
        if not value.strip():
            return self.success()
        try:
            self.check(value.strip())  # type: ignore[operator]
        except TargetError as error:
            return self.failure(str(error))
        return self.success()


_DOMAIN_VALIDATOR = _ParserValidator(_check_domain)

_FIELDS: dict[str, tuple[str, str, object]] = {
    "targets": (
        "Hosts or endpoints",
        "mail.example.org  or  imaps://imap.example.org:993 …",
        _check_targets,
    ),
    "smtp": ("SMTP host", "smtp.example.org", _check_host),
    "imap": ("IMAP host", "imap.example.org", _check_host),
    "pop": ("POP3 host", "pop.example.org", _check_host),
    "resolve": ("Pin names (--resolve)", "HOST:ADDRESS, …", _check_resolve),
    "ca-file": ("CA file (PEM)", "/path/to/ca.pem", _check_ca_file),
}
"""Form fields: id -> (label, placeholder, check)."""


class HostForm(VerticalScroll):
    """Hosts typed by hand, and a mail domain to discover."""

    def compose(self) -> ComposeResult:
        yield from _field("targets")
        with Horizontal(id="per-protocol"):
            for name in ("smtp", "imap", "pop"):
                with VerticalScroll(classes="field-column"):
                    yield from _field(name)
        yield Label(
            "Or a mail domain or address, to discover its servers",
            classes="field-label",
        )
        with Horizontal(id="discover-row"):
            yield Input(
                placeholder="example.org  or  me@example.org",
                id="domain",
                validators=[_ParserValidator(_check_domain)],
                validate_on=["submitted"],
            )
            yield Button("Discover", id="discover-button")
        yield Label("", id="domain-error", classes="field-error", markup=False)
        yield Static(id="discovered", markup=False)
        with Horizontal(id="discovered-actions"):
            yield Button("Scan these", id="scan-discovered", variant="primary")
            yield Button("Save as profile", id="save-discovered")
        with Collapsible(title="Advanced", id="advanced"):
            yield from _field("resolve")
            yield from _field("ca-file")
        yield Static(id="form-error", markup=False)
        yield Button("Scan", id="scan-button", variant="primary")


def _field(name: str) -> ComposeResult:
    label, placeholder, check = _FIELDS[name]
    yield Label(label, classes="field-label")
    yield Input(
        placeholder=placeholder,
        id=name,
        validators=[_ParserValidator(check)],
        validate_on=["blur", "submitted"],
    )
    yield Label("", id=f"{name}-error", classes="field-error", markup=False)


class PickerScreen(Screen[None]):
    """Providers to pick from, and a form for anything else."""

    BINDINGS = [
        Binding("ctrl+t", "switch_tab", "Providers/Hosts", id="switch-tab"),
        Binding("ctrl+s", "submit_form", "Scan hosts", id="scan-hosts"),
        Binding("ctrl+r", "reload", "Reload profiles", id="reload-profiles"),
    ]

    def __init__(self, choices: list[Choice] | None = None) -> None:
        """Offer `choices` first; saved profiles and the catalog follow."""
        super().__init__()
        self.given: list[Choice] = list(choices or [])
        self.saved: list[Choice] = []
        self.discovery: Discovery | None = None
        """The last discovery's result, offered to scan or save."""
        self.discovery_timeout = 5.0
        """Seconds each discovery query may take."""

    @property
    def choices(self) -> list[Choice]:
        """Everything the list can show, in order, before filtering."""
        return [*self.given, *self.saved]

    def compose(self) -> ComposeResult:
        yield Header()
        with TabbedContent(initial="tab-providers", id="picker-tabs"):
            with TabPane("Providers", id="tab-providers"):
                yield Input(placeholder="Type to filter", id="filter")
                yield OptionList(id="choices")
            with TabPane("Hosts", id="tab-hosts"):
                yield HostForm(id="form")
        yield FittingFooter()

    def on_mount(self) -> None:
        self.title = "mailtui"
        self.sub_title = "pick a provider or enter hosts"
        self._refresh_choices()
        self.query_one("#filter", Input).focus()
        self.action_reload()

    # The provider list.

    def set_choices(self, choices: list[Choice]) -> None:
        """Replace what is offered first (the lab starts after the screen)."""
        self.given = list(choices)
        if self.is_mounted:
            self._refresh_choices()

    def action_reload(self) -> None:
        """Read the saved profiles and the catalog again, off the event loop."""
        self._load_saved()

    @work(group="load-saved", exclusive=True, exit_on_error=False)
    async def _load_saved(self) -> None:
        directory = getattr(self.app, "profiles_dir", None)
        try:
            saved = await asyncio.to_thread(load_saved, directory)
        except Exception as error:  # a broken catalog is a bug, not a crash
            log.exception("could not read the profiles or the catalog")
            self.notify(
                f"Could not read the profiles or the catalog: {error}",
                severity="error",
                markup=False,
            )
            return
        self.saved = saved
        self._refresh_choices()

    def _refresh_choices(self) -> None:
        query = self.query_one("#filter", Input).value
        options = self.query_one("#choices", OptionList)
        options.clear_options()
        for index, choice in enumerate(self.choices):
            if choice.matches(query):
                options.add_option(
                    Option(_prompt(choice), id=str(index), disabled=choice.broken)
                )
        first = next(
            (
                i
                for i in range(options.option_count)
                if not options.get_option_at_index(i).disabled
            ),
            None,
        )
        if first is not None:
            options.highlighted = first

    @on(Input.Changed, "#filter")
    def _filter_changed(self) -> None:
        self._refresh_choices()

    @on(Input.Submitted, "#filter")
    def _filter_submitted(self) -> None:
        options = self.query_one("#choices", OptionList)
        if options.highlighted is not None:
            self._pick(options.get_option_at_index(options.highlighted))

    @on(OptionList.OptionSelected, "#choices")
    def _option_selected(self, event: OptionList.OptionSelected) -> None:
        self._pick(event.option)

    def _pick(self, option: Option) -> None:
        choice = self.choices[int(option.id or 0)]
        if choice.broken:
            return
        self.post_message(
            ScanRequested(list(choice.endpoints), choice.name, profile=choice.profile)
        )

    def key_down(self) -> None:
        # Down from the filter goes to the list, as in a search box.
        if self.focused is self.query_one("#filter"):
            self.query_one("#choices").focus()

    # Discovery.

    @on(Input.Submitted, "#domain")
    @on(Button.Pressed, "#discover-button")
    def _discover_asked(self) -> None:
        field = self.query_one("#domain", Input)
        result = field.validate(field.value)
        if not field.value.strip():
            result = ValidationResult.failure(
                [Failure(_DOMAIN_VALIDATOR, field.value, "type a domain or address")]
            )
        if self._show_field_error(field, result):
            self._discover(field.value.strip())

    @work(group="discover", exclusive=True, exit_on_error=False)
    async def _discover(self, query: str) -> None:
        from mailtui.providers.discovery import DiscoveryError, discover

        found = self.query_one("#discovered", Static)
        self.discovery = None
        self.set_class(False, "-discovered")
        found.display = True
        found.update(Text(f"Looking for the mail servers of {query}…"))
        try:
            result = await discover(query, timeout=self.discovery_timeout)
        except (DiscoveryError, TargetError) as error:
            found.display = False
            self._field_error("domain", str(error))
            return
        if not result.found:
            found.display = False
            why = (
                f"{result.domain} does not exist"
                if result.domain_missing
                else f"no mail servers found for {result.domain}"
            )
            self._field_error("domain", why)
            return
        self.discovery = result
        self._field_error("domain", "")
        found.update(discovery_text(result))
        self.set_class(True, "-discovered")

    @on(Button.Pressed, "#scan-discovered")
    def _scan_discovered(self) -> None:
        if self.discovery is not None:
            endpoints = self.discovery.endpoints()
            self.post_message(ScanRequested(endpoints, self.discovery.domain))

    @on(Button.Pressed, "#save-discovered")
    def _save_discovered(self) -> None:
        from mailtui.tui.screens.dialogs import SaveProfileScreen

        discovery = self.discovery
        if discovery is None:
            return
        name = discovery.domain.replace(".", "-")
        self.app.push_screen(
            SaveProfileScreen(discovery.to_profile, name), self._profile_saved
        )

    def _profile_saved(self, path: Path | None) -> None:
        if path is not None:
            self.notify(f"Profile saved to {path}", markup=False)
            self.action_reload()

    def _field_error(self, name: str, message: str) -> None:
        field = self.query_one(f"#{name}", Input)
        field.set_class(bool(message), "-invalid")
        error = self.query_one(f"#{name}-error", Label)
        error.update(Text(message))
        error.set_class(bool(message), "-shown")

    # The form.

    @on(Input.Blurred)
    @on(Input.Submitted)
    def _field_checked(self, event: Input.Blurred | Input.Submitted) -> None:
        if event.input.id in _FIELDS:
            self._show_field_error(event.input, event.validation_result)

    @on(Input.Submitted)
    @on(Button.Pressed, "#scan-button")
    def _form_submitted(self, event: Input.Submitted | Button.Pressed) -> None:
        if isinstance(event, Input.Submitted) and event.input.id not in _FIELDS:
            return
        self.action_submit_form()

    def _show_field_error(self, field: Input, result: ValidationResult | None) -> bool:
        """Show the field's first error under it; True when the field is fine."""
        message = (
            "" if result is None or result.is_valid else result.failure_descriptions[0]
        )
        self._field_error(str(field.id), message)
        return not message

    def action_submit_form(self) -> None:
        """Check every field, then ask for a scan of what they name."""
        values: dict[str, str] = {}
        valid = True
        for name in _FIELDS:
            field = self.query_one(f"#{name}", Input)
            valid = self._show_field_error(field, field.validate(field.value)) and valid
            values[name] = field.value.strip()
        form_error = self.query_one("#form-error", Static)
        if not valid:
            form_error.update(Text("Fix the fields marked in red."))
            return
        try:
            endpoints = parse_targets(
                values["targets"].split(),
                smtp=values["smtp"] or None,
                imap=values["imap"] or None,
                pop=values["pop"] or None,
            )
        except TargetError as error:
            form_error.update(Text(str(error)))
            return
        form_error.update("")
        resolve = dict(
            parse_resolve(spec) for spec in values["resolve"].replace(",", " ").split()
        )
        target = " ".join(
            v
            for k, v in values.items()
            if k in ("targets", "smtp", "imap", "pop") and v
        )
        self.post_message(
            ScanRequested(endpoints, target, resolve, values["ca-file"] or None)
        )

    def action_switch_tab(self) -> None:
        tabs = self.query_one(TabbedContent)
        tabs.active = "tab-hosts" if tabs.active == "tab-providers" else "tab-providers"
        first = "#targets" if tabs.active == "tab-hosts" else "#filter"
        self.query_one(first).focus()


_KIND_STYLES = {
    "lab": "magenta",
    "profile": "green",
    "provider": "cyan",
    "broken": "red",
}


def _prompt(choice: Choice) -> Text:
    """A list entry: name, kind, then what it holds (a broken file's error)."""
    prompt = Text.assemble(
        (f"{choice.kind:<8} ", _KIND_STYLES.get(choice.kind, "")),
        no_wrap=True,
        overflow="ellipsis",
    )
    prompt.append_text(render.literal(choice.name, "bold"))
    prompt.append("  ")
    prompt.append_text(render.literal(choice.description, "dim"))
    return prompt


def discovery_text(result: Discovery) -> Text:
    """What discovery found, one endpoint a line, with where it came from."""
    how = result.step or "nothing"
    text = Text(f"Found by {how} for {result.domain}")
    if result.provider is not None:
        text.append(f" (hosted by {result.provider.name})")
    if result.only_guesses:
        text.append(": guessed host names, nothing documented them")
    for found in result.found:
        text.append("\n  ")
        text.append_text(render.literal(found.endpoint.key))
        text.append("  ")
        text.append_text(render.literal(found.source, "dim"))
    return text
