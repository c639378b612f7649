"""Hygiene of the tutorial notebooks: small, no saved widget state, no errors, no embedded plotly.js,
an introduction first that links the papers, quick-mode budgets, ``NN_name.ipynb`` file names, exercises
with executed worked solutions, and a static picture wherever a widget is shown."""

import json
import re
from pathlib import Path

import pytest

NOTEBOOK_DIR = Path(__file__).resolve().parents[1] / "notebooks"
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("*.ipynb"))

MAX_BYTES = 1_000_000
MAX_SCRIPT_CHARS = 100_000
WIDGET_STATE_KEY = "application/vnd.jupyter.widget-state+json"
NAME_PATTERN = re.compile(r"^\d{2}_[a-z0-9_]+\.ipynb$")
# the introduction tells the learner what they will see, e.g. "You will see ..." / "you'll watch ..."
PROMISE_PATTERN = re.compile(r"\byou(?:'ll|’ll| will)\b", re.IGNORECASE)
SCRIPT_PATTERN = re.compile(r"<script[^>]*>(.*?)</script>", re.IGNORECASE | re.DOTALL)
EXERCISE_PATTERN = re.compile(r"^#+\s*Exercise\s+\d+", re.MULTILINE)
WIDGET_TEXT_PATTERN = re.compile(r"^(VBox|HBox|Box|interactive|GridBox)\(")
MIN_EXERCISES = 2


def _text(value) -> str:
    """Notebook JSON stores text as a string or a list of lines."""
    return "".join(value) if isinstance(value, list) else str(value)


def _output_texts(output: dict):
    """Every text payload of one cell output (stream text, tracebacks, and every mime bundle entry)."""
    if "text" in output:
        yield _text(output["text"])
    if "traceback" in output:
        yield _text(output["traceback"])
    for value in output.get("data", {}).values():
        yield json.dumps(value) if isinstance(value, dict) else _text(value)  # dict: e.g. application/json


def hygiene_problems(name: str, size: int, nb: dict) -> list[str]:
    """Everything wrong with one notebook, as readable sentences (empty list = clean)."""
    problems = []
    if not NAME_PATTERN.match(name):
        problems.append(f"file name {name!r} is not of the form NN_name.ipynb")
    if size >= MAX_BYTES:
        problems.append(f"file is {size / 1e6:.2f} MB (limit 1 MB): clear large outputs")
    widgets = nb.get("metadata", {}).get("widgets")
    if isinstance(widgets, dict) and WIDGET_STATE_KEY in widgets:
        problems.append("metadata holds saved widget state: save without widget state")
    cells = nb.get("cells", [])
    if not cells or cells[0].get("cell_type") != "markdown":
        problems.append("the first cell is not a markdown introduction")
    elif not PROMISE_PATTERN.search(_text(cells[0].get("source", ""))):
        problems.append("the first markdown cell does not tell the learner what they will see ('You will see ...')")
    elif "docs/papers.md" not in _text(cells[0].get("source", "")):
        problems.append("the introduction does not link the paper it follows (../docs/papers.md)")
    code = [_text(cell.get("source", "")) for cell in cells if cell.get("cell_type") == "code"]
    if not any("budget(" in source for source in code):
        problems.append("no cell uses budget(...) for quick-mode training budgets")
    if not name.startswith("00_"):
        problems += exercise_problems(cells)
    for index, cell in enumerate(cells):
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":
                problems.append(f"cell {index} has a saved error output ({output.get('ename')})")
            for text in _output_texts(output):
                if "plotly.js v" in text:
                    problems.append(f"cell {index} embeds plotly.js")
                if any(len(script) > MAX_SCRIPT_CHARS for script in SCRIPT_PATTERN.findall(text)):
                    problems.append(f"cell {index} embeds a <script> larger than 100 kB")
            data = output.get("data", {})
            if WIDGET_TEXT_PATTERN.match(_text(data.get("text/plain", ""))) and "image/png" not in data:
                problems.append(f"cell {index} shows a widget without a static picture of its state")
    return problems


