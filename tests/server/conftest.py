"""Fixtures of the server tests (the shared `server` fixture lives in tests/conftest.py)."""
