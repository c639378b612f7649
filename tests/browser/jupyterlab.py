"""Drive the tutorial notebooks in a real JupyterLab in headless Chromium (Playwright's Python API).

Shared by the browser tests (``tests/browser``) and ``benchmarks/bench_browser_latency.py``. Nothing is
downloaded: the browser is Debian's ``chromium`` (``apt-get install chromium``), found on the PATH or
through ``$DEEPMIX_CHROMIUM``; Playwright only drives it.

* :class:`LabServer` copies a notebooks folder to a scratch folder (JupyterLab autosaves what it runs; the
  repository's files are never touched) and serves it on 127.0.0.1 with ``DEEPMIX_QUICK=1``.
* :func:`run_all` opens a notebook, runs every cell and waits until the kernel is done.
* :func:`error_outputs`, :func:`widget_errors` report what went wrong on the page.
* :class:`Control` finds a slider, checkbox or dropdown by its label, and :meth:`Control.change` moves it
  and times how long the plot next to it takes to change (plotly trace data, or the pictures in the cell).
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

CHROMIUM_FLAGS = [  # no sandbox as root; nothing that phones home on a closed network
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync",
]
WIDGET_ERROR_TEXTS = ("Error displaying widget", "model not found", "Failed to load model class")
ACTIVE = ".jp-NotebookPanel:not(.lm-mod-hidden)"  # the notebook on show (other tabs stay in the page)
STDERR = '.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]'  # tracebacks, warnings
# JupyterLab settings for the scratch user folder: no "news?" toast over the controls
SETTINGS = {"@jupyterlab/apputils-extension/notification.jupyterlab-settings": {"fetchNews": "false"}}


def chromium_path() -> str | None:
    """Debian's Chromium, or what ``$DEEPMIX_CHROMIUM`` names; None when there is none."""
    named = os.environ.get("DEEPMIX_CHROMIUM")
    if named:
        return named if Path(named).is_file() else None
    return shutil.which("chromium") or shutil.which("chromium-browser")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class LabServer:
    """JupyterLab serving a scratch copy of ``notebooks`` on 127.0.0.1, kernels in quick mode."""

    def __init__(self, notebooks: Path, quick: bool = True) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="deepmix-lab-"))
        shutil.copytree(notebooks, self.folder / "notebooks")
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        environment = dict(os.environ, DEEPMIX_QUICK="1" if quick else "0", JUPYTER_PLATFORM_DIRS="1")
        settings = self.folder / "settings"  # fresh settings and workspaces: no tab of an earlier run reopens
        for name, values in SETTINGS.items():
            (settings / name).parent.mkdir(parents=True, exist_ok=True)
            (settings / name).write_text(json.dumps(values))
        command = [
            sys.executable, "-m", "jupyterlab", "--no-browser", f"--port={self.port}", "--ServerApp.ip=127.0.0.1",
            "--ServerApp.token=", "--ServerApp.password=", "--ServerApp.disable_check_xsrf=True",
            f"--ServerApp.root_dir={self.folder / 'notebooks'}", f"--LabApp.user_settings_dir={settings}",
            f"--LabApp.workspaces_dir={self.folder / 'workspaces'}",
            "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
        ]
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            command.append("--allow-root")
        self.log = open(self.folder / "lab.log", "w")  # noqa: SIM115 (closed in stop)
        self.process = subprocess.Popen(command, stdout=self.log, stderr=subprocess.STDOUT, env=environment)
        self._wait_until_up()

    def _wait_until_up(self, timeout: float = 90.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"JupyterLab exited early; see {self.log.name}")
            try:
                with urllib.request.urlopen(f"{self.url}/api/status", timeout=2) as reply:
                    if reply.status == 200:
                        return
            except OSError:
                time.sleep(0.5)
        raise RuntimeError(f"JupyterLab did not answer within {timeout:.0f} s; see {self.log.name}")

    def shut_down_kernels(self) -> None:
        """End every session and its kernel (REST API), so one notebook's kernel never slows the next."""
        with urllib.request.urlopen(f"{self.url}/api/sessions", timeout=10) as reply:
            sessions = json.load(reply)
        for session in sessions:
            request = urllib.request.Request(f"{self.url}/api/sessions/{session['id']}", method="DELETE")
            urllib.request.urlopen(request, timeout=30).close()

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
        self.log.close()
        shutil.rmtree(self.folder, ignore_errors=True)


def open_notebook(page, server: LabServer, name: str) -> None:
    """Open ``name`` in JupyterLab and wait until the notebook and its kernel are ready."""
    page.goto(f"{server.url}/lab/tree/{name}?reset")  # ?reset: no tab of an earlier test reopens
    page.wait_for_selector(f"{ACTIVE} .jp-Notebook .jp-Cell", state="attached", timeout=90_000)
    dismiss_news(page)
    page.wait_for_function(KERNEL_IDLE, timeout=120_000, polling=500)