def exercise_problems(cells: list[dict]) -> list[str]:
    """At least two ``Exercise N`` markdown cells, each followed by executed code cells tagged ``solution``
    whose source is collapsed in JupyterLab (``metadata.jupyter.source_hidden``)."""
    problems = []
    starts = [i for i, cell in enumerate(cells)
              if cell.get("cell_type") == "markdown" and EXERCISE_PATTERN.search(_text(cell.get("source", "")))]
    if len(starts) < MIN_EXERCISES:
        problems.append(f"{len(starts)} 'Exercise N' markdown cells; a tutorial ends with at least {MIN_EXERCISES}")
    for number, start in enumerate(starts):
        end = starts[number + 1] if number + 1 < len(starts) else len(cells)
        solutions = [cell for cell in cells[start + 1:end] if "solution" in cell.get("metadata", {}).get("tags", [])]
        if not solutions:
            problems.append(f"exercise at cell {start} has no cell tagged 'solution' after it")
        for cell in solutions:
            if cell.get("cell_type") != "code" or cell.get("execution_count") is None:
                problems.append(f"a solution after cell {start} is not an executed code cell")
            if not cell.get("metadata", {}).get("jupyter", {}).get("source_hidden"):
                problems.append(f"a solution after cell {start} is not collapsed (metadata.jupyter.source_hidden)")
    return problems


if NOTEBOOKS:

    @pytest.mark.parametrize("path", NOTEBOOKS, ids=[path.name for path in NOTEBOOKS])
    def test_notebook_hygiene(path):
        nb = json.loads(path.read_text(encoding="utf-8"))
        assert hygiene_problems(path.name, path.stat().st_size, nb) == []

else:

    def test_notebook_hygiene():
        pytest.skip("no notebooks yet")


# ---------------------------------------------------------------- the checker itself
def _markdown(text: str) -> dict:
    return {"cell_type": "markdown", "metadata": {}, "source": text}


def _code(text: str, outputs=()) -> dict:
    return {"cell_type": "code", "metadata": {}, "source": text, "outputs": list(outputs), "execution_count": None}


def _html(text) -> dict:
    return {"output_type": "display_data", "metadata": {}, "data": {"text/html": text}}


def _clean_notebook() -> dict:
    return {
        "nbformat": 4,
        "nbformat_minor": 5,
        "metadata": {},
        "cells": [
            _markdown("# 01 · A GMM\n\nYou will see a mixture grow on the swiss roll ([paper](../docs/papers.md))."),
            _code("epochs = budget(full=300, quick=60)", [{"output_type": "stream", "text": ["ok\n"]}]),
            _markdown("## Exercise 1\n\nPredict, then run."),
            _solution("print(1)"),
            _markdown("## Exercise 2\n\nChange K."),
            _solution("print(2)"),
        ],
    }


def _solution(text: str) -> dict:
    cell = _code(text, [{"output_type": "stream", "name": "stdout", "text": ["1\n"]}])
    cell["execution_count"] = 1
    cell["metadata"] = {"tags": ["solution"], "jupyter": {"source_hidden": True}}
    return cell


def test_checker_accepts_a_clean_notebook():
    assert hygiene_problems("01_gmm.ipynb", 10_000, _clean_notebook()) == []


def test_checker_reports_every_problem():
    nb = _clean_notebook()
    nb["metadata"]["widgets"] = {WIDGET_STATE_KEY: {"state": {}}}
    big_script = ["<script>", "x" * 200_000, "</script>"]
    nb["cells"][0]["source"] = "# A GMM\n\nSome theory."
    nb["cells"][1]["source"] = "iterations = 20_000"
    del nb["cells"][4:]  # one exercise only ...
    nb["cells"][3]["metadata"]["jupyter"] = {}  # ... whose solution is not collapsed
    nb["cells"][1]["outputs"].append({"output_type": "display_data", "data": {"text/plain": "VBox(children=(...))"}})
    nb["cells"].append(_code("1/0", [{"output_type": "error", "ename": "ZeroDivisionError", "traceback": []}]))
    nb["cells"].append(_code("fig.show()", [_html("<script>/** plotly.js v2 */</script>"), _html(big_script)]))
    problems = hygiene_problems("gmm.ipynb", 2_000_000, nb)
    for fragment in ("NN_name", "1 MB", "widget state", "what they will see", "budget(", "error output",
                     "embeds plotly.js", "larger than 100 kB", "1 'Exercise N'", "not collapsed", "static picture"):
        assert any(fragment in problem for problem in problems), (fragment, problems)
    nb["cells"].insert(0, _code("import torch"))
    assert any("not a markdown introduction" in p for p in hygiene_problems("01_gmm.ipynb", 10, nb))
    unlinked = _clean_notebook()
    unlinked["cells"][0]["source"] = "# 01 · A GMM\n\nYou will see a mixture grow."
    assert any("docs/papers.md" in p for p in hygiene_problems("01_gmm.ipynb", 10, unlinked))
