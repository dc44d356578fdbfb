"""The structure contract reviewers rely on, checked on the source tree itself.

- layers point down: no module of ``formats``, ``enrich``, ``schema``, ``privacy.py``
  or ``skips.py`` imports an upper package (imports inside functions count, and so
  do ``importlib.import_module("...")`` calls with a literal name);
- no module under ``src/`` is over 400 lines;
- ``train`` and ``explore`` do not import ``analyze``;
- no tracker references in ``src/`` (``issue 12``, ``#12`` in comments and
  docstrings, ``(curation pipeline issue)``, ``this issue``); hex colours and
  HTML character references are not references.

Each check is one function run on the real tree and, in the second half of this
file, on a planted bad file under ``tmp_path``, so every check is shown to fail
when it should.
"""

from __future__ import annotations

import ast
import io
import re
import tokenize
from collections.abc import Iterable, Iterator
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "wildchat"
PACKAGE = "wildchat"
LOWER = ("formats", "enrich", "schema", "text", "web", "privacy.py", "skips.py", "ledger.py")
UPPER = ("curate", "collect", "analyze", "explore", "train", "evaluate", "review", "audit", "cli")
MAX_LINES = 400
TEXT_SUFFIXES = (".html", ".js", ".css", ".mako", ".toml", ".md", ".txt")

#: tracker references anywhere in a comment, docstring or text asset
TRACKER = [
    re.compile(r"\bissues?\s*#?\d+\b", re.IGNORECASE),
    re.compile(r"\([^()]*\bissue\)", re.IGNORECASE),
    re.compile(r"\b(?:this|earlier|previous|later)\s+issue\b(?!s)", re.IGNORECASE),
    re.compile(r"\bissue's\b", re.IGNORECASE),
]
#: ``#12`` in Python comments and docstrings (not ``&#123;`` and not a colour such as ``#4269d0``)
HASH_NUMBER = re.compile(r"(?<![&\w#])#\d+(?![\w;])")


def _modules(root: Path, parts: Iterable[str]) -> Iterator[Path]:
    for part in parts:
        path = root / part
        yield from sorted(path.rglob("*.py")) if path.is_dir() else ([path] if path.exists() else [])


def _dotted(root: Path, path: Path, package: str) -> list[str]:
    """The package a module belongs to, as dotted parts (``wildchat/formats/x.py`` -> wildchat.formats)."""
    return [package, *path.relative_to(root).parent.parts]


