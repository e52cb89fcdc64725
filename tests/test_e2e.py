"""The course as a student uses it: their own JupyterLab in a real browser.

One JupyterLab server per session, run from the student's environment (``.venv``, what
`make lab` makes; ``$BPCOURSE_STUDENT_PYTHON`` names its python) on a fresh workspace built
by ``python -m bpcourse workspace`` (127.0.0.1, free port, random token, fresh dirs), and one
Chromium (Debian's, via Playwright). For every lesson (found by glob: a new lesson is picked
up): open the student's copy, Run ▸ Run All Cells, every code cell runs (each exercise a
stub: its check says "not attempted" and Run All goes on), no error or stderr output, every
widget is rendered (those the committed notebook shows, and every `bp.widgets.…()` call),
and changing a control (keyboard on a slider, another option, a click) changes the widget's
text and plot. The student's JupyterLab shows no instructor interface (nbgrader's menu,
Formgrader), even after `make test` installed nbgrader into the test environment.

Screenshots land in each test's tmp folder, and also in ``$E2E_ARTIFACTS`` when set.
Without /usr/bin/chromium or the student's environment the tests skip, except under
``CI=true`` where they fail. The machinery lives in ``tests/e2e_support.py``.
"""
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
import e2e_support as e2e  # noqa: E402

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
STUDENT_PYTHON = Path(os.environ.get("BPCOURSE_STUDENT_PYTHON") or ROOT / ".venv" / "bin" / "python")


def _unavailable(reason):
    """Missing browser tooling: a failure under CI (it must install it), a skip elsewhere."""
    if os.environ.get("CI", "").lower() in ("true", "1"):
        pytest.fail(f"CI=true but {reason}: .ci/run must install it", pytrace=False)
    pytest.skip(f"{reason}; install it with `apt-get install chromium` to run the browser tests")


def test_a_missing_browser_skips_with_its_reason_but_fails_under_ci(monkeypatch):
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="/usr/bin/chromium is missing; install it with"):
        _unavailable("/usr/bin/chromium is missing")
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI=true but /usr/bin/chromium is missing"):
        _unavailable("/usr/bin/chromium is missing")


def _browser_tools():
    if not e2e.CHROMIUM.exists():
        _unavailable(f"{e2e.CHROMIUM} is missing")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        _unavailable("Python playwright is not installed")


@pytest.fixture(scope="session")
def student_python():
    """The python of the student's environment, running this checkout's bpcourse."""
    if not STUDENT_PYTHON.exists():
        _unavailable(f"the student's environment ({STUDENT_PYTHON}) is missing; `make lab` or `make test` makes it")
    return STUDENT_PYTHON


@pytest.fixture(scope="session")
def lab(tmp_path_factory, student_python):
    """The student's JupyterLab on a fresh workspace, as `make lab` opens it."""
    _browser_tools()
    base = tmp_path_factory.mktemp("e2e")
    root = base / "workspace"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    subprocess.run([student_python, "-m", "bpcourse", "workspace", "--dir", root, "--source", ROOT / "notebooks"],
                   check=True, capture_output=True, env=env, cwd=base, timeout=300)
    server = e2e.LabServer(root, base / "home", python=student_python, env={"PYTHONPATH": str(ROOT)}).start()
    yield server
    server.stop()
    assert server.proc.poll() is not None, "the JupyterLab server outlived its SIGTERM"


@pytest.fixture(scope="session")
def browser(lab, tmp_path_factory):
    """One Chromium with a fresh profile, logged in to our server."""
    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        context = e2e.launch_browser(p, tmp_path_factory.mktemp("chromium-profile"))
        try:
            e2e.log_in(context, lab)
            yield context
        finally:
            context.close()


@pytest.fixture
def shots(tmp_path, request):
    """Screenshots of one test; copied to $E2E_ARTIFACTS/<test> afterwards when set."""
    folder = tmp_path / "screenshots"
    folder.mkdir()
    yield folder
    artefacts = os.environ.get("E2E_ARTIFACTS")
    if artefacts:
        name = request.node.name.replace("/", "_").replace("[", "-").replace("]", "")
        shutil.copytree(folder, Path(artefacts) / name, dirs_exist_ok=True)


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_run_all_runs_every_cell_of_a_fresh_lesson_and_its_widgets_respond(notebook, lab, browser, shots):
    report = e2e.check_notebook(browser, lab, lab.root / notebook.name, shots, lesson=notebook)
    print(report)
    assert report["checks"] and all("not attempted" in text for text in report["checks"]), report["checks"]
    assert report["widgets"], "every lesson shows at least one widget"
    assert report["page_errors"] == [], "JavaScript errors in the page"
    assert (shots / f"{notebook.stem}.png").stat().st_size > 0


# ------------------------------------------------------------------ only the course, no instructor tools

