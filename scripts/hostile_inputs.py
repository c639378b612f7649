"""Print what deepmix does with the hostile inputs of issue 17: the error, warning or corrected number of each.

    python scripts/hostile_inputs.py

Each line is one call, followed by its outcome: the exception type and message, the warning, or the result.
Runs in about half a minute on a laptop CPU (a few tiny models are trained first).
"""

from __future__ import annotations

import math
import tempfile
import warnings
from pathlib import Path

import pandas as pd
import torch

from deepmix_core import DCGMM, DRMM, GMM, Box, Equality, GaussianPrior, GenMM, Inequality
from deepmix_core.data import swiss_roll
from deepmix_core.data.images import read_idx
from deepmix_core.data.kinematics import Arm
from deepmix_core.ik import ccd_polish

NAN = float("nan")


def show(label: str, call) -> None:
    """Run ``call`` and print what came back: an error, a warning, or the value."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            value = call()
            outcome = f"-> {value}"
        except Exception as error:  # this script reports every kind of failure
            outcome = f"-> {type(error).__name__}: {error}"
    for warning in caught:
        outcome += f"\n      warns {warning.category.__name__}: {warning.message}"
    print(f"  {label}\n    {outcome}")


def main() -> None:
    torch.set_num_threads(1)
    roll = swiss_roll(n=2000, noise=0.02, seed=0)
    gmm = GMM(24)
    gmm.fit(roll, progress=False)
    drmm = DRMM(2, 12)
    drmm.fit(roll, steps=600, batch_size=128, progress=False)
    images = torch.rand(120, 1, 8, 8, generator=torch.Generator().manual_seed(0))
    dcgmm = DCGMM.from_spec("F(3,1)-G(16)-F(6,1)-G(25)", input_shape=(1, 8, 8))
    dcgmm.fit(images, steps=10, batch_size=60, progress=False)
    flow = {"kind": "vector", "dim": 2, "n_layers": 2, "hidden": 8}
    folder = Path(tempfile.mkdtemp())

    print("1. wrong numbers")
    far = (roll.double() + 1e6).float()
    model = GMM(24)
    fitted = model.fit(far, progress=False)
    show("GMM on the Swiss roll shifted by 1e6 (float32): fit's mean log-likelihood vs mean log_prob of the rows",
         lambda: (round(float(fitted["log_likelihood"][-1]), 3), round(model.log_prob(far).mean().item(), 3)))
    far64 = roll.double() + 1e6
    model64 = GMM(24)
    fitted64 = model64.fit(far64, progress=False)
    show("the same in float64 (float32 itself rounds data near 1e6 to steps of 0.0625)",
         lambda: (round(float(fitted64["log_likelihood"][-1]), 6), round(model64.log_prob(far64).mean().item(), 6)))

    print("2. training that goes non-finite")
    show("DRMM(2, 6).fit(roll, lr=100)", lambda: DRMM(2, 6).fit(roll, steps=200, lr=100.0, progress=False))
    show("DRMM(2, 6).fit(roll * 1e20)", lambda: DRMM(2, 6).fit(roll * 1e20, steps=200, progress=False))
    show("GenMM(2, flow).fit(roll, epochs=3, lr=1e3)",
         lambda: GenMM(2, flow=flow).fit(roll, epochs=3, lr=1e3, progress=False))
    show("GMM(3).fit(roll * 1e20)", lambda: GMM(3).fit(roll * 1e20, progress=False))

    print("3. files")
    path = gmm.save(folder / "missing" / "folder" / "gmm.pt")
    show("gmm.save(<a missing folder>/gmm.pt); GMM.load(it).means equal",
         lambda: torch.equal(GMM.load(path).means, gmm.means))
    raw = bytearray(path.read_bytes())
    start = raw.find(gmm.means.numpy().tobytes())
    raw[start + 7] ^= 0x40
    damaged = folder / "damaged.pt"
    damaged.write_bytes(bytes(raw))
    show("GMM.load(<the file with one byte flipped inside the means>)", lambda: GMM.load(damaged))
    cut = folder / "cut.pt"
    cut.write_bytes(path.read_bytes()[:1000])
    show("GMM.load(<the first 1000 bytes of the file>)", lambda: GMM.load(cut))
    show("gmm.save(<a folder>)", lambda: gmm.save(folder))

    print("4. impossible wishes")
    wishes = {
        "x > 1 and x < -1": [Inequality([1, 0], -1), Inequality([-1, 0], -1)],
        "x > 1e6": [Inequality([1, 0], -1e6)],
        "Box([5, 5], [6, 6]) (outside the data)": [Box([5, 5], [6, 6])],
        "Equality([1, 1], -10) (far from the data)": [Equality([1, 1], -10)],
    }
    for name, constraints in wishes.items():
        for model in (gmm, drmm):
            show(f"{model.family}.sample(500, constraints={name})",
                 lambda model=model, constraints=constraints: (model.sample(500, constraints=constraints, seed=0),
                                                               model.sample_report_)[1])
    show("Inequality([1e20, 0], 0).a", lambda: Inequality([1e20, 0], 0).a)
    show("Inequality([1e-30, 0], 0).a", lambda: Inequality([1e-30, 0], 0).a)
    show("share of GMM samples with x > 0 under Inequality([1e20, 0], 0)",
         lambda: (gmm.sample(1000, constraints=[Inequality([1e20, 0], 0)], seed=0)[:, 0] > 0).float().mean().item())

    print("5. ranges")
    show("dcgmm.fit(images * 255)", lambda: dcgmm.fit(images * 255, steps=1, batch_size=60, progress=False))
    show("dcgmm.log_prob(images * 2 - 1)", lambda: dcgmm.log_prob(images * 2 - 1))
    show("dcgmm.inpaint(images[:2], mask=2.0 * half)", lambda: dcgmm.inpaint(images[:2], torch.ones(8, 8) * 2.0))
    genmm = GenMM(2, flow=flow)
    genmm.fit(roll, epochs=1, progress=False)
    show("genmm.sample(5, temperature=inf)", lambda: genmm.sample(5, temperature=math.inf))
    show("ccd_polish(arm, <nan poses>, targets)",
         lambda: ccd_polish(Arm(), torch.full((1, Arm().n_params), NAN), {"hand": (0.5, 0.5)}))
    show("gmm.sample(3, priors=[GaussianPrior([0.3, nan], [1e-30, inf])])[:, 0]",
         lambda: gmm.sample(3, priors=[GaussianPrior([0.3, NAN], [1e-30, math.inf])], seed=0)[:, 0])

    print("6. seeds (two fits with seed=0 after different global seeds: largest difference of any parameter)")
    for name, build, data, budget in (
        ("GMM", lambda: GMM(6), roll, {"epochs": 10}),
        ("DRMM", lambda: DRMM(2, 6), roll, {"steps": 60}),
        ("GenMM", lambda: GenMM(2, flow=flow), roll[:400], {"epochs": 1}),
        ("DCGMM", lambda: DCGMM.from_spec("F(3,1)-G(16)-F(6,1)-G(25)", input_shape=(1, 8, 8)), images,
         {"steps": 5, "batch_size": 60}),
    ):
        states = []
        for global_seed in (1, 2):
            torch.manual_seed(global_seed)
            model = build()
            model.fit(data, seed=0, progress=False, **budget)
            states.append({k: v for k, v in model.state_dict().items() if torch.is_tensor(v)})
        show(f"{name}.fit(seed=0) twice", lambda states=states: max(
            (a.double() - states[1][k].double()).abs().max().item() if a.numel() else 0.0
            for k, a in states[0].items()))

    print("7. clear errors")
    frame = pd.DataFrame(roll.numpy(), columns=["x", "y"])
    show("GMM(4).fit(<pandas DataFrame>) last log-likelihood",
         lambda: GMM(4).fit(frame, progress=False)["log_likelihood"][-1])
    show("GMM(2.5)", lambda: GMM(2.5))
    show("gmm.log_prob(torch.zeros(0, 2))", lambda: gmm.log_prob(torch.zeros(0, 2)))
    idx = folder / "cut.idx"
    idx.write_bytes(b"\x00\x00\x08\x03" + (10).to_bytes(4, "big"))
    show("read_idx(<IDX file cut inside its header>)", lambda: read_idx(idx))
    show("GenMM(2, flow).log_prob(x) before fit", lambda: GenMM(2, flow=flow).log_prob(roll[:3]))


if __name__ == "__main__":
    main()
