"""Run moto's S3 API server on 127.0.0.1 for the tests: ``python moto_server.py PORT``.

Real S3 applies a conditional PUT atomically; moto checks the condition and then writes,
so two racing PUTs could both pass. A lock around mutating requests restores S3's
semantics (reads stay concurrent), so concurrency tests test privpi, not moto's race.
CopyObject also gets S3's If-None-Match on its destination, which moto leaves out.
"""

import functools
import sys
import threading

from moto import backends
from moto.s3.exceptions import PreconditionFailed
from moto.s3.responses import S3Response
from moto.server import DomainDispatcherApplication, create_backend_app
from werkzeug.serving import run_simple

_write_lock = threading.Lock()
_copy_object = S3Response.copy_object
_list_of_moto_modules = backends.list_of_moto_modules


def copy_object(self):
    """CopyObject with S3's conditions on the destination, which moto ignores: If-None-Match
    "*" copies only onto a missing key (412 otherwise), as for PutObject
    (https://docs.aws.amazon.com/AmazonS3/latest/API/API_CopyObject.html)."""
    existing = self.backend.get_object(self.bucket_name, self.parse_key_name())
    if self.headers.get("If-None-Match") == "*" and existing is not None:
        raise PreconditionFailed("If-None-Match")
    return _copy_object(self)


S3Response.copy_object = copy_object

# moto lists its package folder (a stat for each of ~180 services) twice for every request
# to find the service it is for: 40 % of the server's time. The folder does not change.
backends.list_of_moto_modules = functools.cache(lambda: tuple(_list_of_moto_modules()))


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
