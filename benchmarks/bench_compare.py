"""Every model family side by side (notebook 09): print the comparison tables, optionally save the record.

    python benchmarks/bench_compare.py                      # everything, full budgets (~45 min on one core)
    python benchmarks/bench_compare.py --quick              # tiny budgets, a couple of minutes
    python benchmarks/bench_compare.py --parts points --save a.json &   # split over two cores ...
    python benchmarks/bench_compare.py --parts images --save b.json
    python benchmarks/bench_compare.py --merge a.json b.json --save notebooks/results/09_which_model.json

The numbers come from one loop over the model contract, ``deepmix_core.compare.run_comparison``; notebook 09
reads the saved record (its ``RECOMPUTE`` switch calls the same function). MNIST needs the offline files
(``DEEPMIX_DATA``); without them the MNIST table is skipped and the record says why.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from datetime import date
from pathlib import Path

import torch
from _common import add_common_arguments, start

import deepmix_core
from deepmix_core.compare import comparison_tables, merge_records, run_comparison


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_common_arguments(parser)
    parser.add_argument("--quick", action="store_true", help="tiny budgets and one seed (a smoke run)")
    parser.add_argument("--parts", nargs="+", default=["points", "images"], choices=["points", "images"])
    parser.add_argument("--save", type=Path, help="write the record (JSON) here")
    parser.add_argument("--merge", type=Path, nargs="+", help="join saved records instead of computing")
    args = parser.parse_args()
    start(args)
    if args.merge:
        parts = [json.loads(path.read_text()) for path in args.merge]
        record = {**parts[0], **merge_records(*parts), "seconds": round(sum(p["seconds"] for p in parts), 1),
                  "made_by": "python benchmarks/bench_compare.py (parts merged: "
                             + ", ".join(" ".join(p["parts"]) for p in parts) + ")",
                  "parts": [part for p in parts for part in p["parts"]]}
    else:
        options = {"quick": True, "point_budgets": (300,), "point_seeds": (0,), "digit_seeds": (0,),
                   "n_points": 500} if args.quick else {}
        began = time.perf_counter()
        record = run_comparison(parts=args.parts, **options)
        record.update({
            "made_by": "python benchmarks/bench_compare.py" + (" --quick" if args.quick else ""),
            "parts": args.parts,
            "date": date.today().isoformat(),
            "seconds": round(time.perf_counter() - began, 1),
            "torch_threads": args.threads,
            "machine": f"{platform.processor() or platform.machine()}, torch {torch.__version__}",
            "deepmix": deepmix_core.__version__,
        })
    print(comparison_tables(record))
    print(f"\n{record['made_by']}: {record['seconds']:.0f} s of training and measuring")
    if args.save:
        args.save.parent.mkdir(parents=True, exist_ok=True)
        args.save.write_text(json.dumps(record) + "\n")
        print(f"wrote {args.save}")


if __name__ == "__main__":
    main()
