"""Every model family side by side, through the shared contract alone.

The loop in this module never asks which family it holds: it builds a model, calls ``fit``, ``sample``,
``log_prob`` and ``n_parameters``, reads ``log_prob_kind`` to know whether a log-likelihood is exact, an
estimate or only a score, and probes conditioning by calling ``sample`` with each condition (a
``NotImplementedError`` means "no"). What differs between families — their size knobs, their training
budget, the layout of their inputs — travels with each :class:`Contender`.

Used by notebook ``09_which_model`` and ``benchmarks/bench_compare.py`` (which prints the same tables).
"""

from __future__ import annotations

import math
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import torch
from sklearn.model_selection import train_test_split

from .base import CONDITION_NAMES, MixtureModel
from .conditioning import GaussianPrior, Inequality
from .data import checkerboard, load_digits_images, load_shared_mnist, resize_images, rings, swiss_roll
from .dcgmm import DCGMM
from .dcgmm.evaluation import outlier_roc
from .drmm import DRMM
from .flows import GenMM, LatMM, MaxLikelihoodClassifier, dequantize
from .gmm import GMM
from .metrics import precision_recall
from .sweeps import drmm_parameter_count, matched_components

__all__ = [
    "Contender",
    "compare_images",
    "compare_points",
    "comparison_tables",
    "condition_probes",
    "conditions_table",
    "digits_data",
    "image_contenders",
    "images_table",
    "log_density_grid",
    "merge_records",
    "mnist_data",
    "point_contenders",
    "point_sets",
    "points_table",
    "probe_conditions",
    "run_comparison",
    "summarise",
]


def _same(x: torch.Tensor) -> torch.Tensor:
    return x


@dataclass(frozen=True)
class Contender:
    """One model in a comparison: how to build it, how to train it, how its inputs are laid out.

    Parameters
    ----------
    label : the name shown in tables, e.g. ``"DRMM 3×12"``
    build : ``build(seed)`` returns a fresh, untrained model
    fit_kwargs : passed to ``fit`` (``seed`` and ``progress`` are set by the loop)
    to_model : maps rows of the shared data layout to the model's input (e.g. flat vectors to images)
    from_model : maps the model's samples back to the shared layout
    sample_kwargs : family options for ``sample`` that make samples follow the density (e.g. a DRMM's
        ``noise=True``: without it a DRMM returns sums of means, which pile onto a few points)
    """

    label: str
    build: Callable[[int], MixtureModel]
    fit_kwargs: dict = field(default_factory=dict)
    to_model: Callable[[torch.Tensor], torch.Tensor] = _same
    from_model: Callable[[torch.Tensor], torch.Tensor] = _same
    sample_kwargs: dict = field(default_factory=dict)

    def draw(self, model: MixtureModel, n: int, seed: int) -> torch.Tensor:
        """``n`` samples of ``model`` in the shared layout, on the CPU."""
        return self.from_model(model.sample(n, seed=seed, **self.sample_kwargs)).detach().cpu()


# ---------------------------------------------------------------------------- contract-only helpers
def _fit(contender: Contender, data: torch.Tensor, seed: int) -> tuple[MixtureModel, float]:
    """Build and train one model; return it with the wall time of ``fit`` in seconds."""
    model = contender.build(seed)
    start = time.perf_counter()
    model.fit(contender.to_model(data), **{**contender.fit_kwargs, "seed": seed, "progress": False})
    return model, time.perf_counter() - start


def _log_likelihoods(model: MixtureModel, x: torch.Tensor, n_repeats: int, seed: int) -> torch.Tensor:
    """Per-row log p(x) on the model's input layout; an ``"estimate"`` is repeated with ``n_repeats`` seeds.

    Returns ``(n_repeats, N)`` for an estimate, ``(1, N)`` otherwise (the contract lets an estimating
    ``log_prob`` take ``seed=``; exact values and scores do not vary).
    """
    with torch.no_grad():
        if model.log_prob_kind == "estimate":
            return torch.stack([model.log_prob(x, seed=seed + r).detach().cpu() for r in range(n_repeats)])
        return model.log_prob(x).detach().cpu().reshape(1, -1)


