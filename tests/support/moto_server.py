"""Run moto's S3 API server on 127.0.0.1 for the tests: ``python moto_server.py PORT``.

Real S3 applies a conditional PUT atomically; moto checks the condition and then writes,
so two racing PUTs could both pass. A lock around mutating requests restores S3's
semantics (reads stay concurrent), so concurrency tests test privpi, not moto's race.
"""

import sys
import threading

from moto.server import DomainDispatcherApplication, create_backend_app
from werkzeug.serving import run_simple

_write_lock = threading.Lock()


def serialize_writes(app):
    def wrapped(environ, start_response):
        if environ["REQUEST_METHOD"] in ("GET", "HEAD", "OPTIONS"):
            return app(environ, start_response)
        with _write_lock:
            # Consume the response inside the lock: moto does its work while answering.
            return list(app(environ, start_response))

    return wrapped


if __name__ == "__main__":
    port = int(sys.argv[1])
    app = DomainDispatcherApplication(create_backend_app)
    run_simple("127.0.0.1", port, serialize_writes(app), threaded=True, use_reloader=False)
