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


SCRAPERS = PACKAGE.parent / "scrapers"


def test_scrapers_import_only_the_scraping_contract() -> None:
    """A scraper sees calltracker through calltracker.scraping only (and its own package's shared code)."""
    checked = 0
    for path in SCRAPERS.rglob("*.py"):
        checked += 1
        ours = {m for m in imported_modules(path) if m == "calltracker" or m.startswith("calltracker.")}
        assert ours <= {"calltracker.scraping"}, f"{path.relative_to(SCRAPERS.parent)} imports {ours}"
        if path.parent == SCRAPERS and not path.name.startswith("_"):
            local = {m for m in imported_modules(path) if m.startswith("scrapers")}
            assert local == set(), f"{path.name} imports {local}: a source module stands alone"
    assert checked >= 8


def test_every_source_module_declares_a_spec_with_its_recordings() -> None:
    from scrapers import specs

    modules = {p.stem for p in SCRAPERS.glob("*.py") if not p.name.startswith("_")}
    found = specs()
    assert set(found) == modules  # one module, one source, named alike
    for name, spec in found.items():
        assert spec.scraper.name == name
        if spec.recordings:
            assert (PACKAGE / "data" / "replay" / spec.recordings / "manifest.json").exists(), name


def test_the_readme_sources_table_says_what_each_source_was_tested_on() -> None:
    from scrapers import specs

    readme = (PACKAGE.parent / "README.md").read_text(encoding="utf-8")
    for name, spec in specs().items():
        assert f"| `{name}` | {spec.about} | {spec.tested_on} |" in readme, name
