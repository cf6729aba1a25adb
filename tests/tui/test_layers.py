"""Only mailtui/tui may import Textual: the core must run without it."""

from __future__ import annotations

import ast
from pathlib import Path

import mailtui

PACKAGE = Path(mailtui.__file__).parent


def _imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module)
    return names


def test_no_module_outside_the_app_imports_textual() -> None:
    offenders = [
        str(path.relative_to(PACKAGE))
        for path in PACKAGE.rglob("*.py")
        if "tui" not in path.relative_to(PACKAGE).parts
        and any(m.split(".")[0] == "textual" for m in _imported_modules(path))
    ]
    assert offenders == []


def test_the_check_sees_the_app_importing_textual() -> None:
    # Guards the test above against finding nothing because it looks wrong.
    assert "textual.app" in _imported_modules(PACKAGE / "tui" / "app.py")
