"""Classifier throughput on one core: the labelled calls repeated to a few thousand, calls per second."""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from a checkout, installed or not

from calltracker.classify import CallText, classify
from calltracker.evaluation import load_labelled

HERE = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "labeled"


def main(total: int = 5000) -> None:
    items = [it.call for name in ("dev.jsonl", "extra.jsonl")
             for it in load_labelled((HERE / name).read_text(encoding="utf-8").splitlines())]
    # Distinct ids and a changed title per copy, so nothing downstream could cache by identity.
    calls = [CallText(id=f"{c.id}-{i}", title=c.title + f" {i}", text=c.text, identifier=c.identifier,
                      programme=c.programme, language=c.language, source=c.source)
             for i in range(total // len(items) + 1) for c in items][:total]
    classify(calls[0])  # load and compile the rules outside the timing
    best_cpu = best_wall = 0.0
    for _ in range(3):
        wall, cpu = time.perf_counter(), time.process_time()
        for c in calls:
            classify(c)
        # CPU time of this process: on a shared machine wall time also counts other processes' turns.
        best_cpu = max(best_cpu, len(calls) / (time.process_time() - cpu))
        best_wall = max(best_wall, len(calls) / (time.perf_counter() - wall))
    chars = sum(len(c.title) + len(c.text) for c in calls) / len(calls)
    print(f"classify: {len(calls)} calls (mean {chars:.0f} chars), best of 3 on one core: "
          f"{best_cpu:,.0f} calls/s of CPU time ({best_wall:,.0f} calls/s wall clock)")


if __name__ == "__main__":
    main()
