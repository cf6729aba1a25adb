"""The JSON report: the scan exactly as the engine produced it.

The document is `Scan.to_dict()` with its `schema` version; its shape is
described by the JSON Schema shipped as `mailtui/data/scan.schema.json`,
which `schema()` loads for anyone who wants to validate a report.
"""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

from mailtui.model import Scan

SCHEMA_FILE = "scan.schema.json"


def render_json(scan: Scan) -> str:
    """The scan as indented JSON text, non-ASCII kept readable."""
    return json.dumps(scan.to_dict(), indent=2, ensure_ascii=False) + "\n"


def schema() -> dict[str, Any]:
    """The JSON Schema of the report, from the package data."""
    text = resources.files("mailtui").joinpath("data", SCHEMA_FILE).read_text()
    data: dict[str, Any] = json.loads(text)
    return data