def dismiss_news(page) -> None:
    """Answer JupyterLab's "notified about official Jupyter news?" toast, which can cover the controls."""
    news = page.locator(".jp-Notification-Toast button", has_text="No")
    if news.count():
        news.first.click()


def menu(page, title: str, item: str) -> None:
    """Click ``title`` in JupyterLab's menu bar, then ``item`` in the menu it opens."""
    page.locator(".lm-MenuBar-itemLabel", has_text=title).first.click()
    page.locator(".lm-Menu-itemLabel", has_text=item).first.click()


def run_all(page, server: LabServer, name: str, timeout: float = 600.0) -> float:
    """Open ``name``, run every cell (Run › Run All Cells) and wait for the last one; returns the seconds."""
    open_notebook(page, server, name)
    menu(page, "Edit", "Clear Outputs of All Cells")  # the saved outputs and counts go: only this run counts
    page.wait_for_function(f"() => [...document.querySelectorAll('{ACTIVE} .jp-CodeCell .jp-InputArea-prompt')]"
                           ".every(p => p.textContent.trim() === '[ ]:')")
    start = time.perf_counter()
    menu(page, "Run", "Run All Cells")
    try:
        page.wait_for_function(ALL_CELLS_RAN, timeout=timeout * 1000, polling=500)
    except Exception as error:  # say where it stopped: the prompts, and a screenshot next to the lab log
        prompts = page.evaluate(PROMPTS)
        picture = Path(tempfile.gettempdir()) / f"deepmix-{Path(name).stem}-timeout.png"
        page.screenshot(path=str(picture), full_page=True)
        raise TimeoutError(f"{name}: not done after {timeout:.0f} s; prompts {prompts}; see {picture}") from error
    seconds = time.perf_counter() - start
    dismiss_news(page)
    return seconds


PROMPTS = (f"() => [...document.querySelectorAll('{ACTIVE} .jp-CodeCell .jp-InputArea-prompt')]"
           ".map(p => p.textContent.trim())")
# Every code cell shows an execution count (textContent: collapsed cells count too) and the kernel is idle.
KERNEL_IDLE = """() => [...document.querySelectorAll('.jp-StatusBar-TextItem')]
    .some(item => item.textContent.includes('Idle'))"""
ALL_CELLS_RAN = f"""() => {{
    const prompts = [...document.querySelectorAll('{ACTIVE} .jp-CodeCell .jp-InputArea-prompt')]
        .map(prompt => prompt.textContent.trim());
    const ran = prompt => /^\\[\\d+\\]:$/.test(prompt);
    const failed = document.querySelector('{ACTIVE} {STDERR}');
    const stopped = failed !== null && ran(prompts[0]) && !prompts.includes('[*]:');  // Run All stops at an error
    return prompts.length > 0 && (prompts.every(ran) || stopped) && ({KERNEL_IDLE})();
}}"""


def error_outputs(page) -> list[str]:
    """Tracebacks shown in the notebook (stderr outputs that hold a Python exception)."""
    texts = page.locator(f"{ACTIVE} {STDERR}")
    texts = texts.all_inner_texts()
    return [text for text in texts if "Traceback" in text or "Error" in text.split("\n", 1)[0]]


def widget_errors(page, console: list[str]) -> list[str]:
    """Widget failures: messages rendered in the page, and errors logged to the browser console."""
    shown = [text for text in page.locator(f"{ACTIVE} .jp-OutputArea-output").all_inner_texts()
             if any(marker in text for marker in WIDGET_ERROR_TEXTS)]
    logged = [message for message in console if any(marker in message for marker in WIDGET_ERROR_TEXTS)]
    return shown + logged


# Installed in the page before a control moves: note the first input event on the control, then look at its
# cell's plot on every animation frame and note the first frame where it differs. A fingerprint of the plot,
# not the whole data, so watching does not keep the page busy.
WATCH_PLOT = """(cell, [control]) => {
    const sum = a => { let s = 0; for (let i = 0; a && i < a.length; i++) { const v = +a[i];
                       if (v === v) { s += v * (i + 1); } } return s; };
    const fingerprint = () => {
        const plot = cell.querySelector('.js-plotly-plot');
        if (plot && plot.data) {
            return JSON.stringify(plot.data.map(
                t => [t.name, t.visible, t.x ? t.x.length : 0, sum(t.x), sum(t.y), t.text]));
        }
        return [...cell.querySelectorAll('.jp-OutputArea-output img')].map(i => i.src).join('|');
    };
    const watch = {input: null, changed: null, stop: false, before: fingerprint()};
    window.deepmixWatch = watch;
    const noteInput = () => { if (watch.input === null) { watch.input = performance.now(); } };
    for (const type of ['keydown', 'mousedown', 'change']) {
        control.addEventListener(type, noteInput, {capture: true, once: true});
    }
    const look = () => {
        if (watch.stop) { return; }
        if (watch.input !== null && fingerprint() !== watch.before) { watch.changed = performance.now(); return; }
        requestAnimationFrame(look);
    };
    requestAnimationFrame(look);
}"""


