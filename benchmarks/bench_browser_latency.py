"""How long a student waits after moving a control: every explorer, in JupyterLab, in headless Chromium.

Each notebook with an explorer runs top to bottom in quick mode in a real JupyterLab (the driver of
``tests/browser``); then each main control is moved ``--repeats`` times back and forth. Each move is timed
inside the page, from the first input event the control sees (key press, click, choice) to the first animation
frame whose plot differs (plotly trace data, or the new picture of a FigureControls): kernel work, messages and
drawing, without Playwright's own overhead. Printed: the median and the slowest move per control, against the
targets of 100 ms for the 2-D conditioning explorer and 300 ms for inverse kinematics. The matplotlib panels
(03, 06, 08) have no target: they redraw a whole figure, and 06 samples images.

Needs Playwright (``pip install playwright``; ``make test-browser`` installs it) and Debian's Chromium
(``apt-get install chromium``); without them it says so and exits. A few minutes.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "browser"))

from jupyterlab import Control, LabServer, chromium_path, launch_browser, new_page, run_all  # noqa: E402

# notebook: [(what, kind, label, the two settings to alternate between, target in ms or None)]
MOVES = {
    "01_gmm_conditioning.ipynb": [("2-D explorer (GMM)", "slider", "angle (°)", (1, -1), 100),
                                  ("2-D explorer (GMM)", "checkbox", "box", (None, None), 100)],
    "02_drmm_swiss_roll.ipynb": [("2-D explorer (DRMM)", "slider", "angle (°)", (1, -1), 100),
                                 ("2-D explorer (DRMM)", "slider", "depth", (-1, 1), 100)],
    "03_drmm_sierpinski.ipynb": [("depth panel (matplotlib)", "slider", "layers", (-1, 1), None)],
    "05_inverse_kinematics.ipynb": [("IK explorer", "slider", "rHand x", (1, -1), 300),
                                    ("IK explorer", "checkbox", "target for lHand", (None, None), 300)],
    "06_dcgmm_mnist.ipynb": [("DCGMM samples (matplotlib)", "slider", "top-S", (1, -1), None),
                             ("DCGMM inpainting (matplotlib)", "dropdown", "erase", ("top half", "right half"), None)],
    "08_flow_mixtures.ipynb": [("flow samples (matplotlib)", "slider", "T", (-1, 1), None)],
}


def measure(page, kind: str, label: str, settings: tuple, repeats: int) -> list[float]:
    """Seconds from each move to the changed plot; a move that changes nothing within 60 s is left out."""
    control, seconds = Control(page, kind, label), []
    for move in range(repeats):
        setting = settings[move % 2]
        if kind == "slider":
            result = control.change(steps=setting)
        elif kind == "dropdown":
            result = control.change(option=setting)
        else:
            result = control.change()
        if result is not None:
            seconds.append(result)
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=8, help="moves per control (alternating directions)")
    parser.add_argument("--quick", action="store_true", help="2 moves per control, notebooks 01 and 05 only")
    args = parser.parse_args()
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        print("skipped: Playwright is not installed (pip install playwright, or make test-browser)")
        return
    if chromium_path() is None:
        print("skipped: no Chromium (apt-get install chromium, or set $DEEPMIX_CHROMIUM)")
        return
    repeats = 2 if args.quick else args.repeats
    notebooks = {name: moves for name, moves in MOVES.items() if not args.quick or name[:2] in ("01", "05")}
    server = LabServer(ROOT / "notebooks")
    rows = []
    try:
        with sync_playwright() as playwright:
            browser = launch_browser(playwright)
            for name, moves in notebooks.items():
                page = new_page(browser, [])
                ran = run_all(page, server, name)
                print(f"{name}: ran in {ran:.0f} s (quick mode)", flush=True)
                for what, kind, label, settings, target in moves:
                    seconds = measure(page, kind, label, settings, repeats)
                    rows.append((what, f"{kind} '{label}'", seconds, repeats, target))
                page.close()
                server.shut_down_kernels()  # an idle kernel left behind would still slow the next notebook
            browser.close()
    finally:
        server.stop()
    print(f"\n{'explorer':<30}{'control':<28}{'median ms':>10}{'max ms':>8}{'target':>8}  moves that redrew")
    for what, control, seconds, tried, target in rows:
        median = f"{1000 * statistics.median(seconds):.0f}" if seconds else "-"
        slowest = f"{1000 * max(seconds):.0f}" if seconds else "-"
        goal = f"≤{target}" if target else "-"
        print(f"{what:<30}{control:<28}{median:>10}{slowest:>8}{goal:>8}  {len(seconds)}/{tried}")


if __name__ == "__main__":
    main()
