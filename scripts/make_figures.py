"""Run every tutorial notebook with full budgets and write HTML pages and a PNG gallery to ``build/``.

Usage: ``python scripts/make_figures.py [notebook_dir] [build_dir]`` (defaults ``notebooks`` and ``build``).
The committed notebooks are not modified: each one is executed in memory, exported to
``build/html/NN_name.html``, and every PNG output is saved as ``build/gallery/NN_name_cellX_k.png``
(X = index of the cell in the notebook, k = index of the image within that cell).
"""

from __future__ import annotations

import base64
import sys
from pathlib import Path

import nbformat
from nbconvert import HTMLExporter

sys.path.insert(0, str(Path(__file__).resolve().parent))
from run_notebooks import execute  # noqa: E402  (same kernel settings and output stripping)


def save_pngs(notebook: nbformat.NotebookNode, name: str, gallery: Path) -> list[Path]:
    """Write each ``image/png`` output of ``notebook`` to ``gallery``; returns the written paths."""
    written = []
    for cell_index, cell in enumerate(notebook.cells):
        images = [out["data"]["image/png"] for out in cell.get("outputs", []) if "image/png" in out.get("data", {})]
        for k, image in enumerate(images):
            path = gallery / f"{name}_cell{cell_index}_{k}.png"
            path.write_bytes(base64.b64decode(image))
            written.append(path)
    return written


def main(notebook_dir: str = "notebooks", build_dir: str = "build") -> None:
    html_dir, gallery = Path(build_dir) / "html", Path(build_dir) / "gallery"
    html_dir.mkdir(parents=True, exist_ok=True)
    gallery.mkdir(parents=True, exist_ok=True)
    for source in sorted(Path(notebook_dir).glob("[0-9][0-9]_*.ipynb")):
        print(f"executing {source} ...", flush=True)
        notebook = execute(nbformat.read(source, as_version=4))
        html_path = html_dir / f"{source.stem}.html"
        html_path.write_text(HTMLExporter().from_notebook_node(notebook)[0], encoding="utf-8")
        pngs = save_pngs(notebook, source.stem, gallery)
        print(f"  wrote {html_path} and {len(pngs)} PNG files in {gallery}/")


if __name__ == "__main__":
    main(*sys.argv[1:3])
