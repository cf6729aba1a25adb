"""Where mailtui keeps its files, answered in one place.

Saved profiles live under the user's config directory and scan history
under the user's data directory, as platformdirs places them for the
platform. Two environment variables move them elsewhere, so tests (and the
app's test factory) never read or write a real user's files:

- `MAILTUI_CONFIG_DIR` replaces the config directory;
- `MAILTUI_DATA_DIR` replaces the data directory.

Nothing here creates a directory: the code that writes does that, so merely
listing profiles never leaves an empty folder behind.
"""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

APP_NAME = "mailtui"

CONFIG_ENV = "MAILTUI_CONFIG_DIR"
"""Environment variable that overrides the config directory."""

DATA_ENV = "MAILTUI_DATA_DIR"
"""Environment variable that overrides the data directory."""


def _override(variable: str) -> Path | None:
    value = os.environ.get(variable, "").strip()
    return Path(value).expanduser() if value else None


def config_dir() -> Path:
    """The user's mailtui config directory (settings, profiles)."""
    return _override(CONFIG_ENV) or Path(platformdirs.user_config_dir(APP_NAME))


def data_dir() -> Path:
    """The user's mailtui data directory (scan history, reports)."""
    return _override(DATA_ENV) or Path(platformdirs.user_data_dir(APP_NAME))


def profiles_dir() -> Path:
    """Where saved profiles live, one TOML file each."""
    return config_dir() / "profiles"
