"""One module per command area; each exposes click commands that cli.py registers."""
