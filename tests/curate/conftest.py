"""Fixtures for the curation tests (helpers live in ``tests.curate.curate_helpers``)."""

from tests.curate.curate_helpers import curate, logs

__all__ = ["curate", "logs"]