INSTRUCTOR_UI = {"menu": "Nbgrader", "page": "/formgrader", "extension": "nbgrader"}


def instructor_ui(server, browser):
    """What of nbgrader's instructor interface a JupyterLab shows: its menu, its page, its extension."""
    page = browser.new_page()
    try:
        page.goto(f"{server.url}/lab?reset")
        page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(r"^Help$")).wait_for(timeout=60_000)
        labels = page.locator(".lm-MenuBar-itemLabel").all_inner_texts()
    finally:
        page.close()
    found = set()
    if INSTRUCTOR_UI["menu"] in [label.strip() for label in labels]:
        found.add("menu")
    if server.status(INSTRUCTOR_UI["page"]) != 404:
        found.add("page")
    if any(INSTRUCTOR_UI["extension"] in name for name in server.lab_extensions()):
        found.add("extension")
    return found


def test_the_students_jupyterlab_shows_no_instructor_interface(lab, browser, tmp_path_factory):
    """Even after `make test` (nbgrader is in the test environment): the student's JupyterLab has
    no Nbgrader menu, no Formgrader page. The same check finds all three in the test environment's
    JupyterLab, so it can fail."""
    assert instructor_ui(lab, browser) == set()
    pytest.importorskip("nbgrader")
    base = tmp_path_factory.mktemp("instructor-lab")
    (base / "root").mkdir()
    instructor = e2e.LabServer(base / "root", base / "home", python=sys.executable).start()
    try:
        e2e.log_in(browser, instructor)
        assert instructor_ui(instructor, browser) == {"menu", "page", "extension"}
    finally:
        instructor.stop()


# ------------------------------------------------------------------ the harness itself

HARNESS_CELLS = [
    "import ipywidgets as W\nimport numpy as np\nfrom bpcourse.widgets.base import Explorer, View, new_figure",
    # Explorer whose text and plot follow a slider and a dropdown.
    "def live(a, kind):\n"
    "    fig, ax = new_figure(figsize=(3, 2))\n"
    "    x = np.linspace(0, 1, 20)\n"
    "    ax.plot(x, a * (x if kind == 'line' else x ** 2))\n"
    "    return View(fig, f'a = {a:.1f}, {kind}', {})\n"
    "Explorer({'a': W.FloatSlider(value=1.0, min=0.0, max=2.0, step=0.1, continuous_update=False),\n"
    "          'kind': W.Dropdown(options=['line', 'parabola'])}, live, 'e2e_live')",
    # A widget that does not respond: its controls move, its output never changes.
    "def frozen(a, kind):\n"
    "    fig, ax = new_figure(figsize=(3, 2))\n"
    "    ax.plot([0, 1], [0, 1])\n"
    "    return View(fig, 'always the same', {})\n"
    "Explorer({'a': W.FloatSlider(value=1.0, min=0.0, max=2.0, step=0.1),\n"
    "          'kind': W.Dropdown(options=['line', 'parabola'])}, frozen, 'e2e_frozen')",
    # Button-driven: Reset (no effect at the start) before Step, as a student would find it.
    "class Stepper(Explorer):\n"
    "    def __init__(self):\n"
    "        self.steps = 0\n"
    "        reset, step = W.Button(description='Reset'), W.Button(description='Step')\n"
    "        reset.on_click(lambda _: self.go(0))\n"
    "        step.on_click(lambda _: self.go(self.steps + 1))\n"
    "        super().__init__({'reset': reset, 'step': step}, self.show, 'e2e_stepper')\n"
    "    def go(self, n):\n"
    "        self.steps = n\n"
    "        self.refresh()\n"
    "    def show(self):\n"
    "        fig, ax = new_figure(figsize=(3, 2))\n"
    "        ax.bar([0], [self.steps + 1])\n"
    "        return View(fig, f'{self.steps} steps', {})\n"
    "Stepper()",
]


@pytest.fixture(scope="session")
def harness_notebook(lab):
    """A small notebook with a live, a frozen and a button-driven Explorer (not a lesson)."""
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(source) for source in HARNESS_CELLS]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    path = lab.root / "e2e_harness.ipynb"
    nbformat.write(nb, path)
    return path


