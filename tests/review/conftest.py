"""Fixtures for the review tests (helpers live in review_helpers.py, importable by name)."""
