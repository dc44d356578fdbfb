"""The stage registry: name -> :class:`~wildchat.curate.stages.base.Stage` subclass.

Register a stage with the :func:`register_stage` class decorator in a module
that is imported by :func:`available_stages`:

* every submodule of this package (``wildchat.curate.stages.<x>``) except
  the framework modules (:data:`FRAMEWORK`: ``base``, ``batch``, ``config``,
  ``shard``) is imported on first lookup, so a new file here is picked up
  without editing this one (enrichment: ``language``, ``moderation``,
  ``pii``, ``jailbreak``);
* third-party packages can add stages through the ``wildchat.curate_stages``
  entry-point group (the entry point names a module to import).

Importing a stage module must be cheap: heavy imports belong in
``Stage.setup()``.  Two stages may not share a name.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import pkgutil
from typing import TypeVar

from wildchat.curate.stages.base import Stage

__all__ = ["STAGES", "available_stages", "get_stage", "register_stage"]

#: name -> stage class.  Prefer :func:`available_stages`, which loads modules first.
STAGES: dict[str, type[Stage]] = {}

S = TypeVar("S", bound=type[Stage])

ENTRY_POINT_GROUP = "wildchat.curate_stages"
#: modules of this package that are the stage framework, not stages
FRAMEWORK = frozenset({"base", "batch", "config", "shard"})
_loaded = False


def register_stage(cls: S) -> S:
    """Class decorator: add ``cls`` to the registry under ``cls.name``."""
    if not cls.name:
        raise ValueError(f"{cls.__qualname__} has no stage name")
    other = STAGES.get(cls.name)
    if other is not None and other is not cls and other.__qualname__ != cls.__qualname__:
        raise ValueError(
            f"stage name {cls.name!r} is already taken by {other.__module__}.{other.__qualname__}"
        )
    STAGES[cls.name] = cls
    return cls


def _load_modules() -> None:
    global _loaded
    if _loaded:
        return
    _loaded = True
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if not info.name.startswith("_") and info.name not in FRAMEWORK:
            importlib.import_module(f"{__name__}.{info.name}")
    for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
        importlib.import_module(ep.value.split(":")[0])


def available_stages() -> dict[str, type[Stage]]:
    """Every registered stage, after importing this package's modules and plugins."""
    _load_modules()
    return dict(sorted(STAGES.items()))


def get_stage(name: str) -> type[Stage]:
    """The stage class called ``name`` (``KeyError`` listing the known names)."""
    stages = available_stages()
    if name not in stages:
        raise KeyError(f"unknown stage {name!r}; known: {', '.join(stages)}")
    return stages[name]
