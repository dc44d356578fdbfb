"""Layers point down: the record, format, enrichment and privacy modules never import an upper package.

``schema`` <- ``formats``/``enrich``/``privacy`` <- ``curate``/``collect``/...
<- ``cli``.  Checked on the source (every ``import``, lazy ones inside
functions included), so an upward import cannot hide in a function body.
"""

from __future__ import annotations

import ast
from pathlib import Path

import wildchat

LOWER = ("schema", "formats", "enrich", "privacy", "skips")
SRC = Path(wildchat.__file__).parent


def _imports(path: Path) -> list[tuple[int, str]]:
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.lineno, node.module))
        elif isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
    return found


def test_lower_layers_import_no_upper_package() -> None:
    checked = 0
    upward = []
    for path in sorted(SRC.rglob("*.py")):
        top = path.relative_to(SRC).parts[0].removesuffix(".py")
        if top not in LOWER:
            continue
        checked += 1
        for line, module in _imports(path):
            parts = module.split(".")
            if parts[0] == "wildchat" and len(parts) > 1 and parts[1] not in LOWER:
                upward.append(f"{path.relative_to(SRC)}:{line}: {module}")
    assert checked > 20  # the lower layers were found
    assert upward == []


def test_rawlog_format_is_registered_from_above() -> None:
    from wildchat.formats import FORMATS

    rawlog = FORMATS["rawlog"]
    assert rawlog.reads_together
    assert rawlog.read.__module__.startswith("wildchat.curate.link")
    assert not any(fmt.reads_together for name, fmt in FORMATS.items() if name != "rawlog")
