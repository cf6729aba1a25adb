"""Where a session starts: pick a provider, or type the hosts to scan.

The list holds whatever the app was given as `Choice`s (the lab profiles,
later the built-in catalog and saved profiles), filtered as the user types.
The form accepts the same spellings as the command line and checks them
with `mailtui.targets`, so a typo is flagged on the field that holds it,
with the parser's one-line message, and never raises.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.screen import Screen
from textual.validation import ValidationResult, Validator
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
from mailtui.targets import TargetError, parse_resolve, parse_targets
from mailtui.tui import render
from mailtui.tui.messages import ScanRequested
from mailtui.tui.widgets.footer import FittingFooter


@dataclass(frozen=True)
class Choice:
    """Something that can be scanned by name: a lab profile, a provider."""

    name: str
    description: str
    endpoints: list[Endpoint]

    def matches(self, query: str) -> bool:
        words = query.lower().split()
        haystack = f"{self.name} {self.description}".lower()
        return all(word in haystack for word in words)


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


class PickerScreen(Screen[None]):
    """Providers to pick from, and a form for anything else."""

    BINDINGS = [
        Binding("ctrl+t", "switch_tab", "Providers/Hosts", id="switch-tab"),
        Binding("ctrl+s", "submit_form", "Scan hosts", id="scan-hosts"),
    ]

    def __init__(self, choices: list[Choice] | None = None) -> None:
        super().__init__()
        self.choices: list[Choice] = list(choices or [])

    def compose(self) -> ComposeResult:
        yield Header()
        with TabbedContent(initial="tab-providers", id="picker-tabs"):
            with TabPane("Providers", id="tab-providers"):
                yield Input(placeholder="Type to filter", id="filter")
                yield OptionList(id="choices")
            with TabPane("Hosts", id="tab-hosts"), VerticalScroll(id="form"):
                yield from self._field("targets")
                with Horizontal(id="per-protocol"):
                    for name in ("smtp", "imap", "pop"):
                        with VerticalScroll(classes="field-column"):
                            yield from self._field(name)
                with Collapsible(title="Advanced", id="advanced"):
                    yield from self._field("resolve")
                    yield from self._field("ca-file")
                yield Static(id="form-error", markup=False)
                yield Button("Scan", id="scan-button", variant="primary")
        yield FittingFooter()

    def _field(self, name: str) -> ComposeResult:
        label, placeholder, check = _FIELDS[name]
        yield Label(label, classes="field-label")
        yield Input(
            placeholder=placeholder,
            id=name,
            validators=[_ParserValidator(check)],
            validate_on=["blur", "submitted"],
        )
        yield Label("", id=f"{name}-error", classes="field-error", markup=False)

    def on_mount(self) -> None:
        self.title = "mailtui"
        self.sub_title = "pick a provider or enter hosts"
        self._refresh_choices()
        self.query_one("#filter", Input).focus()

    # The provider list.

    def set_choices(self, choices: list[Choice]) -> None:
        """Replace the list (the lab starts after the screen is shown)."""
        self.choices = list(choices)
        if self.is_mounted:
            self._refresh_choices()

    def _refresh_choices(self) -> None:
        query = self.query_one("#filter", Input).value
        options = self.query_one("#choices", OptionList)
        options.clear_options()
        for index, choice in enumerate(self.choices):
            if choice.matches(query):
                prompt = Text.assemble((choice.name, "bold"), "  ")
                prompt.append_text(render.literal(choice.description, "dim"))
                options.add_option(Option(prompt, id=str(index)))
        if options.option_count:
            options.highlighted = 0

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
        self.post_message(ScanRequested(list(choice.endpoints), choice.name))

    def key_down(self) -> None:
        # Down from the filter goes to the list, as in a search box.
        if self.focused is self.query_one("#filter"):
            self.query_one("#choices").focus()

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
        error = self.query_one(f"#{field.id}-error", Label)
        error.update(Text(message))
        error.set_class(bool(message), "-shown")
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