def _nll_fields(model: MixtureModel, x: torch.Tensor, n_repeats: int, seed: int, levels: int | None) -> dict:
    """Held-out NLL in nats per dimension (mean over rows) and, for an estimate, its spread over repeats.

    With ``levels`` (discrete pixel levels that were dequantised) ``ln levels`` is added per dimension, which
    turns the continuous NLL into an upper bound on the discrete one (docs: ``flows/data_scaling.py``).
    A ``"score"`` is not a density: its NLL fields stay ``None``.
    """
    kind = model.log_prob_kind
    if kind == "score":
        return {"nll_kind": kind, "nll": None, "nll_spread": None}
    per_row = _log_likelihoods(model, x, n_repeats, seed)
    dim = x[0].numel()
    per_repeat = -per_row.mean(dim=1) / dim + (math.log(levels) if levels else 0.0)
    spread = float(per_repeat.std()) if len(per_repeat) > 1 else None
    return {"nll_kind": kind, "nll": float(per_repeat.mean()), "nll_spread": spread}


# ---------------------------------------------------------------------------- 2-D points
def compare_points(
    contenders: Sequence[Contender],
    train: torch.Tensor,
    test: torch.Tensor,
    *,
    seeds: Sequence[int] = (0,),
    n_repeats: int = 5,
    log: Callable[[str], None] | None = None,
) -> tuple[list[dict], dict]:
    """Train every contender on ``train`` once per seed and measure it on ``test``.

    Each row: label, family, seed, parameters, fit_seconds, nll_kind / nll (nats per dimension) / nll_spread
    (spread of an estimate over ``n_repeats`` seeds of its estimator), and sample precision, recall and F1
    (:func:`deepmix_core.metrics.precision_recall`, ``len(test)`` samples against ``test``).

    Returns ``(rows, models)``; ``models[label]`` is the first seed's model.
    """
    rows, models = [], {}
    for contender in contenders:
        for seed in seeds:
            model, seconds = _fit(contender, train, seed)
            samples = contender.draw(model, len(test), seed)
            quality = precision_recall(test, samples)
            row = {"label": contender.label, "family": model.family, "seed": seed,
                   "parameters": int(model.n_parameters()), "fit_seconds": seconds,
                   **_nll_fields(model, contender.to_model(test), n_repeats, seed, None),
                   "precision": quality.precision, "recall": quality.recall, "f1": quality.f1}
            rows.append(row)
            models.setdefault(contender.label, model)
            if log:
                log(_one_line(row))
    return rows, models


def _one_line(row: dict) -> str:
    """A progress line for the log: the measures a row has (sample F1 for points, accuracy and AUC for images)."""
    nll = "score" if row["nll"] is None else f"{row['nll']:.3f}"
    line = (f"  {row['label']:<22} seed {row['seed']}  {row['parameters']:>7,} params  "
            f"{row['fit_seconds']:6.1f} s  NLL {nll}")
    shown = {"f1": "F1", "accuracy": "acc", "outlier_auc": "AUC"}
    return line + "".join(f"  {name} {row[key]:.3f}" for key, name in shown.items() if key in row)


