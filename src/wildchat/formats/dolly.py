"""Databricks Dolly: ``instruction``/``context``/``response``/``category`` (JSONL or JSON array).

Same mapping as :mod:`wildchat.formats.alpaca` with ``context`` in the role of
``input`` and ``response`` of ``output``; ``category`` is dropped.
"""

from __future__ import annotations

from wildchat.formats.alpaca import read_dolly as read

__all__ = ["read"]
