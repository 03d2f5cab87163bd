"""privpi: a private Python package index in an S3 bucket (or a local folder)."""

__version__ = "0.1.0"
