"""Raw logs reach the format registry from above (the linking package registers its reader).

The import direction itself is checked by ``tests/test_structure.py``.
"""

from __future__ import annotations


def test_rawlog_format_is_registered_from_above() -> None:
    from wildchat.formats import FORMATS

    rawlog = FORMATS["rawlog"]
    assert rawlog.reads_together
    assert rawlog.read.__module__.startswith("wildchat.curate.link")
    assert not any(fmt.reads_together for name, fmt in FORMATS.items() if name != "rawlog")
