"""Hostile-but-fair inputs end in a right answer, a clear error or a warning — never a quiet nan or a lost file.

One block per item of issue 17, then a property test (hypothesis) over the public verbs of the contract.
"""

import gzip
import math
import os
import traceback
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from deepmix_core import DCGMM, DRMM, GMM, Box, Equality, GaussianPrior, GenMM, Inequality, LatMM
from deepmix_core.data import swiss_roll
from deepmix_core.data.images import read_idx
from deepmix_core.data.kinematics import Arm
from deepmix_core.ik import ccd_polish, solve
from deepmix_core.persistence import read_checkpoint
from deepmix_core.pretrained import PRETRAINED_DIR

NAN = float("nan")
TINY_FLOW = {"kind": "vector", "dim": 2, "n_layers": 2, "hidden": 8}
DCGMM_SPEC = "F(3,1)-G(16)-F(6,1)-G(25)"
CLEAR_ERRORS = (ValueError, TypeError, NotImplementedError, RuntimeError, FloatingPointError)


@pytest.fixture(scope="module")
def roll() -> torch.Tensor:
    return swiss_roll(n=2000, noise=0.02, seed=0)


@pytest.fixture(scope="module")
def gmm(roll) -> GMM:
    model = GMM(24)
    model.fit(roll, seed=0, progress=False)
    return model


@pytest.fixture(scope="module")
def drmm(roll) -> DRMM:
    model = DRMM(n_layers=2, n_components=12)
    model.fit(roll, steps=600, batch_size=128, seed=0, progress=False)
    return model


@pytest.fixture(scope="module")
def images() -> torch.Tensor:
    return torch.rand(120, 1, 8, 8, generator=torch.Generator().manual_seed(0))


@pytest.fixture(scope="module")
def dcgmm(images) -> DCGMM:
    model = DCGMM.from_spec(DCGMM_SPEC, input_shape=(1, 8, 8), window=20, gamma=0.8)
    model.fit(images, steps=10, batch_size=60, seed=0, progress=False)
    return model


def build_tiny(family: str):
    """A small untrained model of each family, and the fit budget that trains it in about a second."""
    if family == "GMM":
        return GMM(6), {"epochs": 10}
    if family == "DRMM":
        return DRMM(2, 6), {"steps": 60, "batch_size": 64}
    if family == "GenMM":
        return GenMM(2, flow=TINY_FLOW), {"epochs": 1, "batch_size": 100}
    if family == "LatMM":
        return LatMM(2, flow=TINY_FLOW), {"epochs": 1, "batch_size": 100}
    return DCGMM.from_spec(DCGMM_SPEC, input_shape=(1, 8, 8)), {"steps": 5, "batch_size": 60}


FAMILIES = ["GMM", "DRMM", "GenMM", "LatMM", "DCGMM"]


# ---------------------------------------------------------------- 2. training that goes non-finite
@pytest.mark.parametrize("family", ["GenMM", "LatMM"])  # the DRMM's case: tests/test_drmm.py
def test_training_with_a_huge_learning_rate_stops_with_advice_and_a_finite_model(family, roll):
    model, budget = build_tiny(family)
    with pytest.raises(FloatingPointError, match=r"non-finite at epoch \d+.*smaller lr"):
        model.fit(roll[:400], lr=1e3, seed=0, progress=False, **budget)
    assert all(torch.isfinite(p).all() for p in model.parameters())


def test_gmm_on_data_that_overflows_when_squared_says_so():
    with pytest.raises(ValueError, match="overflow"):
        GMM(3).fit(torch.randn(100, 2) * 1e20, progress=False)


