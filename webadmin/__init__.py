"""The privpi web console: a Flask application factory.

``create_app(config=None, storage=None)``: configuration in layers (defaults, PRIVPI_*
environment variables, then ``config``); storage defaults to ``open_storage`` of the
configured ``PRIVPI_STORAGE``. ``webadmin.wsgi:app`` is the entry Zappa names.
"""

from __future__ import annotations

import importlib
import secrets

from flask import Flask

from privpi.storage import Storage, open_storage

from . import config as settings
from .extensions import STORAGE, csrf

# Every area's blueprint as "module:attribute"; another area registers with one added line.
BLUEPRINTS = [
    "webadmin.auth:bp",
    "webadmin.dashboard:bp",
    "webadmin.projects:bp",
    "webadmin.users:bp",
    "webadmin.connect:bp",
    "webadmin.account:bp",
    "webadmin.upload:bp",
]


def _blueprint(spec: str):
    module, _, attribute = spec.partition(":")
    return getattr(importlib.import_module(module), attribute)


def create_app(config: dict | None = None, storage: Storage | None = None) -> Flask:
    app = Flask(__name__)
    app.config.from_mapping(settings.DEFAULTS)
    app.config.update(settings.from_environment())
    app.config.update(config or {})
    settings.check(app.config)
    if not app.config["SECRET_KEY"]:  # testing only: check() refuses this elsewhere
        app.config["SECRET_KEY"] = secrets.token_hex(32)
    # a whole upload plus room for the form fields around it
    if app.config.get("MAX_CONTENT_LENGTH") is None:
        app.config["MAX_CONTENT_LENGTH"] = app.config["MAX_UPLOAD_BYTES"] + 1024 * 1024
    app.extensions[STORAGE] = storage or open_storage(app.config["PRIVPI_STORAGE"])

    from . import auth, security, views

    csrf.init_app(app)
    auth.init_app(app)
    security.init_app(app)
    views.init_app(app)
    for spec in BLUEPRINTS:
        app.register_blueprint(_blueprint(spec))
    return app
