"""Run notebook 04's sweep (depth against parameters, paper 001 Fig. 7) and write its results file.

Usage: ``python scripts/depth_sweep.py [--out notebooks/results/04_depth_sweep.json]``. About seven minutes
on one CPU thread: 65 DRMMs of 3,000 steps and 16 GMMs on four data sets (``deepmix_core.sweeps``). The
notebook plots the file this writes, and reruns the same function live when its ``RECOMPUTE`` switch is on.
The file records the settings, the machine and the run time next to the rows, so a reader can tell how the
numbers were made.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from datetime import date
from pathlib import Path

import torch

import deepmix_core
from deepmix_core.sweeps import depth_sweep, sweep_datasets

ROOT = Path(__file__).resolve().parents[1]
# The full budgets of notebook 04 (its parameters cell holds the same numbers).
SETTINGS = dict(one_layer_sizes=[16, 32, 64, 128], depths=[1, 2, 3, 4], steps=3000, n_samples=2000, n_passes=16,
                gmm_epochs=300, seed=0, arm_poses=20_000, humanoid_poses=50_000, n_held_out=2000,
                extra_drmms={"DRMM 5×3 (nb 03)": ["Sierpinski (2-D)", [5, 3]]})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "notebooks" / "results" / "04_depth_sweep.json")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads (1 is fastest for these sizes)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    settings = dict(SETTINGS)
    data = sweep_datasets(settings.pop("arm_poses"), settings.pop("humanoid_poses"), settings.pop("n_held_out"))
    extra = {name: (dataset, tuple(shape)) for name, (dataset, shape) in settings.pop("extra_drmms").items()}
    start = time.perf_counter()
    rows = depth_sweep(data, extra_drmms=extra, **settings)
    seconds = time.perf_counter() - start
    record = {
        "made_by": "python scripts/depth_sweep.py",
        "date": date.today().isoformat(),
        "seconds": round(seconds, 1),
        "torch_threads": args.threads,
        "machine": f"{platform.processor() or platform.machine()}, torch {torch.__version__}",
        "deepmix": deepmix_core.__version__,
        "settings": SETTINGS,
        "rows": rows,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(record, indent=1) + "\n")
    print(f"{len(rows)} models in {seconds:.0f} s; wrote {args.out}")


if __name__ == "__main__":
    main()
