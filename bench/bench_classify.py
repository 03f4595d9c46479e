"""Classifier throughput on one core, beside its anchor measured in the same run.

- `classify()`: the labelled calls repeated to 5,000 (distinct ids, a changed title per copy), calls per second
  of CPU time, best of 3;
- the text-preparation floor: only folding, lower-casing and splitting into words the fields classify reads
  (what any classifier of these texts must do), same calls, same timing;
- `calltracker classify --jsonl` on the same 5,000 calls written to a file, through click's runner, calls/s.
"""

from __future__ import annotations

import io
import json
import re
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from a checkout, installed or not

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


def best_rate(batch: Sequence[CallText], work: Callable[[CallText], object]) -> float:
    best = 0.0
    for _ in range(3):
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
    """For bench/run.py: classify() calls per second of CPU time on one core (median of `reps`)."""
    batch = calls(total)
    classify(batch[0])  # load and compile the rules outside the timing
    rates = []
    for _ in range(reps):
        cpu = time.process_time()
        for c in batch:
            classify(c)
        rates.append(len(batch) / (time.process_time() - cpu))
    return {"classify_per_s": round(statistics.median(rates))}


if __name__ == "__main__":
    main()
