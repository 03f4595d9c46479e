"""CLI start-up: `calltracker --help` and two read-only commands against the anchor `import sqlalchemy, httpx`.

Each is a fresh interpreter, run alternately in the same run; the figure is the ratio of medians (goal for
`--help`: <= 1.0). `python bench/bench_cli.py [--quick] [--json]`.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

CASES: dict[str, list[str]] = {
    "anchor": [sys.executable, "-c", "import sqlalchemy, httpx"],
    "help": [sys.executable, "-m", "calltracker", "--help"],
    "sources_list": [sys.executable, "-m", "calltracker", "sources", "list"],
    "calls_list": [sys.executable, "-m", "calltracker", "calls", "list"],
}


def _time(argv: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT, env=env)
    return time.perf_counter() - start


def measure(rounds: int = 7) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as data:
        env = {k: v for k, v in os.environ.items() if not k.startswith("CALLTRACKER_")}
        env["PYTHONPATH"] = str(ROOT)
        env["XDG_DATA_HOME"] = data  # the default data directory: nothing of the user's is touched
        _time([sys.executable, "-m", "calltracker", "db", "upgrade"], env)  # the default database, current
        for argv in CASES.values():  # warm the OS cache and .pyc files outside the timing
            _time(argv, env)
        times: dict[str, list[float]] = {name: [] for name in CASES}
        for _ in range(rounds):
            for name, argv in CASES.items():  # alternate, so a busy moment hits every case alike
                times[name].append(_time(argv, env))
    med = {name: statistics.median(ts) for name, ts in times.items()}
    return {
        "anchor_s": med["anchor"],
        "help_s": med["help"],
        "sources_list_s": med["sources_list"],
        "calls_list_s": med["calls_list"],
        "cli_help_ratio": med["help"] / med["anchor"],
        "cli_sources_list_ratio": med["sources_list"] / med["anchor"],
        "cli_calls_list_ratio": med["calls_list"] / med["anchor"],
    }


def main(argv: list[str]) -> None:
    result = measure(rounds=3 if "--quick" in argv else 7)
    if "--json" in argv:
        print(json.dumps(result))
        return
    print(f"`import sqlalchemy, httpx` {result['anchor_s']:.3f}s; `calltracker --help` {result['help_s']:.3f}s "
          f"({result['cli_help_ratio']:.2f}x, goal <= 1.0x); `calltracker sources list` "
          f"{result['sources_list_s']:.3f}s ({result['cli_sources_list_ratio']:.2f}x); `calltracker calls list` "
          f"(empty default database) {result['calls_list_s']:.3f}s ({result['cli_calls_list_ratio']:.2f}x); "
          "medians, alternating")


if __name__ == "__main__":
    main(sys.argv[1:])
