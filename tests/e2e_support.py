"""Machinery for the end-to-end tests: our own JupyterLab server (from the student's
environment or another), Debian's Chromium driven by Playwright, and what a student does in
the page (run all, move a slider, look at the menus).

Used by ``tests/test_e2e.py``; also runnable by hand for a negative check::

    .venv-dev/bin/python tests/e2e_support.py --no-widgets notebooks/00_welcome.ipynb

(runs the same checks with the widget manager extension disabled; they must fail).
"""
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import nbformat

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
WIDGET_MIME = "application/vnd.jupyter.widget-view+json"
WIDGET_MANAGER = "@jupyter-widgets/jupyterlab-manager"


class E2EError(AssertionError):
    """A check a student would notice failed (a message says what they would see)."""


# ---------------------------------------------------------------- the notebooks

def stripped_copy(source, target):
    """Copy a notebook without outputs and execution counts: what a student opens."""
    nb = nbformat.read(source, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
    nb.metadata.pop("widgets", None)
    nbformat.write(nb, target)


def _shows_widget(cell):
    return any(WIDGET_MIME in out.get("data", {}) for out in cell.get("outputs", []))


def expected_widget_cells(path, lesson=None):
    """Indices of the cells of ``path`` that must show a widget in the browser: those whose
    committed outputs hold one (in ``lesson``, the source notebook ``path`` was made from, when
    given: matched by cell id), and every cell calling a ``bp.widgets`` builder."""
    nb = nbformat.read(path, as_version=4)
    shown = {c.get("id") for c in nbformat.read(lesson, as_version=4).cells if _shows_widget(c)} if lesson else set()
    return [i for i, cell in enumerate(nb.cells) if cell.cell_type == "code" and (
            _shows_widget(cell) or cell.get("id") in shown
            or re.search(r"^[^#\n]*\bbp\.widgets\.\w+\(", cell.source, re.M))]


def code_cells_to_run(path):
    """Indices of the non-empty code cells (each must get an execution count)."""
    nb = nbformat.read(path, as_version=4)
    return [i for i, cell in enumerate(nb.cells) if cell.cell_type == "code" and cell.source.strip()]


def exercise_checks(path):
    """Indices of the cells that check an exercise (nbgrader test cells)."""
    nb = nbformat.read(path, as_version=4)
    return [i for i, cell in enumerate(nb.cells) if cell.metadata.get("nbgrader", {}).get("grade")
            and not cell.metadata["nbgrader"].get("solution")]


def prepare_root(root, notebooks, data_dir=None):
    """Serve a temporary copy: the notebooks stripped of outputs, and their data folder."""
    root.mkdir(parents=True, exist_ok=True)
    for nb in notebooks:
        stripped_copy(nb, root / Path(nb).name)
    if data_dir is not None and Path(data_dir).is_dir():
        shutil.copytree(data_dir, root / Path(data_dir).name, dirs_exist_ok=True)
    return root


# ---------------------------------------------------------------- the server

class PortTaken(Exception):
    pass


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LabServer:
    """A JupyterLab server of our own: fresh dirs, random token, stopped by its pid.
    ``python``: the environment it runs in (and its kernels); ``env``: extra variables."""

    def __init__(self, root, home, widgets=True, python=sys.executable, env=None):
        self.root, self.home, self.widgets = Path(root), Path(home), widgets
        self.python, self.extra_env = str(python), dict(env or {})
        self.port = free_port()
        self.token = secrets.token_hex(24)
        self.proc = None
        self.log_path = self.home / "jupyterlab.log"

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    def _environment(self):
        env = dict(os.environ)
        dirs = {
            "JUPYTER_CONFIG_DIR": "config", "JUPYTER_RUNTIME_DIR": "runtime", "JUPYTER_DATA_DIR": "data",
            "JUPYTERLAB_SETTINGS_DIR": "settings", "JUPYTERLAB_WORKSPACES_DIR": "workspaces",
            "IPYTHONDIR": "ipython", "MPLCONFIGDIR": "matplotlib",
        }
        for var, name in dirs.items():
            (self.home / name).mkdir(parents=True, exist_ok=True)
            env[var] = str(self.home / name)
        env["BPCOURSE_PROGRESS"] = str(self.home / "progress.jsonl")   # never the student's log
        env.pop("JUPYTER_PATH", None)
        env.pop("MPLBACKEND", None)
        env.update(self.extra_env)
        # No news pop-up covering the page; every cell in the DOM (no virtual scrolling).
        settings = self.home / "settings"
        _write_json(settings / "@jupyterlab/apputils-extension/notification.jupyterlab-settings",
                    {"fetchNews": "false", "checkForUpdates": False})
        _write_json(settings / "@jupyterlab/notebook-extension/tracker.jupyterlab-settings",
                    {"windowingMode": "none"})
        if not self.widgets:   # the negative check: what a broken install looks like
            _write_json(self.home / "config/labconfig/page_config.json",
                        {"disabledExtensions": {WIDGET_MANAGER: True}})
        return env

    def start(self, timeout=60):
        """Start the server and wait until it answers; a port taken meanwhile: another one."""
        for attempt in range(3):
            try:
                return self._start(timeout)
            except PortTaken:
                self.port = free_port()
        raise RuntimeError(f"JupyterLab found no free port:\n{self.log_tail()}")

    def _start(self, timeout):
        env = self._environment()
        command = [
            self.python, "-m", "jupyterlab", "--no-browser", "--allow-root",
            "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={self.port}", "--ServerApp.port_retries=0",
            f"--IdentityProvider.token={self.token}", f"--ServerApp.root_dir={self.root}",
            "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
        ]
        self._log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(command, env=env, cwd=self.root, stdout=self._log,
                                     stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                self._log.close()
                if "already in use" in self.log_tail():
                    raise PortTaken()
                raise RuntimeError(f"JupyterLab exited with {self.proc.returncode}:\n{self.log_tail()}")
            try:
                self.api("GET", "/api/status")
                return self
            except (urllib.error.URLError, ConnectionError, OSError):
                time.sleep(0.25)
        self.stop()
        raise RuntimeError(f"JupyterLab did not answer within {timeout} s:\n{self.log_tail()}")

    def api(self, method, path, raw=False):
        request = urllib.request.Request(self.url + path, method=method,
                                         headers={"Authorization": f"token {self.token}"})
        with urllib.request.urlopen(request, timeout=30) as response:
            body = response.read()
        if raw:
            return body.decode("utf-8", errors="replace")
        return json.loads(body) if body else None

    def status(self, path):
        """The HTTP status of a GET (404 for a page the server does not have)."""
        try:
            self.api("GET", path, raw=True)
            return 200
        except urllib.error.HTTPError as err:
            return err.code

    def lab_extensions(self):
        """The names of the JupyterLab extensions the page loads (from its page config)."""
        html = self.api("GET", "/lab", raw=True)
        config = json.loads(re.search(r'<script id="jupyter-config-data" type="application/json">(.*?)</script>',
                                      html, re.S).group(1))
        return sorted(e["name"] for e in config.get("federated_extensions", []))

    def sessions(self):
        return self.api("GET", "/api/sessions")

    def shutdown_sessions(self):
        for session in self.sessions():
            try:
                self.api("DELETE", f"/api/sessions/{session['id']}")
            except urllib.error.URLError:
                pass

    def stop(self, timeout=15):
        """SIGTERM to our own pid (the server shuts its kernels down), then wait; kill if needed."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        if getattr(self, "_log", None):
            self._log.close()

    def log_tail(self, n=40):
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-n:])
        except OSError:
            return ""


def _write_json(path, data):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data))


# ---------------------------------------------------------------- the browser

def launch_browser(playwright, profile_dir):
    """Debian's Chromium with a fresh profile (never Playwright's own download)."""
    return playwright.chromium.launch_persistent_context(
        str(profile_dir), executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_FLAGS,
        viewport={"width": 1280, "height": 900})


def log_in(context, server):
    page = context.new_page()
    page.goto(f"{server.url}/lab?token={server.token}")   # sets the login cookie
    page.locator(".jp-LabShell").wait_for(timeout=60_000)
    page.close()


# What a widget box shows: its texts (HTML/Label widgets) and a digest of each plot's bytes.
OUTPUT_STATE_JS = """
async (box) => {
  const texts = Array.from(box.querySelectorAll('.widget-html-content, .widget-htmlmath-content, .widget-output'))
                     .map(e => e.innerText);
  const images = [];
  for (const img of box.querySelectorAll('img')) {
    let digest = '';
    try {
      const bytes = await (await fetch(img.src)).arrayBuffer();
      const hash = await crypto.subtle.digest('SHA-256', bytes);
      digest = Array.from(new Uint8Array(hash)).map(b => b.toString(16).padStart(2, '0')).join('');
    } catch (e) { digest = 'unreadable:' + img.src.slice(0, 40); }
    images.push({digest, width: img.naturalWidth, height: img.naturalHeight});
  }
  const values = Array.from(box.querySelectorAll('[aria-valuenow]')).map(e => e.getAttribute('aria-valuenow'))
    .concat(Array.from(box.querySelectorAll('.widget-readout')).map(e => e.innerText))
    .concat(Array.from(box.querySelectorAll('select')).map(e => e.value))
    .concat(Array.from(box.querySelectorAll('input[type=checkbox]')).map(e => String(e.checked)));
  return {texts, images, values};
}
"""

BUTTONS = "button.widget-button:not([disabled])"
CONTROL_SELECTORS = {     # the order a student tries them in (a Step button before the sliders)
    "button": BUTTONS,
    "slider": ".widget-slider .noUi-handle",
    "dropdown": ".widget-dropdown select",
    "select": ".widget-select:not(.widget-select-multiple) select",
    "toggle": ".widget-toggle-buttons button:not(.mod-active), "
              "button.widget-toggle-button:not(.widget-toggle-buttons button)",
    "radio": ".widget-radio-box input[type=radio]:not(:checked)",
    "checkbox": ".widget-checkbox input[type=checkbox]",
}
RESETS = re.compile(r"reset|clear|restart|undo", re.I)   # no visible effect on a fresh widget: tried last


class Notebook:
    """One notebook open in its own page, driven as a student would."""

    def __init__(self, context, server, name, source):
        self.server, self.name, self.source = server, name, Path(source)   # name: path under the root
        self.page = context.new_page()
        self.console = []
        self.page.on("console", lambda m: self.console.append(f"{m.type}: {m.text}"))
        self.page.on("pageerror", lambda e: self.console.append(f"pageerror: {e}"))

    # -- open and run
    def open(self):
        self.page.goto(f"{self.server.url}/lab/tree/{self.name}?reset")
        self.page.locator(".jp-NotebookPanel .jp-Notebook .jp-Cell").first.wait_for(timeout=60_000)
        self.wait_idle(timeout=60)

    def run_all(self, timeout=300):
        """Run ▸ Run All Cells from the menu bar, then wait until every non-empty code cell has
        run, in order, in this notebook's fresh kernel (prompts [1], [2], … [N]) and the kernel
        is idle. A Run All that stops early (an error stops it) fails at once, with the error."""
        expected = code_cells_to_run(self.source)
        done = [f"[{k}]:" for k in range(1, len(expected) + 1)]
        cells = self.cells()

        def prompts():
            texts = cells.evaluate_all("cells => cells.map(c => c.querySelector('.jp-InputPrompt').innerText)")
            return [texts[i].strip() for i in expected]

        before = prompts()
        for attempt in range(2):     # queued cells show [*] at once; none did: the click missed, once more
            self.page.locator(".jp-NotebookPanel .jp-Notebook").first.click(position={"x": 5, "y": 5})
            self.page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(r"^Run$")).click()
            self.page.locator(".lm-Menu-item:visible", has_text=re.compile(r"^Run All Cells")).first.click()
            started = time.monotonic()
            while time.monotonic() - started < 10 and prompts() == before:
                time.sleep(0.25)
            if prompts() != before:
                break
        deadline = time.monotonic() + timeout
        while True:
            now = prompts()
            if now == done:
                break
            errors = self.error_outputs()
            if errors and not self.kernel_busy():
                ran = sum(p == want for p, want in zip(now, done))
                raise E2EError(f"{self.name}: Run All stopped after {ran} of {len(done)} code cells:\n"
                               + "\n---\n".join(errors))
            if time.monotonic() > deadline:
                raise E2EError(f"{self.name}: not every cell ran within {timeout} s; prompts {now}")
            time.sleep(0.5)
        self.wait_idle(timeout=timeout)

    def menu_labels(self):
        """The labels of the menu bar (File, Edit, …)."""
        labels = self.page.locator(".lm-MenuBar-itemLabel")
        return [labels.nth(i).inner_text().strip() for i in range(labels.count())]

    def cells(self):
        return self.page.locator(".jp-NotebookPanel:visible .jp-Notebook > .jp-WindowedPanel-outer "
                                 ".jp-Cell, .jp-NotebookPanel:visible .jp-Notebook > .jp-Cell")

    def kernel_busy(self):
        """True until the page's indicator and the server both say this notebook's kernel is idle."""
        indicator = self.page.locator(".jp-Notebook-ExecutionIndicator")
        ui_idle = indicator.count() > 0 and indicator.first.get_attribute("data-status") == "idle"
        states = [s["kernel"]["execution_state"] for s in self.server.sessions()
                  if s.get("path", "").endswith(self.name) and s.get("kernel")]
        return not (ui_idle and states and all(state == "idle" for state in states))

    def wait_idle(self, timeout=60, settle=0.5):
        """Idle in the page's indicator and on the server for ``settle`` seconds on end
        (not just the gap between two cells)."""
        deadline = time.monotonic() + timeout
        quiet_since = None
        while True:
            if self.kernel_busy():
                quiet_since = None
            else:
                quiet_since = quiet_since or time.monotonic()
                if time.monotonic() - quiet_since >= settle:
                    return
            if time.monotonic() > deadline:
                raise E2EError(f"{self.name}: the kernel is still busy after {timeout} s")
            time.sleep(0.2)

    # -- what the student sees
    def error_outputs(self):
        """Texts of error / stderr outputs (output areas only, never the source)."""
        errors = self.page.locator('.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]')
        return [errors.nth(i).inner_text()[:800] for i in range(errors.count())]

    def output_text(self):
        outs = self.page.locator(".jp-OutputArea-output")
        return "\n".join(outs.nth(i).inner_text() for i in range(outs.count()))

    def source_text(self, cell_index):
        """The source of a cell as the editor shows it."""
        return self.cells().nth(cell_index).locator(".jp-Cell-inputArea .cm-content").inner_text()

    def cell_output_text(self, cell_index):
        return self.cells().nth(cell_index).locator(".jp-OutputArea").inner_text()

    def widget_boxes(self, cell_index):
        """The top-level widget views rendered in one cell's output area."""
        area = self.cells().nth(cell_index).locator(".jp-OutputArea")
        return area.locator(".jp-OutputArea-output:has(> .jupyter-widgets)")

    def output_state(self, box):
        return box.evaluate(OUTPUT_STATE_JS)

    def screenshot(self, path, target=None):
        if target is not None:
            target.scroll_into_view_if_needed()
        self.page.screenshot(path=str(path))

    def close(self):
        self.page.close()


# ---------------------------------------------------------------- driving a widget

def controls_of(box):
    """Candidate controls in a widget box, in the order a student would try them."""
    found, resets = [], []
    for kind, selector in CONTROL_SELECTORS.items():
        loc = box.locator(selector)
        for i in range(loc.count()):
            control = loc.nth(i)
            if control.is_visible():
                is_reset = kind == "button" and RESETS.search(control.inner_text())
                (resets if is_reset else found).append((kind, control))
    return found + resets


def type_in_readout(box, slider_index, text):
    """Type a value into a slider's readout and press Enter, as a student may."""
    readout = box.locator(".widget-slider .widget-readout").nth(slider_index)
    readout.click()
    readout.press("Control+A")
    readout.type(text)
    readout.press("Enter")


def change(kind, control):
    """Change one control as a student would: keyboard on a slider, pick an option, click."""
    if kind == "slider":
        before = control.get_attribute("aria-valuenow")
        control.focus()
        control.press("ArrowRight")
        time.sleep(0.1)
        if control.get_attribute("aria-valuenow") == before:     # already at its maximum
            control.press("ArrowLeft")
            control.press("ArrowLeft")
        return f"slider {before} -> {control.get_attribute('aria-valuenow')}"
    if kind in ("dropdown", "select"):
        options = control.locator("option")
        values = [options.nth(i).get_attribute("value") for i in range(options.count())]
        current = control.input_value()
        other = next((v for v in values if v != current), None)
        if other is None:
            return None
        control.select_option(other)
        return f"dropdown {current!r} -> {other!r}"
    if kind in ("checkbox", "radio"):
        control.click()
        return f"{kind} clicked"
    control.click()
    return f"{kind} {control.inner_text().strip()!r} clicked"


def differs(before, after):
    """Which parts of a widget's output changed: 'text', 'image', 'value'."""
    parts = set()
    if before["texts"] != after["texts"]:
        parts.add("text")
    if [i["digest"] for i in before["images"]] != [i["digest"] for i in after["images"]]:
        parts.add("image")
    if before["values"] != after["values"]:
        parts.add("value")
    return parts


def required_parts(state):
    """A widget with a plot must redraw it; with a text must rewrite it; a bare control must move."""
    parts = set()
    if state["images"]:
        parts.add("image")
    if any(t.strip() for t in state["texts"]):
        parts.add("text")
    return parts or {"value"}


def exercise_widget(box, timeout=10.0):
    """Change controls one at a time until the widget's output changes as required.

    Returns a description of what was changed and what changed; raises E2EError listing
    every attempt when no control changes the output.
    """
    box.scroll_into_view_if_needed()
    controls = controls_of(box)
    if not controls:
        raise E2EError("the widget rendered no slider, button, dropdown or checkbox")
    attempts = []
    for kind, control in controls[:6]:
        before = box.evaluate(OUTPUT_STATE_JS)
        need = required_parts(before)
        if box.evaluate("b => b.querySelector('.bp-fixed-figure') !== null"):
            need.discard("image")                     # a quiz's figure is the question: it stays put
        what = change(kind, control)
        if what is None:
            continue
        deadline = time.monotonic() + timeout
        changed = set()
        while time.monotonic() < deadline:
            time.sleep(0.2)
            after = box.evaluate(OUTPUT_STATE_JS)
            changed = differs(before, after)
            if need <= changed and all(i["width"] > 0 for i in after["images"]):
                return {"changed_by": what, "changed": sorted(changed), "needed": sorted(need),
                        "images": len(after["images"]), "texts": len(after["texts"])}
        attempts.append(f"{what}: changed {sorted(changed) or 'nothing'}, needed {sorted(need)}")
    raise E2EError("no control changed the widget's output: " + "; ".join(attempts))


def check_notebook(context, server, source, shots_dir, render_timeout=15.0, lesson=None):
    """Everything the e2e test asserts about one notebook; returns a report dict.

    ``lesson``: the executed source notebook that ``source`` (a student's copy, whose volatile
    outputs are cleared) was made from; its outputs say which cells show a widget."""
    source = Path(source)
    report = {"notebook": source.name, "widgets": []}
    nb = Notebook(context, server, source.name, source)
    try:
        started = time.perf_counter()
        nb.open()
        nb.run_all()
        report["run_s"] = round(time.perf_counter() - started, 1)
        errors = nb.error_outputs()
        if errors:
            nb.screenshot(shots_dir / f"{source.stem}-error.png")
            raise E2EError(f"{source.name}: {len(errors)} error/stderr output(s) in the browser:\n"
                           + "\n---\n".join(errors))
        report["checks"] = [nb.cell_output_text(i) for i in exercise_checks(source)]
        broken = [t for t in nb.output_text().splitlines() if "Error displaying widget" in t]
        if broken:
            raise E2EError(f"{source.name}: {broken[0]}")
        expected = expected_widget_cells(source, lesson)
        for index in expected:
            boxes = nb.widget_boxes(index)
            try:
                boxes.first.wait_for(state="visible", timeout=render_timeout * 1000)
            except Exception:
                nb.screenshot(shots_dir / f"{source.stem}-no-widget.png", nb.cells().nth(index))
                shown = nb.cells().nth(index).locator(".jp-OutputArea").inner_text()[:400]
                raise E2EError(f"{source.name}: the widget of cell {index} did not render; "
                               f"the output area shows: {shown!r}") from None
            for b in range(boxes.count()):
                box = boxes.nth(b)
                try:
                    result = exercise_widget(box)
                except E2EError as e:
                    nb.screenshot(shots_dir / f"{source.stem}-cell{index}-widget{b}-failed.png", box)
                    raise E2EError(f"{source.name}, cell {index}, widget {b}: {e}") from None
                box.screenshot(path=str(shots_dir / f"{source.stem}-cell{index}-widget{b}.png"))
                report["widgets"].append({"cell": index, **result})
        first = nb.cells().nth(expected[0]) if expected else None
        nb.screenshot(shots_dir / f"{source.stem}.png", first)
        report["seconds"] = round(time.perf_counter() - started, 1)
        # Uncaught JavaScript exceptions, and errors the widget manager logs (a view that failed).
        report["page_errors"] = [m for m in nb.console if m.startswith("pageerror")
                                 or (m.startswith("error") and re.search("widget", m, re.I))]
        report["console_errors"] = [m for m in nb.console if m.startswith("error")]
        return report
    finally:
        try:
            nb.close()
        finally:
            server.shutdown_sessions()


# ---------------------------------------------------------------- by hand

def main(argv):
    """Run the checks outside pytest: ``[--no-widgets] NOTEBOOK...`` (prints each report)."""
    import tempfile
    from playwright.sync_api import sync_playwright
    widgets = "--no-widgets" not in argv
    paths = [Path(a) for a in argv if not a.startswith("--")]
    failures = 0
    with tempfile.TemporaryDirectory(prefix="bpcourse-e2e-") as tmp:
        tmp = Path(tmp)
        root = prepare_root(tmp / "root", paths, paths[0].parent / "data" if paths else None)
        server = LabServer(root, tmp / "home", widgets=widgets).start()
        try:
            with sync_playwright() as p:
                context = launch_browser(p, tmp / "profile")
                try:
                    log_in(context, server)
                    for path in paths:
                        try:
                            print(json.dumps(check_notebook(context, server, path, tmp)))
                        except E2EError as e:
                            failures += 1
                            print(f"FAILED {path.name}: {e}")
                finally:
                    context.close()
        finally:
            server.stop()
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
