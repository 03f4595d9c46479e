"""Classifier throughput on one core, beside its anchor measured in the same run.

- `classify()`: the labelled calls repeated to 5,000 (distinct ids, a changed title per copy), calls per second
  of CPU time, best of 3;
- the text-preparation floor: only folding, lower-casing and splitting into words the fields classify reads
  (what any classifier of these texts must do), same calls, same timing;
- `calltracker classify --jsonl` on the same 5,000 calls written to a file, through click's runner, calls/s.

`--against REV` measures an earlier revision side by side: `git archive REV calltracker` is unpacked in a
temporary folder and both versions run in child processes in alternating order (`--rounds`, default 3), same
calls (this checkout's labelled files), same interpreter; the medians and their ratios are printed.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

# Run from a checkout, installed or not; --against points a child process at another revision's package.
sys.path.insert(0, os.environ.get("BENCH_CLASSIFY_PACKAGE_ROOT") or str(Path(__file__).resolve().parent.parent))

from click.testing import CliRunner  # noqa: E402

from calltracker.classify import CallText, classify  # noqa: E402
from calltracker.classify.text import fold  # noqa: E402
from calltracker.cli.classify_cmds import classify_command  # noqa: E402
from calltracker.evaluation import load_labelled  # noqa: E402

HERE = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "labeled"
_WORD = re.compile(r"[a-z0-9]+")


def calls(total: int) -> list[CallText]:
    items = [it.call for name in ("dev.jsonl", "extra.jsonl")
             for it in load_labelled((HERE / name).read_text(encoding="utf-8").splitlines())]
    return [CallText(id=f"{c.id}-{i}", title=c.title + f" {i}", text=c.text, identifier=c.identifier,
                     programme=c.programme, language=c.language, source=c.source)
            for i in range(total // len(items) + 1) for c in items][:total]


def prepare(call: CallText) -> None:
    for text in (call.title, call.text, call.programme or ""):
        _WORD.findall(fold(text).lower())


def best_rate(batch: Sequence[CallText], work: Callable[[CallText], object], reps: int = 3) -> float:
    best = 0.0
    for _ in range(reps):
        cpu = time.process_time()  # CPU time: on a shared machine wall time also counts other processes' turns
        for c in batch:
            work(c)
        best = max(best, len(batch) / (time.process_time() - cpu))
    return best


def jsonl_rate(batch: Sequence[CallText]) -> float:
    lines = "".join(json.dumps({"id": c.id, "title": c.title, "text": c.text, "identifier": c.identifier,
                                "programme": c.programme, "language": c.language, "source": c.source}) + "\n"
                    for c in batch)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "calls.jsonl"
        path.write_text(lines, encoding="utf-8")
        best = 0.0
        for _ in range(3):
            cpu = time.process_time()
            result = CliRunner().invoke(classify_command, ["--jsonl", str(path)])
            assert result.exit_code == 0, result.output
            best = max(best, len(batch) / (time.process_time() - cpu))
    return best


def main(total: int = 5000) -> dict[str, float]:
    batch = calls(total)
    classify(batch[0])  # load and compile the rules outside the timing
    floor = best_rate(batch, prepare)
    rate = best_rate(batch, classify)
    jsonl = jsonl_rate(batch)
    chars = sum(len(c.title) + len(c.text) for c in batch) / len(batch)
    out = io.StringIO()
    out.write(f"classify: {len(batch)} calls (mean {chars:.0f} chars), best of 3, CPU time of one core\n")
    out.write(f"  classify()                 {rate:>9,.0f} calls/s\n")
    out.write(f"  text-preparation floor     {floor:>9,.0f} calls/s   (classify / floor = {rate / floor:.2f})\n")
    out.write(f"  classify --jsonl {total:,}     {jsonl:>9,.0f} calls/s\n")
    sys.stdout.write(out.getvalue())
    return {"classify_per_s": rate, "floor_per_s": floor, "jsonl_per_s": jsonl}


def measure(total: int = 5000, reps: int = 3) -> dict[str, float]:
    """For bench/run.py: classify() calls per second of CPU time on one core (best of `reps`)."""
    batch = calls(total)
    classify(batch[0])  # load and compile the rules outside the timing
    return {"classify_per_s": round(best_rate(batch, classify, reps))}


def _child(root: Path | None, total: int) -> dict[str, float]:
    env = dict(os.environ)
    if root is not None:
        env["BENCH_CLASSIFY_PACKAGE_ROOT"] = str(root)
    done = subprocess.run([sys.executable, __file__, "--json", "--calls", str(total)], env=env, check=True,
                          capture_output=True, text=True)
    return dict(json.loads(done.stdout.splitlines()[-1]))


def against(rev: str, rounds: int, total: int) -> dict[str, float]:
    """This checkout and revision `rev`, alternating, in child processes: medians and ratios."""
    repo = Path(__file__).resolve().parent.parent
    runs: dict[str, list[dict[str, float]]] = {"before": [], "after": []}
    with tempfile.TemporaryDirectory() as tmp:
        archive = subprocess.run(["git", "-C", str(repo), "archive", rev, "calltracker"], check=True,
                                 capture_output=True).stdout
        subprocess.run(["tar", "-x", "-C", tmp], input=archive, check=True)
        for n in range(rounds):
            order = [("before", Path(tmp)), ("after", None)]
            for name, root in order if n % 2 == 0 else order[::-1]:
                runs[name].append(_child(root, total))
    keys = ("classify_per_s", "floor_per_s", "jsonl_per_s")
    med = {name: {k: statistics.median(r[k] for r in rs) for k in keys} for name, rs in runs.items()}
    out = io.StringIO()
    out.write(f"classify: {rev} (before) vs this checkout (after), {total:,} calls, {rounds} alternating rounds, "
              "medians of best-of-3 CPU-time rates\n")
    out.write(f"  {'':26} {'before':>9} {'after':>9}  ratio\n")
    for key, label in (("classify_per_s", "classify() calls/s"), ("floor_per_s", "text-preparation floor"),
                       ("jsonl_per_s", f"classify --jsonl {total:,}")):
        before, after = med["before"][key], med["after"][key]
        out.write(f"  {label:26} {before:>9,.0f} {after:>9,.0f}  {after / before:.2f}x\n")
    sys.stdout.write(out.getvalue())
    return {f"{name}_{k}": v for name, m in med.items() for k, v in m.items()}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--against", metavar="REV", help="also measure this git revision, alternating with it")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--calls", type=int, default=5000)
    parser.add_argument("--json", action="store_true", help="print the figures as one JSON object (last line)")
    args = parser.parse_args()
    figures = against(args.against, args.rounds, args.calls) if args.against else main(args.calls)
    if args.json:
        print(json.dumps(figures))
