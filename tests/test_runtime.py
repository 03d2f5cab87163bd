"""One Python runtime for the product in AWS (privpi/aws/runtime.py): the authenticator's
template, the console's Zappa settings and the README's console virtualenv all name it."""

from __future__ import annotations

import json
import re
from pathlib import Path

from privpi.aws.deploy import TEMPLATES
from privpi.aws.runtime import LAMBDA_PYTHON, VERSION

REPO = Path(__file__).resolve().parent.parent


def test_runtime_is_a_current_python():
    assert re.fullmatch(r"python3\.1[2-9]", LAMBDA_PYTHON)
    assert tuple(int(n) for n in LAMBDA_PYTHON[6:].split(".")) == VERSION


def test_authenticator_template_names_the_runtime():
    """Every Runtime key in the template, read as text: the function's (its place in the
    parsed template is checked in tests/test_cloudformation.py) and no other."""
    text = (Path(TEMPLATES) / "authenticator.yaml").read_text()
    assert re.findall(r"^\s*Runtime:\s*(\S+)\s*$", text, re.MULTILINE) == [LAMBDA_PYTHON]


def test_zappa_settings_name_the_runtime():
    stages = json.loads((REPO / "zappa_settings.json").read_text())
    assert {stage["runtime"] for stage in stages.values()} == {LAMBDA_PYTHON}


def test_readme_builds_the_console_with_the_runtime_python():
    """Zappa packages the compiled parts of the Python it runs in: the console's
    virtualenv must be made with the runtime's Python."""
    venvs = re.findall(r"(python3\.\d+) -m venv", (REPO / "README.md").read_text())
    assert venvs
    assert set(venvs) == {LAMBDA_PYTHON}
