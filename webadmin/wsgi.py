"""The WSGI entry point: Zappa's ``app_function`` is ``webadmin.wsgi.app``.

Configured from the environment (PRIVPI_STORAGE, PRIVPI_SECRET_KEY, ...); importing it
without a real secret key fails loudly rather than running with a guessable one.
"""

from webadmin import create_app

app = create_app()
