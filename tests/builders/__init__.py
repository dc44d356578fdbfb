"""The one place tests build their inputs: tiny models, raw logs and conversations, releases.

Everything here is made locally (no download, no copied third-party text), so
tests stay offline and deterministic.
"""
