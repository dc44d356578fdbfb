"""``GET /api/models``: the models users may pick (public names only)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from wildchat.collect.deps import Registry

router = APIRouter(prefix="/api")


@router.get("/models")
def list_models(registry: Registry) -> dict[str, Any]:
    """Configured models in order; the first is the default.  No URLs or keys."""
    entries = registry.entries()
    return {
        "models": [
            {"name": e.spec.name, "backend": e.spec.backend, "default": i == 0} for i, e in enumerate(entries)
        ]
    }
