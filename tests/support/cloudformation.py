"""CloudFormation templates as dicts, read by cfn-lint's own decoder (it knows the short
forms: ``!Ref``, ``!Sub``, ``!GetAtt``)."""

from __future__ import annotations

from pathlib import Path


def load_template(path: str | Path) -> dict:
    """The template at path; the test fails with cfn-lint's findings if it cannot be read."""
    # cfn-lint's import takes about 5 s (it brings sympy): at the top of a test module, every
    # run paid it while collecting, even runs that select none of the template tests.
    from cfnlint.decode import decode  # noqa: PLC0415

    template, problems = decode(str(path))
    assert not problems, problems
    return template
