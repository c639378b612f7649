"""Train the small pretrained models shipped in deepmix_core/pretrained/ (run by ``make pretrained``).

The IK models are trained here; the two MNIST DCGMMs (``mnist``, ``mnist_no0``) by
``train_dcgmm_pretrained.py``, which this script calls for those names.


Each model is a DRMM trained from scratch on random poses of its rig (seed 0), then saved with a JSON record
of how it was made. The settings below were chosen to train in under 10 minutes on one core of a laptop CPU;
the paper's humanoid model (10 layers × 256 components, 500k steps on a GPU) is far bigger.

    python scripts/train_pretrained.py               # all four models
    python scripts/train_pretrained.py --only arm    # one of them
"""

from __future__ import annotations

import argparse
import json
import platform
import time

import torch
import train_dcgmm_pretrained

from deepmix_core import DRMM
from deepmix_core.data.kinematics import Arm, Humanoid
from deepmix_core.pretrained import pretrained_path
from deepmix_core.scaled import ColumnScaled

# name: rig, DRMM shape, training settings, and the factor on the rig's point columns (centre of mass and
# effectors; 1 = plain DRMM). Measured in one-off runs while choosing, not reproduced by a script in the repo
# (200 held-out humanoid target sets, best of 64 by
# kinematics, median error / body height): 6×64 4k steps 4.6 % plain vs 3.4 % with factor 3; 10×64 20k steps
# 3.7 % plain vs 2.7 % with factor 3; 8×32 30k steps 4.8 %; 4×256 6k steps 4.6 %. Arm (200 held-out hand
# targets, median error / reach): 4×32 plain 20k steps 2.4 %; 6×64 ×3 15k steps 1.1 %; 8×32 ×3 15k steps 1.7 %.
MODELS = {
    "arm": dict(
        rig=Arm, layers=6, components=64, point_scale=3.0, poses=100_000, steps=15_000, batch_size=256, lr=0.005
    ),
    "humanoid": dict(
        rig=Humanoid,
        layers=10,
        components=64,
        point_scale=3.0,
        poses=200_000,
        steps=30_000,
        batch_size=256,
        lr=0.005,
    ),
}


def point_columns_scale(rig, factor: float) -> torch.Tensor:
    """Per-column factors: ``factor`` on the centre of mass and effector columns, 1 on root and angles."""
    scale = torch.ones(rig.dim)
    scale[rig.n_params :] = factor
    return scale


def train(name: str, threads: int) -> tuple:
    """Train IK checkpoint ``name``; returns the saved path and its training record."""
    settings = MODELS[name]
    rig = settings["rig"]()
    data = rig.dataset(settings["poses"], seed=0)
    model = DRMM(settings["layers"], settings["components"])
    if settings["point_scale"] != 1.0:
        model = ColumnScaled(model, point_columns_scale(rig, settings["point_scale"]))
    print(f"{name}: DRMM {settings['layers']}×{settings['components']} on {len(data)} poses of {rig}")
    begin = time.perf_counter()
    history = model.fit(
        data, steps=settings["steps"], batch_size=settings["batch_size"], lr=settings["lr"], seed=0
    )
    seconds = time.perf_counter() - begin
    path = model.save(pretrained_path(name))
    record = {
        "rig": type(rig).__name__,
        "rig_dim": rig.dim,
        "layers": settings["layers"],
        "components": settings["components"],
        "point_scale": settings["point_scale"],
        "parameters": model.n_parameters(),
        "training_poses": settings["poses"],
        "data_seed": 0,
        "steps": settings["steps"],
        "batch_size": settings["batch_size"],
        "lr": settings["lr"],
        "final_loss": history.rows["loss"][-1],
        "train_seconds": round(seconds, 1),
        "torch_threads": threads,
        "machine": f"{platform.processor() or platform.machine()}, {torch.__version__}",
        "made_by": "scripts/train_pretrained.py (make pretrained)",
    }
    return path, record


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--only", choices=sorted([*MODELS, *train_dcgmm_pretrained.MODELS]), help="train one model")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads (1 is fastest for these sizes)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    for name in [args.only] if args.only else [*MODELS, *train_dcgmm_pretrained.MODELS]:
        trainer = train if name in MODELS else train_dcgmm_pretrained.train
        path, record = trainer(name, args.threads)
        path.with_suffix(".json").write_text(json.dumps(record, indent=2) + "\n")
        print(f"{name}: {record['train_seconds']:.0f} s, wrote {path} ({path.stat().st_size / 1e6:.2f} MB)")


if __name__ == "__main__":
    main()
