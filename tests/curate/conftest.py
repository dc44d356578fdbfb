"""Fixtures for the curation tests (helpers live in curate_helpers.py, importable by name)."""

from curate_helpers import curate, logs

__all__ = ["curate", "logs"]
