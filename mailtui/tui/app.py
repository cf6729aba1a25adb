"""The app object: which screen opens first, and the lab for `mailtui demo`.

The picker is the app's base screen; a scan is pushed over it, and a row's
detail over the scan. `Escape` walks back down that stack. The app does no
probing itself: screens call the engine through a worker and show results.

In demo mode the app owns a `Lab`: it is started by a worker on the app's
own event loop (so the lab servers and the probes share that loop, as they
would share a network), its profiles are offered in the picker, every lab
endpoint is scanned at once, and the lab is stopped when the app exits.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from textual import on
from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.screen import Screen

from mailtui.model import Endpoint, Scan
from mailtui.probe import ProbeOptions
from mailtui.tui.messages import ScanRequested
from mailtui.tui.screens.help import HelpScreen
from mailtui.tui.screens.picker import Choice, PickerScreen
from mailtui.tui.screens.scan import ScanScreen

if TYPE_CHECKING:
    from mailtui.lab import Lab

log = logging.getLogger(__name__)

TEST_SIZE = (100, 30)
"""The terminal size tests and snapshots run at."""


class MailTuiApp(App[int]):
    """Pick, scan, drill down."""

    CSS_PATH = "app.tcss"
    TITLE = "mailtui"
    BINDINGS = [
        Binding("ctrl+q", "quit", "Quit", id="quit", priority=True),
        Binding("f1,question_mark", "help", "Help", id="help"),
    ]

    def __init__(
        self,
        endpoints: list[Endpoint] | None = None,
        options: ProbeOptions | None = None,
        *,
        demo: bool = False,
        target: str = "",
        scan: Scan | None = None,
        choices: list[Choice] | None = None,
        lab_profiles: list[str] | None = None,
        lab_latency: float = 0.0,
        lab_stable_ports: bool = False,
        config_dir: Path | None = None,
        save_history: bool = True,
    ) -> None:
        """Open on a scan of `endpoints`, on `scan` (done), or on the picker.

        Args:
            endpoints: scan these at once.
            options: the engine's knobs for every scan of this session.
            demo: start the lab and scan all of its endpoints.
            target: what the endpoints are called (a host, a profile).
            scan: a finished scan to show instead of probing.
            choices: what the picker offers first; the saved profiles and
                the catalog follow, read from disk once the app is up.
            lab_profiles: in demo mode, the lab profiles to start (all if None).
            lab_latency: in demo mode, imitated network delay in seconds.
            lab_stable_ports: in demo mode, the same lab ports at every run
                where they are free (the history of the demo then lines up).
            config_dir: where saved profiles live (tests use a temporary one).
            save_history: keep every finished scan in the history.
        """
        super().__init__()
        self.options = options or ProbeOptions()
        self.config_dir = config_dir
        self.save_history = save_history
        self.lab: Lab | None = None
        self._start_endpoints = endpoints or []
        self._start_scan = scan
        self._target = target
        self._demo = demo
        self._lab_profiles = lab_profiles
        self._lab_stable_ports = lab_stable_ports
        self._lab_latency = lab_latency
        self.picker = PickerScreen(choices)

    @property
    def profiles_dir(self) -> Path | None:
        """Where profiles are saved: None for the usual place (`paths`)."""
        return self.config_dir / "profiles" if self.config_dir else None

    def get_default_screen(self) -> Screen:
        return self.picker

    def on_load(self) -> None:
        # The lab's keys and certificates take a moment to make: start them
        # before the first screen is even composed, so the grid comes sooner.
        if self._demo:
            self.run_worker(self._start_lab(), group="lab", exit_on_error=False)

    def on_mount(self) -> None:
        if self._demo:
            if self.lab is None or not self.lab.endpoints:
                self.notify("Starting the lab (simulated providers on loopback)…")
        elif self._start_scan is not None:
            scan = self._start_scan
            endpoints = [r.endpoint for r in scan.results]
            self.push_screen(
                ScanScreen(endpoints, self.options, scan.target, finished=scan)
            )
        elif self._start_endpoints:
            self.open_scan(self._start_endpoints, self._target or "command line")

    async def _start_lab(self) -> None:
        from mailtui.lab import Lab

        lab = Lab(
            self._lab_profiles,
            latency=self._lab_latency,
            stable_ports=self._lab_stable_ports,
        )
        self.lab = lab
        try:
            await lab.start()
        except Exception as error:
            log.exception("the lab did not start")
            self.notify(
                f"The lab did not start: {error}", severity="error", markup=False
            )
            return
        # The lab's throwaway CA must be trusted, or every row would fail.
        self.options = replace(self.options, ca_file=lab.ca_file)
        self.picker.set_choices([*lab_choices(lab), *self.picker.given])
        self.open_scan(list(lab.endpoints), "lab: all profiles (simulated)")

    async def on_unmount(self) -> None:
        if self.lab is not None:
            await self.lab.stop()

    def open_scan(
        self,
        endpoints: list[Endpoint],
        target: str,
        options: ProbeOptions | None = None,
    ) -> None:
        """Show a new scan of `endpoints` over the picker."""
        while len(self.screen_stack) > 1:
            self.pop_screen()
        self.push_screen(
            ScanScreen(
                endpoints,
                options or self.options,
                target,
                save_history=self.save_history,
            )
        )

    @on(ScanRequested)
    def _scan_requested(self, request: ScanRequested) -> None:
        options = self.options
        if request.resolve:
            options = replace(options, resolve={**options.resolve, **request.resolve})
        if request.ca_file:
            options = replace(options, ca_file=Path(request.ca_file).expanduser())
        if request.profile is not None:
            options = request.profile.options(options)
        self.open_scan(request.endpoints, request.target, options)

    def action_help(self) -> None:
        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen())

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        """Every key binding of the current screen, in the command palette too."""
        yield from super().get_system_commands(screen)
        seen: set[str] = set()
        for active in screen.active_bindings.values():
            binding = active.binding
            if not binding.description or binding.description in seen:
                continue
            if active.enabled is False or binding.system:
                continue
            seen.add(binding.description)
            yield SystemCommand(
                binding.description,
                binding.tooltip or f"{binding.description} ({binding.key})",
                partial(self.run_action, binding.action, active.node),
            )


def lab_choices(lab: Lab) -> list[Choice]:
    """One picker entry per lab profile, with that profile's endpoints."""
    choices = []
    for profile in lab.profiles:
        name = f"lab:{profile.name}"
        endpoints = [e for e in lab.endpoints if e.label.split()[0] == name]
        choices.append(Choice(name, f"(simulated) {profile.description}", endpoints))
    return choices


def create_app(
    endpoints: list[Endpoint] | None = None,
    options: ProbeOptions | None = None,
    **kwargs: object,
) -> MailTuiApp:
    """The app as tests build it: short timeouts unless told otherwise.

    Run it with `app.run_test(size=TEST_SIZE)`.
    """
    if options is None:
        options = ProbeOptions(timeout=1.0, deadline=5.0)
    return MailTuiApp(endpoints, options, **kwargs)  # type: ignore[arg-type]


def run_app(
    endpoints: list[Endpoint] | None,
    options: ProbeOptions,
    *,
    demo: bool = False,
    target: str = "",
    latency: float = 0.0,
) -> int:
    """Run the app in the terminal until the user quits; the exit code.

    `latency` (seconds, each way) slows the demo lab down to imitate
    distant servers.
    """
    app = MailTuiApp(
        endpoints,
        options,
        demo=demo,
        target=target,
        lab_latency=latency,
        lab_stable_ports=True,
    )
    code = app.run()
    return code if isinstance(code, int) else 0
