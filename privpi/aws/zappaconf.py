"""Fill the console's stage in zappa_settings.json from the deployed stacks' outputs.

Zappa reads only literal values, and the role ARN, bucket and region are known only after
``privpi deploy``; copying them by hand is how deployments go wrong, so deploy writes them.
The Flask secret key never enters the file: Zappa's ``remote_env`` loads it at start from
the bucket, readable by the console's role alone.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from ..errors import PrivpiError
from ..keys import CONSOLE_ENV_KEY
from .deploy import Result, Settings
from .runtime import LAMBDA_PYTHON

STAGE = "production"


def console_settings(s: Settings, result: Result) -> dict[str, Any]:
    bucket = result.outputs["bucket"]
    return {
        "aws_region": s.region,
        "runtime": LAMBDA_PYTHON,  # the authenticator's too: one Python for the product
        "s3_bucket": result.console_code_bucket,  # fixed: else each update makes a new one
        "project_name": f"privpi-{s.name}",  # the function privpi-NAME-production
        "manage_roles": False,
        "role_arn": bucket["ConsoleRoleArn"],
        "remote_env": f"s3://{bucket['BucketName']}/{CONSOLE_ENV_KEY}",
        "environment_variables": {
            "PRIVPI_STORAGE": result.storage_url,
            "PRIVPI_REPOSITORY_URL": result.repository_url,
            # the connect page shows the one-URL setup; "" (off) replaces an earlier value
            "PRIVPI_UPSTREAM_URL": s.upstream or "",
        },
    }


def update(path: Path, values: dict[str, Any], stage: str = STAGE) -> None:
    """Set values in the stage, keeping every other setting; written atomically."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise PrivpiError(f"cannot read {path}: {e}") from None
    st = data.setdefault(stage, {})
    env = {**st.get("environment_variables", {}), **values.get("environment_variables", {})}
    st.update(values)
    st["environment_variables"] = env
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, indent=4) + "\n", encoding="utf-8")
    os.replace(tmp, path)
