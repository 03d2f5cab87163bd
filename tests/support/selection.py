"""Modules that ``-m`` rules out whole are not imported (tests/conftest.py registers this).

``make test-fast`` deselects e2e, browser and slow tests; their modules mark them so with a
module-level ``pytestmark``. Importing them anyway (Playwright, twine, pypi-simple, pip's
internals...) cost each worker seconds of a run that then ran none of their tests. Only an
expression of the form ``not a and not b ...`` is understood; with any other, every module
is imported and pytest deselects as usual. Marks on single tests only add to the module's,
so a module with an excluded mark has no test the expression could select.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

EXCLUDING = re.compile(r"\s*not\s+\w+(\s+and\s+not\s+\w+)*\s*")


def excluded_marks(expression: str) -> set[str]:
    """The marks ``not a and not b`` excludes; empty for any other kind of expression."""
    if not EXCLUDING.fullmatch(expression):
        return set()
    return set(re.findall(r"not\s+(\w+)", expression))


def module_marks(source: str) -> set[str]:
    """The X of every ``pytest.mark.X`` in the module-level ``pytestmark`` assignment."""
    marks: set[str] = set()
    for node in ast.parse(source).body:
        targets = node.targets if isinstance(node, ast.Assign) else []
        if any(isinstance(t, ast.Name) and t.id == "pytestmark" for t in targets):
            marks |= {
                part.attr
                for part in ast.walk(node.value)
                if isinstance(part, ast.Attribute)
                and isinstance(part.value, ast.Attribute)
                and part.value.attr == "mark"
            }
    return marks


def pytest_ignore_collect(collection_path: Path, config) -> bool | None:
    """True (not collected) for a module the -m expression rules out whole; else None."""
    excluded = excluded_marks(config.option.markexpr or "")
    if not excluded or collection_path.suffix != ".py":
        return None
    text = collection_path.read_text()
    if "pytestmark" in text and module_marks(text) & excluded:
        return True
    return None  # pytest decides, as it always does