@dataclass
class Control:
    """One ipywidget control on the page, found by the text of its label, and the cell it lives in."""

    page: object
    kind: str  # "slider", "checkbox" or "dropdown"
    label: str

    @property
    def element(self):
        """The control's widget. Found by the *text content* of its label: JupyterLab does not lay out cells
        outside the window (``content-visibility``), so their visible text is empty until scrolled to."""
        css = {"slider": ".widget-slider", "dropdown": ".widget-dropdown", "checkbox": ".widget-checkbox"}[self.kind]
        mark = f"{self.kind}-{self.label.encode().hex()}"  # a plain-ASCII attribute value
        self.page.evaluate(
            """([selector, label, mark]) => {
                const clean = text => text.replace(/[\\s\\u200b]+/g, ' ').trim();
                for (const widget of document.querySelectorAll(selector)) {
                    const labels = [...widget.querySelectorAll('.widget-label, .widget-label-basic')];
                    if (labels.some(element => clean(element.textContent) === clean(label))) {
                        widget.dataset.deepmixControl = mark;
                    }
                }
            }""",
            [f"{ACTIVE} {css}", self.label, mark],
        )
        return self.page.locator(f'[data-deepmix-control="{mark}"]')

    @property
    def cell(self):
        """The notebook cell holding the control (its outputs hold the plot the control drives)."""
        return self.element.locator("xpath=ancestor::div[contains(@class, 'jp-Cell ')][1]")

    def change(self, steps: int = 2, option: str | None = None, timeout: float = 60.0) -> float | None:
        """Move the control (a slider ``steps`` keyboard steps, a checkbox once, a dropdown to ``option``)
        and return the seconds from the key press or click to the changed plot, or None if the plot did not
        change within ``timeout``. Both moments are taken inside the page (``performance.now()``): the first
        input event the control sees, and the first animation frame whose plot differs (plotly trace data,
        or the pictures a FigureControls draws), so Playwright's own overhead is not counted."""
        dismiss_news(self.page)
        element = self.element
        element.scroll_into_view_if_needed()
        self.cell.evaluate(WATCH_PLOT, [element.element_handle()])
        if self.kind == "checkbox":
            element.locator("input").click()
        elif self.kind == "dropdown":
            element.locator("select").select_option(label=option)
        else:
            element.locator(".noUi-handle").first.focus()
            key = "ArrowRight" if steps > 0 else "ArrowLeft"
            for _ in range(abs(steps)):
                self.page.keyboard.press(key)
        try:
            self.page.wait_for_function("() => window.deepmixWatch.changed !== null", timeout=timeout * 1000)
        except Exception:  # Playwright's TimeoutError: the plot never changed
            self.page.evaluate("() => { window.deepmixWatch.stop = true; }")
            return None
        return self.page.evaluate("() => (window.deepmixWatch.changed - window.deepmixWatch.input) / 1000")


def launch_browser(playwright):
    """Headless Chromium from Debian (never a downloaded one)."""
    path = chromium_path()
    if path is None:
        raise RuntimeError("no Chromium found: apt-get install chromium, or set $DEEPMIX_CHROMIUM")
    return playwright.chromium.launch(executable_path=path, args=CHROMIUM_FLAGS)


def new_page(browser, console: list[str]):
    """A page that records console errors into ``console`` (a laptop-sized window)."""
    page = browser.new_page(viewport={"width": 1366, "height": 900})
    page.on("console", lambda message: console.append(message.text) if message.type == "error" else None)
    return page


if __name__ == "__main__":  # a manual look: python tests/browser/jupyterlab.py notebooks/02_drmm_swiss_roll.ipynb
    from playwright.sync_api import sync_playwright

    target = Path(sys.argv[1])
    server = LabServer(target.parent)
    try:
        with sync_playwright() as playwright:
            browser = launch_browser(playwright)
            messages: list[str] = []
            page = new_page(browser, messages)
            print(f"ran in {run_all(page, server, target.name):.0f} s")
            page.screenshot(path="lab.png", full_page=True)
            print(json.dumps({"errors": error_outputs(page), "widget errors": widget_errors(page, messages)}))
    finally:
        server.stop()
