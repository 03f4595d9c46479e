"""The optional compiled classifier (scripts/compile_classifier.py) is refused when its source changed since."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from calltracker.classify import native


def _package(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in native.NATIVE_MODULES:
        (tmp_path / f"{name}.py").write_text(f"# {name}\n", encoding="utf-8")
    monkeypatch.setattr(native, "PACKAGE", tmp_path)
    return tmp_path


def test_pure_python_needs_no_digests(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _package(tmp_path, monkeypatch)
    assert native.compiled_files() == []
    native.check()


def test_compiled_modules_are_refused_once_a_source_changes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    package = _package(tmp_path, monkeypatch)
    compiled = package / "text.cpython-311-x86_64-linux-gnu.so"
    compiled.write_bytes(b"")
    with pytest.raises(native.StaleCompiledModules, match="compile_classifier"):
        native.check()  # no digests written: nothing says which source it was compiled from
    digests = {name: native.source_digest(name) for name in native.NATIVE_MODULES}
    (package / native.DIGESTS).write_text(json.dumps(digests), encoding="utf-8")
    native.check()
    assert native.compiled_files() == [compiled]
    (package / "themes.py").write_text("# themes, edited\n", encoding="utf-8")
    with pytest.raises(native.StaleCompiledModules, match=r"\(themes\)"):
        native.check()
