"""Every tutorial is a jupytext pair (``NN_name.ipynb`` + percent ``NN_name.py``) and the two are in step.

The ``.py`` is what is reviewed and linted; the ``.ipynb`` keeps the executed outputs. JupyterLab (with
jupytext, installed by ``make lab``) saves both at once; an edit made to one file outside JupyterLab must be
carried to the other with ``jupytext --sync notebooks/*.ipynb`` (``make sync``). This test fails otherwise.
"""

import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK_DIR = ROOT / "notebooks"
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("[0-9][0-9]_*.ipynb"))
SCRIPTS = sorted(NOTEBOOK_DIR.glob("[0-9][0-9]_*.py"))

_spec = importlib.util.spec_from_file_location("run_notebooks", ROOT / "scripts" / "run_notebooks.py")
run_notebooks = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(run_notebooks)

FIX = "run `jupytext --sync notebooks/*.ipynb` (or `make sync`) and commit both files"


def test_the_pairing_is_configured_for_jupyterlab():
    config = (NOTEBOOK_DIR / "jupytext.toml").read_text()
    assert 'formats = "ipynb,py:percent"' in config


def test_every_script_has_its_notebook():
    orphans = [script.name for script in SCRIPTS if not script.with_suffix(".ipynb").is_file()]
    assert orphans == [], f"scripts without a notebook: {orphans}; {FIX}"


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=[path.stem for path in NOTEBOOKS])
def test_notebook_and_script_hold_the_same_cells(notebook):
    problem = run_notebooks.pair_problem(notebook)
    assert problem is None, f"{problem}: {FIX}"


def test_the_pair_check_notices_an_edit_on_either_side(tmp_path):
    source = NOTEBOOKS[0]
    ipynb, script = tmp_path / source.name, tmp_path / source.with_suffix(".py").name
    ipynb.write_text(source.read_text())
    script.write_text(source.with_suffix(".py").read_text())
    assert run_notebooks.pair_problem(ipynb) is None
    script.write_text(script.read_text().replace("# %% [markdown]", "# %% [markdown]\n# An edit.", 1))
    assert "different cells" in run_notebooks.pair_problem(ipynb)
    script.unlink()
    assert "no paired" in run_notebooks.pair_problem(ipynb)


def test_no_script_writes_notebook_cells_from_strings():
    writers = [path.name for path in (ROOT / "scripts").glob("*.py")
               if "new_code_cell" in path.read_text() or "new_markdown_cell" in path.read_text()]
    assert writers == [], f"notebooks are their own source; these scripts generate cells: {writers}"


def test_stripping_keeps_an_explorers_picture_and_drops_its_live_view():
    import nbformat

    output = nbformat.v4.new_output("display_data", data={
        "application/vnd.jupyter.widget-view+json": {"model_id": "abc", "version_major": 2, "version_minor": 0},
        "image/png": "iVBORw0KGgo=",
        "text/plain": "HBox(children=(...))",
    })
    bar = nbformat.v4.new_output("display_data", data={
        "application/vnd.jupyter.widget-view+json": {"model_id": "def"},
        "text/plain": "  0%|          | 0/100 [00:00<?, ?it/s]",
    })
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("explorer", outputs=[output, bar])])
    notebook.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {"state": {}}}
    run_notebooks.strip_heavy_outputs(notebook)
    (kept,) = notebook.cells[0].outputs
    assert set(kept["data"]) == {"image/png", "text/plain"} and "widgets" not in notebook.metadata
