"""Run the tutorial notebooks and keep their outputs: the one helper that executes and strips notebooks.

The notebooks are their own source: each ``notebooks/NN_name.ipynb`` is paired with ``NN_name.py`` (percent
format, see ``notebooks/jupytext.toml``) and edited in JupyterLab or any editor. This script only *runs*
them. It never writes cells.

Usage
-----
    python scripts/run_notebooks.py               # run every notebook with full budgets, save the outputs
    python scripts/run_notebooks.py --only 02 05  # just the notebooks whose names start with 02 or 05
    python scripts/run_notebooks.py --quick       # CI-sized budgets (DEEPMIX_QUICK=1), e.g. to try an edit

Each run starts a fresh kernel in ``notebooks/``, prints the wall time, removes what must not be committed
(widget state, live widget views, plotly payloads, frozen progress bars) and writes the ``.ipynb`` back; its
``.py`` pair is untouched because the cells do not change. A notebook whose pair is out of step is refused:
run ``jupytext --sync notebooks/*.ipynb`` (``make sync``) first.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import time
from pathlib import Path

import jupytext
import nbformat

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK_DIR = ROOT / "notebooks"
PROGRESS_BAR = re.compile(r"\|\s*\d+/\d+ \[")  # tqdm's text, e.g. "  0%|    | 0/12000 [00:00<?, ?it/s]"
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
DROPPED_MIME_TYPES = (
    "application/vnd.jupyter.widget-state+json",
    WIDGET_VIEW,  # points to widget state that is not saved; an explorer's PNG picture stays
    "application/vnd.plotly.v1+json",
)


def notebooks(prefixes: list[str] | None = None) -> list[Path]:
    """The tutorial notebooks ``NN_name.ipynb``, optionally only those whose names start with a prefix."""
    found = sorted(NOTEBOOK_DIR.glob("[0-9][0-9]_*.ipynb"))
    return [path for path in found if not prefixes or any(path.name.startswith(p) for p in prefixes)]


def cell_sources(notebook: nbformat.NotebookNode) -> list[tuple]:
    """What a pair must agree on: each cell's type, source and tags (outputs live in the .ipynb only)."""
    return [(cell.cell_type, cell.source.strip(), tuple(cell.metadata.get("tags", []))) for cell in notebook.cells]


def pair_problem(ipynb: Path) -> str | None:
    """Why ``ipynb`` and its ``.py`` pair disagree (None when they are in step)."""
    script = ipynb.with_suffix(".py")
    if not script.is_file():
        return f"{ipynb.name} has no paired {script.name}"
    if cell_sources(jupytext.read(ipynb)) != cell_sources(jupytext.read(script)):
        return f"{ipynb.name} and {script.name} hold different cells"
    return None


def strip_heavy_outputs(notebook: nbformat.NotebookNode) -> None:
    """Remove widget state and views and plotly payloads (and the HTML that goes with them); keep text and PNGs."""
    notebook.metadata.pop("widgets", None)
    for cell in notebook.cells:
        if cell.cell_type != "code":
            continue
        kept = []
        for output in cell.get("outputs", []):
            data = output.get("data")
            if data is not None:
                shows_widget = any(mime in data for mime in DROPPED_MIME_TYPES)
                if shows_widget and PROGRESS_BAR.search(data.get("text/plain", "")):
                    continue  # a tqdm bar: its text fallback would show a frozen "0%"
                for mime in DROPPED_MIME_TYPES:
                    data.pop(mime, None)
                if shows_widget:
                    data.pop("text/html", None)
                if not data:
                    continue
            kept.append(output)
        cell.outputs = kept
        cell.metadata.pop("execution", None)


def execute(notebook: nbformat.NotebookNode, quick: bool = False) -> nbformat.NotebookNode:
    """Run ``notebook`` in a fresh kernel in ``notebooks/`` (full budgets unless ``quick``); strip heavy outputs."""
    from nbconvert.preprocessors import ExecutePreprocessor

    saved = os.environ.pop("DEEPMIX_QUICK", None)
    if quick:
        os.environ["DEEPMIX_QUICK"] = "1"
    try:
        # store_widget_state=True only works around an nbclient bug (an Output widget raises KeyError
        # without it); the state is stripped right after.
        runner = ExecutePreprocessor(timeout=3600, kernel_name="python3", store_widget_state=True)
        runner.preprocess(notebook, {"metadata": {"path": str(NOTEBOOK_DIR)}})
    finally:
        os.environ.pop("DEEPMIX_QUICK", None)
        if saved is not None:
            os.environ["DEEPMIX_QUICK"] = saved
    strip_heavy_outputs(notebook)
    return notebook


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", nargs="*", default=None, help="notebook name prefixes, e.g. 02 05")
    parser.add_argument("--quick", action="store_true", help="CI-sized budgets (DEEPMIX_QUICK=1)")
    args = parser.parse_args()
    paths = notebooks(args.only)
    problems = [problem for problem in map(pair_problem, paths) if problem]
    if problems:
        print("\n".join(problems) + "\nrun `jupytext --sync notebooks/*.ipynb` (make sync) first", file=sys.stderr)
        return 1
    for path in paths:
        notebook = nbformat.read(path, as_version=4)
        start = time.perf_counter()
        execute(notebook, quick=args.quick)
        nbformat.write(notebook, path)
        mode = "quick" if args.quick else "full"
        print(f"{path.stem}: {time.perf_counter() - start:.0f} s ({mode} mode), {path.stat().st_size / 1e3:.0f} kB",
              flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
