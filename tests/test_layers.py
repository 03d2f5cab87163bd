"""The core stays below its ways in: nothing in ``privpi`` outside the command line imports
the console (``webadmin``) or ``click``, and ``edge`` (what Lambda@Edge runs) imports nothing
of privpi. Checked on the source with ``ast``, so a function-level import counts too."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# The command line: the group (cli.py), `python -m privpi`, and one module per command area.
COMMAND_LINE = ("privpi/cli.py", "privpi/__main__.py", "privpi/commands/")


def imported_modules(path: Path) -> set[str]:
    """Top-level package names of every import in the file, at any depth of the tree."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def sources(package: str) -> list[str]:
    return sorted(p.relative_to(ROOT).as_posix() for p in (ROOT / package).rglob("*.py"))


CORE = [p for p in sources("privpi") if not p.startswith(COMMAND_LINE)]


@pytest.mark.parametrize("path", CORE)
def test_core_imports_neither_console_nor_click(path):
    assert imported_modules(ROOT / path) & {"webadmin", "click"} == set()


@pytest.mark.parametrize("path", sources("edge"))
def test_edge_imports_nothing_of_privpi_or_the_console(path):
    assert imported_modules(ROOT / path) & {"privpi", "webadmin", "click"} == set()


def test_the_check_sees_imports_inside_functions(tmp_path):
    module = tmp_path / "m.py"
    module.write_text("def f():\n    import webadmin.auth\n    from click import echo\n")
    assert imported_modules(module) == {"webadmin", "click"}


def test_the_core_is_not_empty():
    assert "privpi/readpath.py" in CORE
    assert "privpi/errors.py" in CORE
    assert not any(p.startswith("privpi/commands/") for p in CORE)