# ---------------------------------------------------------------------------- images
def compare_images(
    contenders: Sequence[Contender],
    train_x: torch.Tensor,
    train_y: torch.Tensor,
    test_x: torch.Tensor,
    test_y: torch.Tensor,
    *,
    levels: int | None = None,
    outlier_class: int = 0,
    seeds: Sequence[int] = (0,),
    n_repeats: int = 3,
    log: Callable[[str], None] | None = None,
) -> tuple[list[dict], dict]:
    """Per contender and seed, three trainings through the contract on image rows (flattened, shared layout):

    1. on every training image: held-out NLL per dimension (where the family has a density), samples, time;
    2. one model per class (:class:`MaxLikelihoodClassifier`): test accuracy of ``argmax_c log p(x | c)``;
    3. on every class except ``outlier_class``: outlier AUC of ``log_prob`` on the test set (inliers should
       score higher; 0.5 is chance).

    Returns ``(rows, models)``; ``models[label]`` is the first seed's model of (1).
    """
    rows, models = [], {}
    keep = train_y != outlier_class
    for contender in contenders:
        for seed in seeds:
            model, seconds = _fit(contender, train_x, seed)
            row = {"label": contender.label, "family": model.family, "seed": seed,
                   "parameters": int(model.n_parameters()), "fit_seconds": seconds,
                   **_nll_fields(model, contender.to_model(test_x), n_repeats, seed, levels)}
            models.setdefault(contender.label, model)

            def factory(contender=contender, seed=seed):
                return contender.build(seed)

            classifier = MaxLikelihoodClassifier(factory)
            start = time.perf_counter()
            classifier.fit(contender.to_model(train_x), train_y,
                           **{**contender.fit_kwargs, "seed": seed, "progress": False})
            row["classifier_seconds"] = time.perf_counter() - start
            torch.manual_seed(seed)  # predict() calls log_prob without seed=: an estimate draws from torch's generator
            predicted = torch.as_tensor(classifier.predict(contender.to_model(test_x))).cpu()
            row["accuracy"] = float((predicted == test_y.cpu()).float().mean())

            inlier_model, _ = _fit(contender, train_x[keep], seed)
            unusual = -_log_likelihoods(inlier_model, contender.to_model(test_x), 1, seed)[0]  # higher = outlier
            is_outlier = test_y.cpu() == outlier_class
            row["outlier_auc"] = float(outlier_roc(unusual[~is_outlier], unusual[is_outlier]).auc)
            rows.append(row)
            if log:
                log(_one_line(row))
    return rows, models


