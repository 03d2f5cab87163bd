"""privpi's tests: a package, so that ``tests.support`` imports the same way from test
modules, the conftest and bench scripts."""
