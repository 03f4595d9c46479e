"""The direction of imports is the design: the pure core imports no I/O library."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "calltracker"
PURE = ["domain", "scraping", "normalize", "classify", "digest", "linking", "evaluation", "views", "members_csv",
        "labels", "text", "consortium"]
IO_LIBRARIES = {"sqlalchemy", "httpx", "smtplib", "socket", "alembic", "apscheduler", "click", "requests",
                "urllib.request", "psycopg", "aiosmtpd", "calltracker.storage", "calltracker.http",
                "calltracker.config", "calltracker.bootstrap", "calltracker.mailer", "calltracker.pipeline"}


def imported_modules(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_pure_modules_import_no_io() -> None:
    checked = 0
    for name in PURE:
        candidates = [PACKAGE / f"{name}.py", *sorted((PACKAGE / name).glob("*.py"))]
        for path in (p for p in candidates if p.exists()):
            checked += 1
            bad = {m for m in imported_modules(path) if any(m == lib or m.startswith(lib + ".")
                                                              for lib in IO_LIBRARIES)}
            assert bad == set(), f"{path.name} imports {bad}"
    assert checked >= 2


def test_only_storage_imports_sqlalchemy() -> None:
    for path in PACKAGE.rglob("*.py"):
        if path.name == "migrate.py" or (PACKAGE / "storage") in path.parents:
            continue
        assert not any(m.startswith("sqlalchemy") for m in imported_modules(path)), path.name


def test_no_module_over_700_lines() -> None:
    long = {str(p.relative_to(PACKAGE)): n for p in PACKAGE.rglob("*.py")
            if (n := len(p.read_text(encoding="utf-8").splitlines())) > 700}
    assert long == {}
