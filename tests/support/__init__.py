"""What the tests share: helpers imported explicitly (``from tests.support.serve import
start_server``), fixtures registered once in tests/conftest.py, moto server scripts.

bench/ scripts import these too; nothing here imports from bench/.
"""