# ---------------------------------------------------------------------------- conditioning, by probing
def condition_probes(example: torch.Tensor) -> dict:
    """One value per condition name, in the shared (flat) layout of ``example`` (a single data row).

    known: the first half of the variables observed; weight: full trust in them; priors: a unit Gaussian on
    every variable; constraints: one linear inequality; classes: class 0.
    """
    row = example.reshape(-1).float()
    known = row.clone()
    known[len(row) // 2:] = float("nan")
    return {"known": known, "weight": torch.ones_like(row),
            "priors": [GaussianPrior(torch.zeros_like(row), torch.ones_like(row))],
            "constraints": [Inequality(torch.ones_like(row), float(row.sum()) - 1.0)], "classes": 0}


def probe_conditions(contender: Contender, model: MixtureModel, probes: dict) -> dict[str, str]:
    """Ask ``model.sample`` for each condition in turn: ``"yes"``, ``"no"`` (``NotImplementedError``), or
    ``"needs …"`` when the family supports the condition but this model lacks something (the message says what).

    ``weight`` qualifies known values, so it is probed together with ``known``.
    """
    answers = {}
    for name in CONDITION_NAMES:
        asked = {name: probes[name]}
        if name == "weight":
            asked["known"] = probes["known"]
        if "known" in asked:  # data-shaped: lay it out as the model's input (a weight is only reshaped)
            asked["known"] = contender.to_model(asked["known"][None])[0]
            if "weight" in asked:
                asked["weight"] = asked["weight"].reshape(asked["known"].shape)
        try:
            with warnings.catch_warnings():  # only support is asked here, not whether the wish is feasible
                warnings.filterwarnings("ignore", message=".*wishes look infeasible")
                model.sample(2, seed=0, **asked)
            answers[name] = "yes"
        except NotImplementedError:
            answers[name] = "no"
        except (RuntimeError, ValueError) as error:
            answers[name] = f"needs: {error}"
        except Exception as error:  # a probe that does not fit this model: say so rather than stop the comparison
            answers[name] = f"error: {type(error).__name__}: {error}"
    return answers


# ---------------------------------------------------------------------------- the default line-ups
def point_contenders(target: int, *, dim: int = 2, quick: bool = False) -> list[Contender]:
    """GMM, DRMM, GenMM and LatMM for ``dim``-D points, each sized to about ``target`` parameters.

    Size knobs: the GMM's and the 3-layer DRMM's K; the flows' hidden width (GenMM K = 2 flows, LatMM one
    flow and K = 8 latent Gaussians, 4 coupling layers each). Training: at most 200 EM iterations for the GMM; for
    the gradient-trained families a similar number of Adam steps — 3,000 for the DRMM (notebook 04's budget),
    150 epochs of 2,000 points in batches of 128 (2,400 steps) for the flows, which at notebook 08's 40 epochs
    are far from converged on these thin shapes. ``quick`` mode shrinks everything.
    """
    k_gmm = matched_components(target, lambda k: 2 * k * dim + k - 1)  # diag GMM: K·D means, K·D variances, K − 1
    k_drmm = matched_components(target, lambda k: drmm_parameter_count(3, k, dim))
    hidden_genmm = matched_components(target, lambda h: _flow_count(GenMM, 2, dim, h))  # the same rule for widths
    hidden_latmm = matched_components(target, lambda h: _flow_count(LatMM, 8, dim, h))
    flow_epochs = 4 if quick else 150
    return [
        Contender(f"GMM K={k_gmm}", lambda seed, k=k_gmm: GMM(n_components=k, covariance="diag"),
                  {"epochs": 10 if quick else 200}),
        Contender(f"DRMM 3×{k_drmm}", lambda seed, k=k_drmm: DRMM(n_layers=3, n_components=k),
                  {"steps": 300 if quick else 3000, "batch_size": 64}, sample_kwargs={"noise": True}),
        Contender(f"GenMM 2 flows, h={hidden_genmm}",
                  lambda seed, h=hidden_genmm: GenMM(n_components=2, flow=_vector_flow(dim, h), seed=seed),
                  {"epochs": flow_epochs, "batch_size": 128, "t_em": 5}),
        Contender(f"LatMM K=8, h={hidden_latmm}",
                  lambda seed, h=hidden_latmm: LatMM(n_components=8, flow=_vector_flow(dim, h), seed=seed),
                  {"epochs": flow_epochs, "batch_size": 128, "t_em": 5}),
    ]


def image_contenders(side: int, n_train: int, *, quick: bool = False) -> list[Contender]:
    """All five families on ``side``×``side`` grey images given as flat rows in [−0.5, 0.5) (dequantised).

    The DCGMM sees the same rows as ``(N, 1, side, side)`` images in [0, 1]; its samples are mapped back.
    Sizes follow each family's notebook (06, 08) rather than a matched count: the table lists the counts.
    Every budget is in epochs, so the ten one-class models of a classifier together cost about one full fit:
    the DRMM gets about 4,000 Adam steps of 64 rows over all the training data; the flows 30 epochs on up to
    2,000 images (notebook 08's budget), 20 on more; the DCGMM 100 epochs on up to 2,000 images, 30 on more
    (it is fast, and at notebook 06's short budgets its two layers are not yet settled on 1,000 small images);
    the GMM at most 100 EM iterations. On 8×8 images the DCGMM folds 3×3 patches (stride 1) and then the whole 6×6 map.
    """
    dim = side * side
    small = n_train <= 2000
    flow_epochs = 2 if quick else (30 if small else 20)
    dcgmm_epochs = 2 if quick else (100 if small else 30)
    drmm_epochs = 10 if quick else max(4, round(4000 * 64 / n_train))
    spec = "F(3,1)-G(16)-F(6,1)-G(25)" if side <= 8 else "F(4,2)-G(25)-F(7,1)-G(36)"

    def to_image(rows: torch.Tensor) -> torch.Tensor:
        return (rows + 0.5).reshape(-1, 1, side, side)

    def from_image(images: torch.Tensor) -> torch.Tensor:
        return images.reshape(len(images), -1) - 0.5

    return [
        Contender("GMM K=20", lambda seed: GMM(n_components=20, covariance="diag"), {"epochs": 10 if quick else 100}),
        Contender("DRMM 2×32", lambda seed: DRMM(n_layers=2, n_components=32),
                  {"epochs": drmm_epochs, "batch_size": 64}, sample_kwargs={"noise": True}),
        Contender(f"DCGMM {spec}", lambda seed: DCGMM.from_spec(spec, input_shape=(1, side, side), window=20),
                  {"epochs": dcgmm_epochs, "batch_size": 50}, to_model=to_image, from_model=from_image),
        Contender("GenMM 2 flows", lambda seed: GenMM(n_components=2, flow=_vector_flow(dim, 32), seed=seed),
                  {"epochs": flow_epochs, "batch_size": 64, "t_em": 5}),
        Contender("LatMM K=4", lambda seed: LatMM(n_components=4, flow=_vector_flow(dim, 32), seed=seed),
                  {"epochs": flow_epochs, "batch_size": 64, "t_em": 5}),
    ]


def _vector_flow(dim: int, hidden: int) -> dict:
    return {"kind": "vector", "dim": dim, "n_layers": 4, "hidden": hidden}


def _flow_count(family: type, n_components: int, dim: int, hidden: int) -> int:
    return family(n_components=n_components, flow=_vector_flow(dim, hidden), seed=0).n_parameters()


# ---------------------------------------------------------------------------- tables
def summarise(rows: Sequence[dict], fields: Sequence[str], by: Sequence[str] = ("label",)) -> list[dict]:
    """Mean and standard deviation over seeds of each of ``fields``, one entry per group of ``by``.

    A field that is ``None`` in every row of a group (a score's NLL) stays ``None``.
    """
    groups: dict[tuple, list[dict]] = {}
    for row in rows:
        groups.setdefault(tuple(row[key] for key in by), []).append(row)
    summary = []
    for key, members in groups.items():
        entry = {name: value for name, value in zip(by, key)}
        entry.update(family=members[0]["family"], parameters=members[0]["parameters"], seeds=len(members))
        if "nll_kind" in members[0]:
            entry["nll_kind"] = members[0]["nll_kind"]
        for name in fields:
            values = [m[name] for m in members if m.get(name) is not None]
            entry[name] = float(np.mean(values)) if values else None
            entry[f"{name}_sd"] = float(np.std(values, ddof=1)) if len(values) > 1 else None
        summary.append(entry)
    return summary


def _mean_sd(entry: dict, name: str, digits: int = 3) -> str:
    value, sd = entry.get(name), entry.get(f"{name}_sd")
    if value is None:
        return "—"
    return f"{value:.{digits}f}" + (f" ± {sd:.{digits}f}" if sd is not None else "")


def _nll_cell(entry: dict) -> str:
    if entry["nll_kind"] == "score":
        return "score only"
    cell = _mean_sd(entry, "nll")
    if entry["nll_kind"] == "estimate":
        spread = entry.get("nll_spread")
        cell += " (estimate" + (f", ±{spread:.3f} between estimates" if spread is not None else "") + ")"
    return cell


def _markdown(header: Sequence[str], lines: Sequence[Sequence[str]]) -> str:
    rows = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    rows += ["| " + " | ".join(str(cell) for cell in line) + " |" for line in lines]
    return "\n".join(rows)


def points_table(rows: Sequence[dict], dataset: str) -> str:
    """Markdown table of one 2-D dataset: every budget and contender, mean ± sd over seeds."""
    chosen = [row for row in rows if row["dataset"] == dataset]
    summary = summarise(chosen, ["nll", "nll_spread", "precision", "recall", "f1", "fit_seconds"],
                        by=("budget", "label"))
    lines = [(f"~{entry['budget']:,}", entry["label"], f"{entry['parameters']:,}", _nll_cell(entry),
              _mean_sd(entry, "precision", 2), _mean_sd(entry, "recall", 2), _mean_sd(entry, "f1", 2),
              f"{entry['fit_seconds']:.1f}") for entry in summary]
    header = ("budget", "model", "parameters", "held-out NLL (nats/dim)", "precision", "recall", "F1", "fit (s)")
    return _markdown(header, lines)


def images_table(rows: Sequence[dict]) -> str:
    """Markdown table of one image dataset, mean ± sd over seeds.

    A classifier built from scores (``log_prob_kind == "score"``) compares numbers of ten different models,
    which share no scale: its accuracy is marked with † and a footnote.
    """
    summary = summarise(rows, ["nll", "nll_spread", "accuracy", "outlier_auc", "fit_seconds", "classifier_seconds"])
    dagger = {entry["label"]: " †" if entry["nll_kind"] == "score" else "" for entry in summary}
    lines = [(entry["label"], f"{entry['parameters']:,}", _nll_cell(entry),
              _mean_sd(entry, "accuracy") + dagger[entry["label"]],
              _mean_sd(entry, "outlier_auc"), f"{entry['fit_seconds']:.1f}", f"{entry['classifier_seconds']:.1f}")
             for entry in summary]
    header = ("model", "parameters", "held-out NLL bound (nats/pixel)", "ML accuracy", "outlier AUC",
              "fit (s)", "10 class models (s)")
    footnote = ("\n\n† argmax over ten models' scores, which share no scale: not a measure of the family as a "
                "classifier" if any(dagger.values()) else "")
    return _markdown(header, lines) + footnote


def conditions_table(answers: dict[str, dict[str, str]]) -> str:
    """Markdown table: one row per family, one column per condition, from :func:`probe_conditions`."""
    lines = [(family, *(answers[family][name] for name in CONDITION_NAMES)) for family in answers]
    return _markdown(("family", *CONDITION_NAMES), lines)


# ---------------------------------------------------------------------------- the whole comparison
def point_sets() -> dict:
    """The 2-D datasets of the comparison: name → generator ``make(n, seed=…)``."""
    return {"Swiss roll": swiss_roll, "rings": rings, "checkerboard": checkerboard}


def log_density_grid(model: MixtureModel, low: Sequence[float], high: Sequence[float], size: int) -> np.ndarray:
    """log p on a ``size``×``size`` grid over the box [low, high] (rows: y, columns: x)."""
    xs = torch.linspace(float(low[0]), float(high[0]), size)
    ys = torch.linspace(float(low[1]), float(high[1]), size)
    grid = torch.stack(torch.meshgrid(xs, ys, indexing="xy"), dim=-1).reshape(-1, 2)
    return _log_likelihoods(model, grid, 1, 0)[0].reshape(size, size).numpy()


def digits_data(seed: int = 0) -> dict:
    """scikit-learn's 8×8 digits, dequantised (17 levels) to flat rows in [−0.5, 0.5), 60/40 stratified split."""
    levels, labels = load_digits_images(as_levels=True)
    rows = dequantize(levels, levels=17, seed=seed).flatten(1)
    train, test = train_test_split(np.arange(len(labels)), test_size=0.4, stratify=labels.numpy(), random_state=seed)
    return {"train_x": rows[train], "train_y": labels[train], "test_x": rows[test], "test_y": labels[test],
            "levels": 17, "side": 8}


def mnist_data(side: int = 16, n_test: int = 2000, seed: int = 0) -> dict:
    """MNIST resized to ``side``×``side``, dequantised (256 levels): the 5k training subset, and ``n_test``
    images of the second half of the test set (the half no deepmix checkpoint trains on).

    Raises ``FileNotFoundError`` (naming the ways to get the data) when MNIST is not on this machine.
    """
    def prepare(images: torch.Tensor, noise_seed: int) -> torch.Tensor:  # its own noise for each split
        small = resize_images(images.reshape(-1, 1, 28, 28), side)
        return dequantize(small, levels=256, seed=noise_seed).flatten(1)

    train, train_labels = load_shared_mnist("train5k")
    test, test_labels = load_shared_mnist("test")
    held_out = slice(5000, 5000 + n_test)
    return {"train_x": prepare(train, seed), "train_y": train_labels, "test_x": prepare(test[held_out], seed + 1),
            "test_y": test_labels[held_out], "levels": 256, "side": side}


def run_comparison(
    *,
    quick: bool = False,
    point_budgets: Sequence[int] = (300, 3000),
    point_seeds: Sequence[int] = (0, 1, 2),
    digit_seeds: Sequence[int] = (0, 1),
    mnist_seeds: Sequence[int] = (0,),
    n_points: int = 2000,
    grid_size: int = 48,
    n_image_samples: int = 10,
    parts: Sequence[str] = ("points", "images"),
    log: Callable[[str], None] | None = print,
) -> dict:
    """Everything notebook 09 shows, as one JSON-ready record (numbers, density grids, sample images, probes).

    2-D: every dataset × budget × contender × seed through :func:`compare_points` (train seed 0, held out
    seed 123); the density grids are of the largest budget's first seed. Images: :func:`compare_images` on the
    8×8 digits and, when MNIST is on this machine, 16×16 MNIST (otherwise ``record["notes"]`` says why not).
    Conditioning: :func:`probe_conditions` on the digits models (all five families). ``parts`` picks
    ``"points"`` and/or ``"images"`` (two processes can run one each; :func:`merge_records` joins them).
    """
    say = log or (lambda text: None)
    record: dict = {"points": [], "densities": {}, "images": {}, "samples": {}, "notes": []}
    for name, make in (point_sets() if "points" in parts else {}).items():
        train, test = make(n_points, seed=0), make(n_points, seed=123)
        low, high = (test.min(0).values - 0.15).tolist(), (test.max(0).values + 0.15).tolist()
        record["densities"][name] = {"low": low, "high": high, "grids": {}}
        for target in point_budgets:
            say(f"{name}, about {target:,} parameters")
            contenders = point_contenders(target, quick=quick)
            rows, models = compare_points(contenders, train, test, seeds=point_seeds, log=say)
            record["points"] += [{**row, "dataset": name, "budget": target} for row in rows]
            if target == max(point_budgets):
                for label, model in models.items():
                    grid = log_density_grid(model, low, high, grid_size).astype(np.float64)
                    visible = np.maximum(grid, grid.max() - 20.0)  # e^−20 of the peak is invisible: keep the file small
                    record["densities"][name]["grids"][label] = np.round(visible, 2).tolist()
    image_sets = {"8×8 digits": (digits_data, digit_seeds), "MNIST 16×16": (mnist_data, mnist_seeds)}
    for name, (load, seeds) in (image_sets if "images" in parts else {}).items():
        if not seeds:
            record["notes"].append(f"{name} skipped: no seeds asked for")
            continue
        try:
            data = load()
        except FileNotFoundError as error:
            record["notes"].append(f"{name} skipped: {error}")
            say(record["notes"][-1])
            continue
        say(f"{name}: {len(data['train_x']):,} training and {len(data['test_x']):,} held-out images")
        contenders = image_contenders(data["side"], len(data["train_x"]), quick=quick)
        rows, models = compare_images(contenders, data["train_x"], data["train_y"], data["test_x"], data["test_y"],
                                      levels=data["levels"], seeds=seeds, log=say)
        record["images"][name] = rows
        record["samples"][name] = {
            c.label: (c.draw(models[c.label], n_image_samples, 0).clamp(-0.5, 0.5) + 0.5).mul(255).round()
            .to(torch.uint8).reshape(n_image_samples, data["side"], data["side"]).tolist()
            for c in contenders
        }
        if name == "8×8 digits":
            probes = condition_probes(data["test_x"][0])
            record["conditions"] = {models[c.label].family: probe_conditions(c, models[c.label], probes)
                                    for c in contenders}
    return record


def merge_records(*records: dict) -> dict:
    """Join records of :func:`run_comparison` made with different ``parts``."""
    merged: dict = {"points": [], "densities": {}, "images": {}, "samples": {}, "notes": []}
    for record in records:
        merged["points"] += record["points"]
        merged["notes"] += record["notes"]
        for key in ("densities", "images", "samples"):
            merged[key].update(record[key])
        if record.get("conditions"):
            merged["conditions"] = record["conditions"]
    return merged


def comparison_tables(record: dict) -> str:
    """Every table of a :func:`run_comparison` record, as markdown (what ``bench_compare.py`` prints)."""
    parts = []
    for dataset in record["densities"]:
        parts += [f"### {dataset} (2-D)", points_table(record["points"], dataset)]
    for dataset, rows in record["images"].items():
        parts += [f"### {dataset}", images_table(rows)]
    if record.get("conditions"):
        parts += ["### Conditioning, probed through sample()", conditions_table(record["conditions"])]
    parts += [f"_{note}_" for note in record["notes"]]
    return "\n\n".join(parts)
