"""Builds the configured backends and looks models up by public name."""

from __future__ import annotations

from dataclasses import dataclass

from wildchat.collect.backends.base import Backend
from wildchat.collect.errors import ApiError
from wildchat.collect.settings import ModelSpec

__all__ = ["BackendRegistry", "ModelEntry", "build_backend"]


def build_backend(spec: ModelSpec) -> Backend:
    """Instantiate the backend a model spec names (heavy imports happen here)."""
    if spec.backend == "replay":
        from wildchat.collect.backends.replay import ReplayBackend

        return ReplayBackend(spec.arg, spec.options)
    if spec.backend == "openai":
        from wildchat.collect.backends.openai_compat import OpenAIBackend

        return OpenAIBackend(spec.arg, spec.options)
    if spec.backend == "local":
        from wildchat.collect.backends.local import LocalBackend

        return LocalBackend(spec.arg, spec.options)
    raise ValueError(f"unknown backend {spec.backend!r}")


@dataclass(frozen=True, slots=True)
class ModelEntry:
    spec: ModelSpec
    backend: Backend


class BackendRegistry:
    """Public model name -> (spec, backend), in configuration order."""

    def __init__(self, entries: list[ModelEntry]) -> None:
        self._entries = {e.spec.name: e for e in entries}

    @classmethod
    def from_specs(cls, specs: list[ModelSpec]) -> BackendRegistry:
        return cls([ModelEntry(spec, build_backend(spec)) for spec in specs])

    def get(self, name: str) -> ModelEntry:
        entry = self._entries.get(name)
        if entry is None:
            raise ApiError(400, "unknown_model", "unknown model; GET /api/models lists the available ones")
        return entry

    def entries(self) -> list[ModelEntry]:
        return list(self._entries.values())

    async def aclose(self) -> None:
        for entry in self._entries.values():
            await entry.backend.aclose()
