"""The privpi web console: a Flask application factory.

``create_app(config=None, storage=None)``: configuration in layers (defaults, PRIVPI_*
environment variables, then ``config``); storage defaults to ``open_storage`` of the
configured ``PRIVPI_STORAGE``. ``webadmin.wsgi:app`` is the entry Zappa names.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from typing import Any

from flask import Flask

from privpi.settings import Settings
from privpi.storage import Storage, open_storage

from . import (
    account,
    api,
    auth,
    connect,
    dashboard,
    projects,
    security,
    tokens,
    upload,
    users,
    views,
)
from . import config as configuration
from .extensions import STORAGE, csrf
from .upload import body_limits

__all__ = ["body_limits", "create_app"]


def create_app(config: Mapping[str, Any] | None = None, storage: Storage | None = None) -> Flask:
    app = Flask(__name__)
    app.config.from_mapping(configuration.DEFAULTS)
    app.config.update(configuration.from_settings(Settings.from_environment()))
    app.config.update(config or {})
    configuration.check(app.config)
    if not app.config["SECRET_KEY"]:  # testing only: check() refuses this elsewhere
        app.config["SECRET_KEY"] = secrets.token_hex(32)
    app.extensions[STORAGE] = storage or open_storage(app.config["PRIVPI_STORAGE"])

    csrf.init_app(app)
    auth.init_app(app)
    security.init_app(app)
    views.init_app(app)
    for area in (auth, dashboard, projects, users, connect, account, tokens, upload, api):
        app.register_blueprint(area.bp)
    return app
