"""Files that hold raw participant data or keys: owner-only from the first byte.

The collection database, raw exports and key files hold message text, IP
pseudonyms (raw IPs with ``store_raw_ip``) and secrets.  They are created
with mode 0600 (folders this code creates: 0700) through ``os.open`` with the
mode, so there is no moment at which another local user could open them;
an existing file that is about to be overwritten is narrowed to 0600 first.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["ensure_private_file", "private_dir"]


def private_dir(path: Path) -> None:
    """Create ``path`` (and missing parents) if absent; the folder itself as 0700.

    An existing folder is left as it is (it may be shared on purpose, e.g. ``/tmp``).
    """
    if not path.exists():
        path.mkdir(mode=0o700, parents=True, exist_ok=True)


def ensure_private_file(path: Path, *, replace: bool = False) -> None:
    """Make sure ``path`` exists with mode 0600 before anything writes data into it.

    A missing file is created empty with 0600.  An existing one keeps its
    content; with ``replace`` (the caller is about to overwrite it) its mode
    is narrowed to 0600 first.
    """
    private_dir(path.parent)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        if replace:
            os.chmod(path, 0o600)
        return
    os.close(fd)
