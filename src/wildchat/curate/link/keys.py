"""The per-release key that IP pseudonyms are HMAC'd with.

Resolution order: ``--ip-key``, then ``WILDCHAT_RELEASE_KEY`` (deliberately not the
server's ``WILDCHAT_IP_KEY``: a release keyed with the deployment key would be
linkable by whoever holds the collection database), then a key file
saved beside the output folder (``<OUT>.ip-key``, next to ``OUT``, never
inside it, so publishing ``OUT`` cannot leak it), else a new random key
written to that file (mode 0600).  Re-running into the same folder therefore
reuses the key (byte-identical output); deleting the key file after
publishing makes the release's pseudonyms unlinkable to anything else.
"""

from __future__ import annotations

import hashlib
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["ENV_VAR", "ReleaseKey", "key_path"]

ENV_VAR = "WILDCHAT_RELEASE_KEY"


def key_path(out: Path) -> Path:
    """Where a generated key is saved: beside ``out``, not inside it."""
    out = out.resolve()
    return out.parent / f"{out.name}.ip-key"


@dataclass(frozen=True)
class ReleaseKey:
    value: str
    source: str  # "option" | "env" | "file" | "generated"
    path: Path | None = None

    @property
    def digest(self) -> str:
        """A short one-way tag of the key, for fingerprints only."""
        return hashlib.sha256(b"wildchat-release-key\0" + self.value.encode()).hexdigest()[:16]

    def describe(self) -> dict[str, Any]:
        """What the card and stats may say about the key (never the key)."""
        text = {
            "option": "given with --ip-key",
            "env": f"taken from the {ENV_VAR} environment variable",
            "file": "generated at random for this release and saved beside the output",
            "generated": "generated at random for this release and saved beside the output",
        }[self.source]
        return {"source": self.source, "description": text, "file": self.path.name if self.path else None}

    @classmethod
    def resolve(cls, out: Path, explicit: str | None = None) -> ReleaseKey:
        if explicit:
            return cls(explicit, "option")
        env = os.environ.get(ENV_VAR)
        if env:
            return cls(env, "env")
        path = key_path(out)
        if path.exists():
            return cls(path.read_text().strip(), "file", path)
        value = secrets.token_hex(32)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(value + "\n")
        return cls(value, "generated", path)
