"""Compile the classifier's hot modules with mypyc, in place (optional): `python scripts/compile_classifier.py`.

The package installs and runs as pure Python (`pip install -e .`); this builds C extensions of the modules
`classify()` spends its time in (NATIVE_MODULES) beside their sources, where Python's import prefers them, about
1.4x faster (bench/bench_classify.py). Needs mypy (the dev extra ships mypyc) and a C compiler.
`--clean` removes them. The digests of the sources compiled are written to calltracker/classify/_native.json:
importing calltracker.classify refuses compiled modules whose source changed since (see calltracker/classify/native.py).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Read by its path: importing it through the package would run the package's check, which refuses stale modules.
_spec = importlib.util.spec_from_file_location("_calltracker_native", ROOT / "calltracker" / "classify" / "native.py")
assert _spec is not None and _spec.loader is not None
native = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(native)
DIGESTS, NATIVE_MODULES, PACKAGE = native.DIGESTS, native.NATIVE_MODULES, native.PACKAGE
compiled_files, source_digest = native.compiled_files, native.source_digest


def clean() -> list[Path]:
    removed = compiled_files()
    for path in removed:
        path.unlink()
    (PACKAGE / DIGESTS).unlink(missing_ok=True)
    return removed


def build() -> list[Path]:
    try:
        from mypyc.build import mypycify
        from setuptools import setup
    except ImportError as exc:
        raise SystemExit(f"cannot compile: {exc} (mypyc comes with mypy: pip install -e '.[dev]')") from None

    clean()
    sources = [f"calltracker/classify/{name}.py" for name in NATIVE_MODULES]
    with tempfile.TemporaryDirectory() as tmp:
        here = Path.cwd()
        os.chdir(ROOT)  # mypyc names the modules by their paths from here
        try:
            # One group, named inside the package, so its shared library sits there too (not at the top level).
            modules = mypycify(sources, group_name="calltracker.classify._native", target_dir=str(Path(tmp) / "c"))
            setup(name="calltracker-native", packages=[], ext_modules=modules, script_args=[
                "-q", "build_ext", "--inplace", "--build-temp", str(Path(tmp) / "temp"),
                "--build-lib", str(Path(tmp) / "lib")])
        finally:
            os.chdir(here)
        shutil.rmtree(ROOT / "build", ignore_errors=True)
    digests = {name: source_digest(name) for name in NATIVE_MODULES}
    (PACKAGE / DIGESTS).write_text(json.dumps(digests, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    return compiled_files()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clean", action="store_true", help="remove the compiled modules (back to pure Python)")
    args = parser.parse_args()
    files = clean() if args.clean else build()
    verb = "removed" if args.clean else "built"
    sys.stdout.write("".join(f"{verb} {path.relative_to(ROOT)}\n" for path in files) or "nothing to remove\n")


if __name__ == "__main__":
    main()