def test_the_harness_sees_text_and_plot_change_and_catches_a_frozen_widget(lab, browser, harness_notebook, shots):
    nb = e2e.Notebook(browser, lab, harness_notebook.name, harness_notebook)
    try:
        nb.open()
        nb.run_all()
        assert nb.error_outputs() == []
        live, frozen, stepper = (nb.widget_boxes(i) for i in (1, 2, 3))
        for boxes in (live, frozen, stepper):
            boxes.first.wait_for(state="visible", timeout=15_000)
            assert boxes.count() == 1

        state = nb.output_state(live.first)
        assert state["texts"][0].startswith("a = 1.0, line")
        assert len(state["images"]) == 1 and state["images"][0]["width"] > 0
        result = e2e.exercise_widget(live.first)
        assert result["changed_by"] == "slider 1.0 -> 1.1"
        assert {"text", "image"} <= set(result["changed"])
        assert nb.output_state(live.first)["texts"][0].startswith("a = 1.1, line")

        with pytest.raises(e2e.E2EError, match="no control changed the widget's output") as caught:
            e2e.exercise_widget(frozen.first, timeout=2.0)
        assert "slider 1.0 -> 1.1: changed ['value'], needed ['image', 'text']" in str(caught.value)

        e2e.type_in_readout(live.first, 0, "1.5")
        nb.page.wait_for_function("b => b.innerText.includes('a = 1.5')", arg=live.first.element_handle(),
                                  timeout=10_000)

        order = [c.inner_text() for kind, c in e2e.controls_of(stepper.first)]
        assert order == ["Step", "Reset"]          # a reset changes nothing on a fresh widget: last
        result = e2e.exercise_widget(stepper.first)
        assert result["changed_by"] == "button 'Step' clicked"
        assert nb.output_state(stepper.first)["texts"][0].startswith("1 steps")
        nb.screenshot(shots / "harness.png", live.first)
    finally:
        nb.close()
        lab.shutdown_sessions()


# ------------------------------------------------------------------ the student workspace (issue 10)

def _solution_lines(cell):
    """The lines between nbgrader's solution markers (the text that must never reach a student)."""
    inside, lines = False, []
    for line in cell.source.splitlines():
        if "### BEGIN SOLUTION" in line:
            inside = True
        elif "### END SOLUTION" in line:
            inside = False
        elif inside and len(line.strip()) >= 8 and not line.strip().startswith("#"):
            lines.append(line.strip())
    return lines


def _first_lesson_with_an_exercise():
    for path in NOTEBOOKS:
        nb = nbformat.read(path, as_version=4)
        if any(c.metadata.get("nbgrader", {}).get("solution") and _solution_lines(c) for c in nb.cells):
            return path
    return None


def test_the_student_workspace_shows_stubs_not_solutions_in_the_browser(lab, browser, shots):
    lesson = _first_lesson_with_an_exercise()
    assert lesson is not None, "no lesson notebook has an exercise"
    student = lab.root / lesson.name
    source = {c.metadata["nbgrader"]["grade_id"]: c for c in nbformat.read(lesson, as_version=4).cells
              if c.metadata.get("nbgrader", {}).get("grade_id")}
    cells = nbformat.read(student, as_version=4).cells
    solutions = [i for i, c in enumerate(cells) if c.metadata.get("nbgrader", {}).get("solution")]
    secret = [line for c in source.values() if c.metadata["nbgrader"].get("solution")
              for line in _solution_lines(c)]
    assert secret, "found no solution lines in the source notebook to look for"

    nb = e2e.Notebook(browser, lab, student.name, student)
    try:
        nb.open()
        shown = "\n".join(nb.source_text(i) for i, c in enumerate(cells) if c.cell_type == "code")
        leaked = [line for line in secret if line in shown]
        assert not leaked, f"solution lines visible in the student's notebook: {leaked}"
        for i in solutions:
            stub = nb.source_text(i)
            assert "YOUR CODE HERE" in stub and "raise NotImplementedError" in stub, stub
        nb.screenshot(shots / f"workspace-{lesson.stem}.png", nb.cells().nth(solutions[0]))
    finally:
        nb.close()
        lab.shutdown_sessions()


def test_a_widget_that_does_not_render_fails_the_check(browser, tmp_path_factory, shots):
    """The negative check: with the widget manager extension disabled (a broken install),
    the slider shows as the text 'IntSlider(…)' and the lesson check must fail on it."""
    base = tmp_path_factory.mktemp("e2e-no-widgets")
    (base / "root").mkdir()
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("import ipywidgets as W\nW.IntSlider(value=3, description='test')")
    cell.outputs = [nbformat.v4.new_output("execute_result", execution_count=1, data={
        e2e.WIDGET_MIME: {"model_id": "0", "version_major": 2, "version_minor": 0},
        "text/plain": "IntSlider(value=3, description='test')"})]        # as committed: a widget
    nb.cells = [cell]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    source = base / "slider.ipynb"
    nbformat.write(nb, source)
    e2e.prepare_root(base / "root", [source])
    server = e2e.LabServer(base / "root", base / "home", widgets=False).start()
    try:
        e2e.log_in(browser, server)
        with pytest.raises(e2e.E2EError, match=r"the widget of cell 0 did not render; "
                                               r"the output area shows: .*IntSlider\(value=3") as caught:
            e2e.check_notebook(browser, server, source, shots, render_timeout=5.0)
        print(caught.value)
    finally:
        server.stop()
    assert (shots / "slider-no-widget.png").exists()
