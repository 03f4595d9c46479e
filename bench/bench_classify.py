"""Classifier throughput on one core: the labelled calls repeated to a few thousand, calls per second."""

from __future__ import annotations

import statistics
import sys
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from a checkout, installed or not

from calltracker.classify import CallText, classify
from calltracker.evaluation import load_labelled

HERE = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "labeled"


def labelled_calls(total: int) -> list[CallText]:
    items = [it.call for name in ("dev.jsonl", "extra.jsonl")
             for it in load_labelled((HERE / name).read_text(encoding="utf-8").splitlines())]
    # Distinct ids and a changed title per copy, so nothing downstream could cache by identity.
    return [replace(c, id=f"{c.id}-{i}", title=c.title + f" {i}")
            for i in range(total // len(items) + 1) for c in items][:total]


def measure(total: int = 5000, reps: int = 3) -> dict[str, float]:
    """classify() calls per second of CPU time on one core (median of `reps`), and wall clock."""
    calls = labelled_calls(total)
    classify(calls[0])  # load and compile the rules outside the timing
    cpu_rates, wall_rates = [], []
    for _ in range(reps):
        wall, cpu = time.perf_counter(), time.process_time()
        for c in calls:
            classify(c)
        # CPU time of this process: on a shared machine wall time also counts other processes' turns.
        cpu_rates.append(len(calls) / (time.process_time() - cpu))
        wall_rates.append(len(calls) / (time.perf_counter() - wall))
    return {"classify_per_s": round(statistics.median(cpu_rates)),
            "classify_wall_per_s": round(statistics.median(wall_rates)),
            "classify_mean_chars": round(sum(len(c.title) + len(c.text) for c in calls) / len(calls))}


def main(total: int = 5000) -> None:
    m = measure(total)
    print(f"classify: {total} calls (mean {m['classify_mean_chars']} chars), median of 3 on one core: "
          f"{m['classify_per_s']:,} calls/s of CPU time ({m['classify_wall_per_s']:,} calls/s wall clock)")


if __name__ == "__main__":
    main()