# ---------------------------------------------------------------- 3. files: atomic save, checksum, clear errors
def _flip_one_byte_inside(path: Path, tensor: torch.Tensor) -> None:
    """Flip a byte in the stored bytes of ``tensor`` (found by searching the file for them)."""
    raw = bytearray(path.read_bytes())
    stored = tensor.detach().cpu().contiguous().numpy().tobytes()
    start = raw.find(stored)
    assert start >= 0, "the tensor's bytes were not found in the file"
    raw[start + len(stored) // 2] ^= 0x40
    path.write_bytes(bytes(raw))


def test_a_flipped_byte_is_refused_by_the_checksum(gmm, tmp_path):
    path = gmm.save(tmp_path / "gmm.pt")
    assert torch.equal(GMM.load(path).means, gmm.means)
    _flip_one_byte_inside(path, gmm.means)
    with pytest.raises(ValueError, match="damaged"):
        GMM.load(path)


def test_unreadable_missing_and_misplaced_files_give_clear_errors(gmm, tmp_path):
    good = gmm.save(tmp_path / "deep" / "er" / "gmm.pt")  # a missing folder is created
    truncated = tmp_path / "truncated.pt"
    truncated.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    text = tmp_path / "notes.pt"
    text.write_text("not a model")
    for path in (truncated, text):
        with pytest.raises(ValueError, match="could not be read"):
            GMM.load(path)
    with pytest.raises(FileNotFoundError, match="no model file"):
        GMM.load(tmp_path / "absent.pt")
    with pytest.raises(IsADirectoryError, match="is a folder"):
        gmm.save(tmp_path)
    with pytest.raises(ValueError, match="holds a 'GMM' model, not a DRMM"):
        DRMM.load(good)


def test_saved_files_get_a_normal_file_mode(gmm, tmp_path):
    umask = os.umask(0o022)
    try:
        path = gmm.save(tmp_path / "gmm.pt")
    finally:
        os.umask(umask)
    assert path.stat().st_mode & 0o777 == 0o644  # mkstemp alone would leave 0o600


def test_files_without_a_checksum_load_with_a_warning(gmm, tmp_path):
    path = tmp_path / "old.pt"
    torch.save({"model": "GMM", "config": gmm.config, "state": gmm.state_dict()}, path)
    with pytest.warns(UserWarning, match="no checksum"):
        loaded = GMM.load(path)
    assert torch.equal(loaded.means, gmm.means)


def test_shipped_checkpoints_carry_checksums():
    files = sorted(PRETRAINED_DIR.glob("*.pt"))
    assert files
    for path in files:
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # a missing checksum would warn
            assert "checksum" in read_checkpoint(path)


def test_an_unfitted_model_stays_unfitted_through_save_and_load(tmp_path):
    for model in (GMM(3, n_features=2), DRMM(2, 4, n_features=2)):
        loaded = type(model).load(model.save(tmp_path / "m.pt"))
        assert not loaded.is_fitted


# ---------------------------------------------------------------- 4. infeasible wishes
IMPOSSIBLE = {
    "x > 1 and x < -1": {"constraints": [Inequality([1, 0], -1), Inequality([-1, 0], -1)]},
    "x > 1e6": {"constraints": [Inequality([1, 0], -1e6)]},
    "box outside the data": {"constraints": [Box([5, 5], [6, 6])]},
    "equality far outside": {"constraints": [Equality([1, 1], -10)]},
}


@pytest.mark.parametrize("wish", list(IMPOSSIBLE), ids=list(IMPOSSIBLE))
@pytest.mark.parametrize("which", ["gmm", "drmm"])
def test_impossible_wishes_warn_with_the_numbers(which, wish, request):
    model = request.getfixturevalue(which)
    with pytest.warns(UserWarning, match="infeasible"):
        samples = model.sample(500, seed=0, **IMPOSSIBLE[wish])
    assert torch.isfinite(samples).all()
    report = model.sample_report_
    if report.satisfied is not None:
        assert report.satisfied < 0.05 and report.probability < 1e-6
    else:
        assert max(report.plane_distances) > 5


@pytest.mark.parametrize("which", ["gmm", "drmm"])
def test_feasible_wishes_do_not_warn_and_report_what_was_met(which, request):
    model = request.getfixturevalue(which)
    inequality = Inequality([1.0, 0.2], 0.0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        samples = model.sample(1000, constraints=[inequality, Equality([1, -1], 0.0)], seed=0)
    report = model.sample_report_
    assert report.satisfied == pytest.approx(inequality.holds(samples).float().mean().item())
    assert report.satisfied > 0.9 and 0.2 < report.probability < 0.8  # about half the roll has x + 0.2 y > 0
    assert report.plane_distances[0] < 2


def test_inequality_normals_of_any_magnitude_are_normalised():
    for scale in (1e-30, 1e-8, 1.0, 1e20, 1e30):
        inequality = Inequality([scale, 0.0], 0.5 * scale)
        assert torch.allclose(inequality.a, torch.tensor([1.0, 0.0])) and inequality.b.item() == pytest.approx(0.5)
    with pytest.raises(ValueError, match="all zeros"):
        Inequality([0.0, 0.0], 1.0)


def test_a_huge_normal_still_conditions_the_samples(gmm):
    samples = gmm.sample(1000, constraints=[Inequality([1e20, 0.0], 0.0)], seed=0)
    assert (samples[:, 0] > 0).float().mean() > 0.85


# ---------------------------------------------------------------- 5. ranges
def test_dcgmm_refuses_images_outside_the_unit_range(dcgmm, images):
    for bad in (images * 255, images * 2 - 1, images * 1e6):
        with pytest.raises(ValueError, match=r"\[0, 1\]"):
            dcgmm.log_prob(bad)
    with pytest.raises(ValueError, match="divide 0–255"):
        dcgmm.fit(images * 255, steps=1, batch_size=60, progress=False)


def test_dcgmm_inpainting_masks_must_be_zero_or_one(dcgmm, images):
    half = torch.zeros(8, 8)
    half[4:] = 1
    filled = dcgmm.inpaint(images[:3], half, seed=0)
    assert filled.min() >= 0 and filled.max() <= 1
    assert torch.equal(filled[:, :, :4], images[:3, :, :4])  # the known half is kept
    for bad in (half * 2.0, -half):
        with pytest.raises(ValueError, match="mask must be"):
            dcgmm.inpaint(images[:3], bad)


def test_dcgmm_drawing_settings_and_class_ids_are_checked(dcgmm):
    for kwargs in ({"noise_scale": math.inf}, {"noise_scale": NAN}, {"top_s": 2.5}):
        with pytest.raises(ValueError):
            dcgmm.sample(3, **kwargs)
    with pytest.raises(ValueError, match="layer must be"):
        dcgmm.posteriors(torch.rand(2, 1, 8, 8), layer=5)
    with pytest.raises(ValueError, match="whole-number class"):
        dcgmm.sample(3, classes=[1.7])


@pytest.mark.parametrize("family", ["GenMM", "LatMM"])
def test_flow_temperature_must_be_finite(family, roll):
    model, budget = build_tiny(family)
    model.fit(roll[:400], seed=0, progress=False, **budget)
    with pytest.raises(ValueError, match="temperature must be finite"):
        model.sample(5, temperature=math.inf)


def test_a_prior_narrower_than_float_precision_pins_the_value(gmm):
    for std in (1e-10, 1e-20, 1e-30):
        samples = gmm.sample(200, priors=[GaussianPrior([0.3, NAN], [std, math.inf])], seed=0)
        assert torch.isfinite(samples).all() and torch.allclose(samples[:, 0], torch.tensor(0.3))


def test_ccd_polish_refuses_nan_poses():
    arm = Arm()
    poses = torch.full((2, arm.n_params), NAN)
    with pytest.raises(ValueError, match="nan or inf"):
        ccd_polish(arm, poses, {arm.effectors[-1]: (0.5, 0.5)})


# ---------------------------------------------------------------- 6. seeds
@pytest.mark.parametrize("family", FAMILIES)
def test_the_same_seed_gives_bit_identical_fits_whatever_the_global_state(family, roll, images):
    data = images if family == "DCGMM" else roll[:400]
    fitted = []
    for global_seed in (1, 2):
        torch.manual_seed(global_seed)
        model, budget = build_tiny(family)
        model.fit(data, seed=0, progress=False, **budget)
        fitted.append(model)
    first, second = (m.state_dict() for m in fitted)
    for name, value in first.items():
        assert torch.equal(value, second[name]) if torch.is_tensor(value) else value == second[name], name
    assert torch.equal(fitted[0].sample(5, seed=3), fitted[1].sample(5, seed=3))


# ---------------------------------------------------------------- 7. clear errors, and array-likes accepted
def test_pandas_lists_and_numpy_are_all_accepted(roll):
    frame = pd.DataFrame(roll.numpy(), columns=["x", "y"])
    from_frame = GMM(4).fit(frame, seed=0, progress=False).rows["log_likelihood"][-1]
    from_list = GMM(4).fit(roll.tolist(), seed=0, progress=False).rows["log_likelihood"][-1]
    assert from_frame == pytest.approx(from_list)
    model = DRMM(2, 4)
    model.fit(frame, steps=20, batch_size=64, progress=False)
    assert model.log_prob(frame.iloc[:5], seed=0).shape == (5,)
    assert GMM(np.int64(3)).n_components == 3  # numpy integers are whole numbers too


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda m: GMM(2.5), "positive whole number"),
        (lambda m: GMM(True), "positive whole number"),
        (lambda m: DRMM(2, 4.0), "whole number"),
        (lambda m: GMM(3).fit(torch.randn(50, 2), epochs=2.5, progress=False), "epochs must be"),
        (lambda m: m.sample(5.0), "n must be"),
        (lambda m: m.sample(5, seed=1.5), "seed must be"),
        (lambda m: m.log_prob(torch.zeros(0, 2)), "0 rows"),
        (lambda m: m.log_prob(torch.zeros(2)), "use x.reshape"),
        (lambda m: m.log_prob([[1.0, 2.0], [3.0]]), "different lengths"),
        (lambda m: m.log_prob([["a", "b"]]), "numbers"),
        (lambda m: m.log_prob(torch.tensor([[NAN, 1.0]])), "nan or inf"),
        (lambda m: m.sample(5, known=[NAN, NAN, NAN]), "3 entries but the data has 2"),
    ],
)
def test_bad_calls_say_what_to_do(gmm, call, message):
    with pytest.raises((ValueError, TypeError), match=message):
        call(gmm)