def imported_modules(path: Path, root: Path, package: str = PACKAGE) -> set[str]:
    """Every absolute module name ``path`` imports anywhere in its body (relative imports resolved).

    ``from a import b`` yields both ``a`` and ``a.b`` (``b`` may be a submodule);
    literal ``importlib.import_module``/``__import__`` calls count too.
    """
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    here = _dotted(root, path, package)
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = here[: len(here) - node.level + 1] if node.level else []
            module = ".".join([*base, *([node.module] if node.module else [])])
            found.add(module)
            found.update(f"{module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if name in ("import_module", "__import__") and isinstance(node.args[0].value, str):
                found.add(node.args[0].value)
    return found


def forbidden_imports(
    root: Path, parts: Iterable[str], forbidden: Iterable[str], package: str = PACKAGE
) -> list[str]:
    """``"<file> imports <module>"`` for each import from ``parts`` into a ``forbidden`` package."""
    banned = [f"{package}.{name}" for name in forbidden]
    out = []
    for path in _modules(root, parts):
        for module in sorted(imported_modules(path, root, package)):
            if any(module == b or module.startswith(b + ".") for b in banned):
                out.append(f"{path.relative_to(root)} imports {module}")
    return out


def long_modules(root: Path, limit: int = MAX_LINES) -> list[str]:
    """``"<file>: <n> lines"`` for each Python module over ``limit`` lines."""
    out = []
    for path in sorted(root.rglob("*.py")):
        n = len(path.read_text(encoding="utf-8").splitlines())
        if n > limit:
            out.append(f"{path.relative_to(root)}: {n} lines")
    return out


def _prose(path: Path) -> Iterator[tuple[int, str, bool]]:
    """``(line, text, is_python)`` of every comment and docstring (Python) or the whole text (assets)."""
    text = path.read_text(encoding="utf-8")
    if path.suffix != ".py":
        for i, line in enumerate(text.splitlines(), 1):
            yield i, line, False
        return
    for tok in tokenize.generate_tokens(io.StringIO(text).readline):
        if tok.type == tokenize.COMMENT:
            yield tok.start[0], tok.string.lstrip("#"), True
    for node in ast.walk(ast.parse(text, filename=str(path))):
        if (
            isinstance(node, ast.Expr)
            and isinstance(node.value, ast.Constant)
            and isinstance(node.value.value, str)
        ):
            yield node.lineno, node.value.value, True


def tracker_references(root: Path) -> list[str]:
    """``"<file>:<line>: <first match>"`` per comment, docstring or asset line with a tracker reference."""
    out = []
    files = [p for p in sorted(root.rglob("*")) if p.suffix == ".py" or p.suffix in TEXT_SUFFIXES]
    for path in files:
        for line, text, is_python in _prose(path):
            patterns = [*TRACKER, HASH_NUMBER] if is_python else TRACKER
            hits = [m.group(0) for pattern in patterns for m in pattern.finditer(text)]
            if hits:
                out.append(f"{path.relative_to(root)}:{line}: {hits[0]!r}")
    return out


# --- the contract, on the real tree ---------------------------------------------------------------


def test_lower_layers_do_not_import_upper_packages() -> None:
    assert forbidden_imports(SRC, LOWER, UPPER) == []


def test_no_module_over_400_lines() -> None:
    assert long_modules(SRC) == []


def test_train_and_explore_do_not_import_analyze() -> None:
    assert forbidden_imports(SRC, ("train", "explore"), ("analyze",)) == []


def test_no_tracker_references_in_src() -> None:
    assert tracker_references(SRC) == []


def test_the_checks_see_the_real_tree() -> None:
    """Guards against a check passing because it looked at nothing."""
    assert len(list(_modules(SRC, LOWER))) > 20
    assert any("wildchat.schema" in imported_modules(p, SRC) for p in _modules(SRC, ["formats"]))


# --- each check fails on a planted bad file -------------------------------------------------------


def _plant(root: Path, rel: str, text: str) -> Path:
    path = root / PACKAGE / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return root / PACKAGE


@pytest.mark.parametrize(
    ("rel", "body", "found"),
    [
        ("formats/x.py", "import wildchat.curate.link\n", "wildchat.curate.link"),
        ("formats/x.py", "def f():\n    from wildchat.cli import main\n", "wildchat.cli"),
        ("enrich/pii/x.py", "from ...curate import config\n", "wildchat.curate.config"),
        ("schema/x.py", "from .. import review\n", "wildchat.review"),
        ("privacy.py", "import importlib\nimportlib.import_module('wildchat.audit.x')\n", "wildchat.audit"),
        ("skips.py", "from wildchat import collect\n", "wildchat.collect"),
    ],
)
def test_upward_import_is_caught(tmp_path: Path, rel: str, body: str, found: str) -> None:
    root = _plant(tmp_path, rel, body)
    _plant(tmp_path, "formats/ok.py", "from wildchat.schema import Turn\nfrom . import ok\n")
    hits = forbidden_imports(root, LOWER, UPPER)
    assert hits and all(rel in h for h in hits) and any(found in h for h in hits), hits


def test_train_importing_analyze_is_caught(tmp_path: Path) -> None:
    root = _plant(tmp_path, "train/x.py", "def f():\n    from ..analyze.tokens import count\n")
    _plant(tmp_path, "explore/y.py", "from wildchat.analyzer import nothing\n")  # a prefix is not a match
    assert forbidden_imports(root, ("train", "explore"), ("analyze",)) == [
        "train/x.py imports wildchat.analyze.tokens",
        "train/x.py imports wildchat.analyze.tokens.count",
    ]


def test_long_module_is_caught(tmp_path: Path) -> None:
    root = _plant(tmp_path, "curate/big.py", "x = 1\n" * (MAX_LINES + 1))
    _plant(tmp_path, "curate/fits.py", "x = 1\n" * MAX_LINES)
    assert long_modules(root) == [f"curate/big.py: {MAX_LINES + 1} lines"]


@pytest.mark.parametrize(
    "body",
    [
        '"""Reads logs (see issue 12)."""\n',
        '"""Reads logs, as asked in Issue #7."""\n',
        "x = 1  # fixed in #42\n",
        '"""`wildchat curate` (curation pipeline issue)."""\n',
        "#: this issue's stages\nSTAGES = ()\n",
        'def f():\n    """The earlier issue set this goal."""\n',
    ],
)
def test_tracker_reference_is_caught(tmp_path: Path, body: str) -> None:
    root = _plant(tmp_path, "curate/x.py", body)
    assert len(tracker_references(root)) == 1, tracker_references(root)


def test_colours_entities_and_plain_words_are_not_tracker_references(tmp_path: Path) -> None:
    body = (
        '"""Colours #4269d0 and #e5e7eb, the &#123; entity; tokens are issued, issues are counted."""\n'
        'CSS = "color:#123456"  # a colour, #fff\n'
        "ROW = f'row #{1}'\n"
    )
    root = _plant(tmp_path, "analyze/x.py", body)
    _plant(tmp_path, "explore/static/app.css", ".a{color:#333}\n")
    _plant(tmp_path, "explore/static/app.js", "// see issue 9\n")
    assert tracker_references(root) == ["explore/static/app.js:1: 'issue 9'"]
