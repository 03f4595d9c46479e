"""Every benchmark with its anchor, side by side in one process and one run (issue #14).

    python bench/run.py [--quick] [--json] [--db-url postgresql+psycopg://postgres@127.0.0.1:5432/test]

- store_new_ratio: Store.save_calls of new calls, page by page, against a raw SQLAlchemy Core
  `INSERT ... ON CONFLICT` of rows of the same width in one transaction (goal >= 0.8);
- store_unchanged_ratio: the same calls saved again, against the same upsert again (>= 0.8);
- classify_save_ratio: Store.save_classifications as the classify job calls it, against a bulk upsert of the
  same classification rows (>= 0.5);
- classify_per_s: classify() calls per second of CPU time on one core over the labelled texts (>= 10,000);
- digest_ratio: send_digests to a loopback aiosmtpd sink, against raw smtplib sending the same bytes over
  one connection, in alternating order (>= 0.8);
- rescrape_speedup: first scrape / unchanged re-scrape of a listing-and-details source on the replay server
  with a 0.2 s politeness delay (>= 5).

Ratios are ours / anchor in items per second; medians of 3 (the re-scrape once with --quick). The storage
benches run on a fresh SQLite file, or with --db-url in fresh schemas of that PostgreSQL server (the other
benches always use SQLite). --quick uses smaller sizes (well under a minute on a 2-core machine).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_classify  # noqa: E402
import bench_digest  # noqa: E402
import bench_scrape  # noqa: E402
import bench_storage  # noqa: E402

SIZES = {  # quick, full
    "calls": (1_500, 10_000),
    "classify": (800, 5_000),
    "digests": (30, 300),
    "rescrape": (8, 20),  # calls of the listing, each with its detail page
}
GOALS = {"store_new_ratio": 0.8, "store_unchanged_ratio": 0.8, "classify_save_ratio": 0.5,
         "classify_per_s": 10_000, "digest_ratio": 0.8, "rescrape_speedup": 5.0}


def run(quick: bool, db_url: str | None) -> dict[str, Any]:
    pick = 0 if quick else 1
    started = time.perf_counter()
    out: dict[str, Any] = {"quick": quick}
    storage = bench_storage.measure(db_url, SIZES["calls"][pick], reps=3)
    out.update(storage)
    out["storage_engine"] = out.pop("engine")
    out.update(bench_classify.measure(SIZES["classify"][pick], reps=3))
    out.update(bench_digest.measure(SIZES["digests"][pick], rounds=3))
    out.update(bench_scrape.measure_rescrape(delay=0.2, items=SIZES["rescrape"][pick]))
    out["goals_met"] = {k: out[k] >= goal for k, goal in GOALS.items()}
    out["seconds"] = round(time.perf_counter() - started, 1)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="smaller sizes (under a minute)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--db-url", default=None,
                        help="run the storage benches on this PostgreSQL server (fresh schemas, dropped after)")
    args = parser.parse_args()
    result = run(args.quick, args.db_url)
    if args.json:
        print(json.dumps(result))
        return
    engine = result["storage_engine"]
    rows = [
        ("store new calls", engine, result["store_new_per_s"], result["store_new_anchor_per_s"],
         result["store_new_ratio"], "store_new_ratio"),
        ("store unchanged calls", engine, result["store_unchanged_per_s"], result["store_unchanged_anchor_per_s"],
         result["store_unchanged_ratio"], "store_unchanged_ratio"),
        ("save classifications", engine, result["classify_save_per_s"], result["classify_save_anchor_per_s"],
         result["classify_save_ratio"], "classify_save_ratio"),
        ("classify() one core", "-", result["classify_per_s"], "-", "-", "classify_per_s"),
        ("digests to a loopback sink", "sqlite", round(result["digest_per_s"], 1),
         round(result["digest_raw_per_s"], 1), round(result["digest_ratio"], 2), "digest_ratio"),
        ("unchanged re-scrape (0.2 s delay)", "sqlite", f"{result['rescrape_again_s']} s",
         f"first {result['rescrape_first_s']} s", f"{result['rescrape_speedup']}x", "rescrape_speedup"),
    ]
    print(f"{'metric':36} {'engine':10} {'ours/s':>10} {'anchor/s':>14} {'ratio':>7}  goal")
    for name, eng, ours, anchor, ratio, key in rows:
        mark = "ok" if result["goals_met"][key] else "NOT MET"
        print(f"{name:36} {eng:10} {ours!s:>10} {anchor!s:>14} {ratio!s:>7}  >= {GOALS[key]:g} {mark}")
    print(f"({'quick, ' if result['quick'] else ''}{result['seconds']} s)")


if __name__ == "__main__":
    main()