def test_untrained_models_refuse_to_answer():
    for family in ("GenMM", "LatMM", "DCGMM"):
        model, _ = build_tiny(family)
        data = torch.rand(4, 1, 8, 8) if family == "DCGMM" else torch.zeros(4, 2)
        with pytest.raises(RuntimeError, match="not been fitted"):
            model.log_prob(data)
        with pytest.raises(RuntimeError, match="not been fitted"):
            model.sample(3)
    with pytest.raises(RuntimeError, match="not been fitted"):
        _ = GMM(3).weights_


def test_ik_needs_a_model_that_ranks_its_samples():
    arm = Arm()
    model = GMM(3)
    model.fit(torch.randn(50, arm.dim), progress=False)
    with pytest.raises(TypeError, match="needs a model that ranks"):
        solve(model, arm, targets={arm.effectors[-1]: (0.5, 0.5)})


def test_corrupt_idx_files_give_value_errors(tmp_path):
    good = tmp_path / "good.idx"
    good.write_bytes(b"\x00\x00\x08\x02" + (2).to_bytes(4, "big") + (3).to_bytes(4, "big") + bytes(range(6)))
    assert read_idx(good).tolist() == [[0, 1, 2], [3, 4, 5]]
    raw = good.read_bytes()
    cases = {
        "short.idx": raw[:-1],
        "header.idx": raw[:6],
        "long.idx": raw + b"\x00",
        "gzip.idx.gz": b"\x1f\x8b" + b"junk" * 8,
        "cut.idx.gz": gzip.compress(raw)[:-6],
        "text.idx": b"hello world",
    }
    for name, content in cases.items():
        path = tmp_path / name
        path.write_bytes(content)
        with pytest.raises(ValueError):
            read_idx(path)


