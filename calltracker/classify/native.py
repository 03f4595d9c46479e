"""The classifier's optional compiled modules (scripts/compile_classifier.py): which ones; a guard against stale ones.

Python imports a module's C extension in preference to its source, so a compiled module left behind after its
source changed would run the old code silently. `check()`, run when calltracker.classify is imported, refuses that.
Never compiled itself: it must run before the compiled modules load.
"""

from __future__ import annotations

import hashlib
import importlib.machinery
import json
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent
#: Where classify() spends its time (rules.py only loads, model.py and explain.py build the results).
NATIVE_MODULES = ("text", "themes", "programme", "regions", "consortium", "engine")
#: The digests of the sources compiled, written by scripts/compile_classifier.py.
DIGESTS = "_native.json"


class StaleCompiledModules(ImportError):
    pass


def compiled_files() -> list[Path]:
    """The C extensions in the package folder (the modules and their shared library), for this interpreter."""
    return sorted({path for suffix in importlib.machinery.EXTENSION_SUFFIXES for path in PACKAGE.glob(f"*{suffix}")})


def source_digest(name: str) -> str:
    return hashlib.sha256((PACKAGE / f"{name}.py").read_bytes()).hexdigest()


def check() -> None:
    """Raise StaleCompiledModules when a compiled module's source changed since it was compiled (or is unknown)."""
    if not compiled_files():
        return  # pure Python: the usual case
    try:
        digests = json.loads((PACKAGE / DIGESTS).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        digests = {}
    stale = [name for name in NATIVE_MODULES if digests.get(name) != source_digest(name)]
    if stale:
        raise StaleCompiledModules(
            f"calltracker.classify: compiled modules older than their source ({', '.join(stale)}): rebuild them with "
            "`python scripts/compile_classifier.py` or remove them with `python scripts/compile_classifier.py --clean`")