# ---------------------------------------------------------------- property test over the public verbs
finite_or_wild = st.one_of(
    st.floats(min_value=-3, max_value=3),
    st.sampled_from([0.0, 1e-30, -1e-30, 1e6, -1e6, 1e20, -1e20, NAN, math.inf, -math.inf]),
)


def _check_outcome(call) -> None:
    """The call must raise a clear error, warn, or return only finite numbers."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            result = call()
        except CLEAR_ERRORS as error:
            assert str(error), f"{type(error).__name__} without a message"
            raised_in = traceback.extract_tb(error.__traceback__)[-1].filename
            assert "deepmix_core" in raised_in, f"{type(error).__name__} from {raised_in}, not a deepmix check: {error}"
            return
    if isinstance(result, tuple):
        result = result[0]
    if not torch.isfinite(torch.as_tensor(result)).all():
        assert any(issubclass(w.category, UserWarning) for w in caught), "non-finite output without a warning"


@settings(max_examples=60, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    rows=st.lists(st.tuples(finite_or_wild, finite_or_wild), min_size=0, max_size=4),
    known=st.tuples(finite_or_wild, finite_or_wild),
    a=st.tuples(finite_or_wild, finite_or_wild),
    b=finite_or_wild,
    low=st.tuples(finite_or_wild, finite_or_wild),
    std=finite_or_wild,
    which=st.sampled_from(["gmm", "drmm"]),
)
def test_no_nan_leaves_a_public_verb_silently(gmm, drmm, rows, known, a, b, low, std, which):
    model = gmm if which == "gmm" else drmm
    _check_outcome(lambda: model.log_prob(torch.tensor(rows, dtype=torch.float32).reshape(-1, 2)))
    _check_outcome(lambda: model.sample(8, known=list(known), seed=0))
    _check_outcome(lambda: model.sample(8, constraints=[Inequality(list(a), b)], seed=0))
    _check_outcome(lambda: model.sample(8, constraints=[Equality(list(a), b)], seed=0))
    _check_outcome(lambda: model.sample(8, constraints=[Box(list(low), [x + 1 for x in low])], seed=0))
    _check_outcome(lambda: model.sample(8, priors=[GaussianPrior(list(known), abs(std))], seed=0))


@settings(max_examples=25, deadline=None, derandomize=True)
@given(
    n_components=st.one_of(st.integers(-2, 5), st.floats(-2, 5), st.booleans(), st.none(), st.text(max_size=2)),
    epochs=st.one_of(st.integers(-1, 3), st.floats(-1, 3), st.booleans(), st.none()),
    scale=st.sampled_from([1e-30, 1e-6, 1.0, 1e6, 1e15]),
)
def test_gmm_fit_arguments_never_give_a_silent_nan(n_components, epochs, scale):
    data = torch.randn(60, 2, generator=torch.Generator().manual_seed(0)) * scale

    def fit_and_score():
        model = GMM(n_components)
        model.fit(data, epochs=epochs, seed=0, progress=False)
        return model.log_prob(data)

    _check_outcome(fit_and_score)
