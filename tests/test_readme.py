"""The README's commands, run as written (the blocks marked ``<!-- README test: NAME -->``),
in a copy of the repository whose ``.venv`` is the student's environment that `make lab` made:

- `make lab` builds the workspace and opens JupyterLab on it; in JupyterLab's terminal,
  `python -m bpcourse reset 03` works (the terminal has the course's environment, even when
  the student's ~/.bashrc puts another `python` first);
- `make reset LESSON=03`, `make reset LESSON=all`, `make solutions`;
- the nbgrader paragraph: `nbgrader generate_assignment` from `source/<assignment>/` with the
  `.bpcourse-release` marker gives the student version and keeps the marker;
- the conda block opens the workspace, never notebooks/ (conda itself is not installed here).

The wheel and Colab blocks run in tests/test_wheel.py.
"""
import asyncio
import concurrent.futures
import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from readme_blocks import block  # noqa: E402

from bpcourse.instructor import student_form  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
STUDENT_VENV = Path(os.environ.get("BPCOURSE_STUDENT_PYTHON") or ROOT / ".venv" / "bin" / "python").parent.parent
SKIP = shutil.ignore_patterns(".git", ".venv*", "workspace", "release", "dist", "build", "*.egg-info",
                              "__pycache__", ".ipynb_checkpoints", ".hypothesis", "course")


@pytest.fixture(scope="module")
def checkout(tmp_path_factory):
    """A copy of the repository with the student's environment as its .venv (made by `make lab`;
    never rebuilt from here: pyproject.toml is older than its stamp) and the test environment
    as its .venv-dev."""
    if not (STUDENT_VENV / ".installed-stamp").exists():
        message = f"the student's environment {STUDENT_VENV} is missing; `make lab` or `make test` makes it"
        if os.environ.get("CI", "").lower() in ("true", "1"):
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    copy = tmp_path_factory.mktemp("checkout") / "bpcourse"
    shutil.copytree(ROOT, copy, ignore=SKIP)
    (copy / ".venv").symlink_to(STUDENT_VENV)
    (copy / ".venv-dev").symlink_to(Path(sys.prefix))
    os.utime(copy / "pyproject.toml", (0, 0))
    return copy


def environment(home):
    """The user's environment, with Jupyter's own folders and HOME fresh: a ~/.bashrc that puts a
    wrong `python` first on PATH, as pyenv or conda's set-up lines do."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "BPCOURSE_PROGRESS")}
    env["PATH"] = os.pathsep.join(d for d in env["PATH"].split(os.pathsep)       # no test tools on PATH
                                  if not (Path(d) / "nbgrader").exists() and not (Path(d) / "alembic").exists())
    for var in ("JUPYTER_CONFIG_DIR", "JUPYTER_RUNTIME_DIR", "JUPYTER_DATA_DIR", "JUPYTERLAB_SETTINGS_DIR",
                "JUPYTERLAB_WORKSPACES_DIR", "IPYTHONDIR", "MPLCONFIGDIR"):
        env[var] = str(home / var.lower())
    wrong = home / "wrong-bin"
    wrong.mkdir(parents=True, exist_ok=True)
    (wrong / "python").write_text("#!/bin/sh\necho 'not the course environment' >&2\nexit 3\n")
    (wrong / "python").chmod(0o755)
    (home / ".bashrc").write_text(f'export PATH="{wrong}:$PATH"\n')
    env.update(HOME=str(home), BROWSER="true", JUPYTER_TOKEN=secrets.token_hex(16))
    return env


def make(target, checkout, env, *args):
    return subprocess.run(["make", target, *args], cwd=checkout, env=env, capture_output=True, text=True,
                          timeout=600)


class Served:
    """A blocking `make` target that starts JupyterLab: started in its own session, stopped by its id."""

    def __init__(self, target, checkout, env):
        self.env, self.log = env, Path(env["HOME"]) / f"make-{target}.log"
        self.proc = subprocess.Popen(["make", target], cwd=checkout, env=env, stdout=open(self.log, "wb"),
                                     stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + 300
        while not (found := re.search(r"http://(?:127\.0\.0\.1|localhost):(\d+)/", self.text())):
            assert self.proc.poll() is None, f"`make {target}` stopped:\n{self.text()}"
            assert time.monotonic() < deadline, f"`make {target}` served nothing in 300 s:\n{self.text()}"
            time.sleep(0.5)
        self.url = f"http://127.0.0.1:{found.group(1)}"

    def text(self):
        return self.log.read_text(errors="replace")

    def api(self, method, path):
        request = urllib.request.Request(self.url + path, method=method,
                                         headers={"Authorization": f"token {self.env['JUPYTER_TOKEN']}"})
        with urllib.request.urlopen(request, timeout=30) as response:
            body = response.read()
        return json.loads(body) if body else None

    def files(self):
        return {item["name"] for item in self.api("GET", "/api/contents")["content"]}

    def terminal(self, commands, until, timeout=120):
        """Type ``commands`` into a new JupyterLab terminal; return what it shows once ``until`` appears."""
        from tornado.websocket import websocket_connect
        name = self.api("POST", "/api/terminals")["name"]
        url = self.url.replace("http", "ws") + f"/terminals/websocket/{name}?token={self.env['JUPYTER_TOKEN']}"

        async def talk():
            ws = await websocket_connect(url)
            shown = ""
            for command in commands:
                ws.write_message(json.dumps(["stdin", command + "\r"]))
            deadline = time.monotonic() + timeout
            while until not in shown and time.monotonic() < deadline:
                try:
                    message = await asyncio.wait_for(ws.read_message(), timeout=max(0.1, deadline - time.monotonic()))
                except asyncio.TimeoutError:
                    break
                if message is None:
                    break
                kind, *data = json.loads(message)
                if kind == "stdout":
                    shown += data[0]
            ws.close()
            return shown

        try:                                     # in a thread of its own: the session may hold an event loop
            with concurrent.futures.ThreadPoolExecutor(1) as pool:
                return pool.submit(lambda: asyncio.run(talk())).result()
        finally:
            self.api("DELETE", f"/api/terminals/{name}")

    def stop(self):
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)      # our own session: make and its JupyterLab
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(10)


def test_make_lab_opens_the_workspace_and_its_terminal_runs_the_readme_command(checkout, tmp_path):
    env = environment(tmp_path / "home")
    lab = Served("lab", checkout, env)
    try:
        lessons = {p.name for p in (checkout / "notebooks").glob(student_form.LESSON_GLOB)}
        assert lessons <= lab.files() and "notebooks" not in lab.files()      # the workspace, not the solutions
        (checkout / "workspace" / "03_loss_functions.ipynb").write_text(
            (checkout / "workspace" / "03_loss_functions.ipynb").read_text() + " ")
        (command,) = block("terminal")
        shown = lab.terminal(["which python", command], until="Restart Kernel")
        assert "not the course environment" not in shown, shown
        assert f"{STUDENT_VENV}/bin/python" in shown or f"{checkout}/.venv/bin/python" in shown, shown
        assert "03_loss_functions.ipynb: fresh; your copy is now" in shown, shown
    finally:
        lab.stop()
    assert len(list((checkout / "workspace").glob("03_loss_functions.backup-*.ipynb"))) == 1


def test_the_readme_make_commands(checkout, tmp_path):
    env = environment(tmp_path / "home")
    assert make("workspace", checkout, env).returncode == 0
    lessons = sorted(p.stem for p in (checkout / "notebooks").glob(student_form.LESSON_GLOB))
    backups = lambda: len(list((checkout / "workspace").glob("*.backup-*.ipynb")))   # noqa: E731
    for command in block("make"):
        target, *args = command.split()[1:]
        if target == "solutions":                  # JupyterLab on the source notebooks, with solutions
            served = Served("solutions", checkout, env)
            try:
                assert {f"{name}.ipynb" for name in lessons} <= served.files()
            finally:
                served.stop()
            continue
        for name in lessons:                       # the student's own changes, to be backed up
            path = checkout / "workspace" / f"{name}.ipynb"
            path.write_text(path.read_text() + " ")
        before = backups()
        done = make(target, checkout, env, *args)
        assert done.returncode == 0, done.stdout + done.stderr
        assert "Restart Kernel" in done.stdout
        assert backups() - before == (len(lessons) if args == ["LESSON=all"] else 1)
    done = make("reset", checkout, env)
    assert done.returncode == 2 and "say which lesson: make reset LESSON=03" in done.stdout


def test_the_nbgrader_paragraph_works_as_written(checkout, tmp_path):
    pytest.importorskip("nbgrader")
    env = environment(tmp_path / "home")
    commands = block("nbgrader")
    assert commands[0] == 'export PATH="$PWD/.venv-dev/bin:$PATH"'
    shutil.rmtree(checkout / "course", ignore_errors=True)
    without_path = "\n".join(commands[1:]).replace("nbgrader ", f"{checkout}/.venv-dev/bin/nbgrader ")
    failed = subprocess.run(["bash", "-e", "-c", without_path], cwd=checkout, env=env, capture_output=True,
                            text=True, timeout=300)
    assert failed.returncode != 0 and "alembic" in failed.stdout + failed.stderr   # why the PATH line is there
    shutil.rmtree(checkout / "course")
    done = subprocess.run(["bash", "-e", "-c", "\n".join(commands)], cwd=checkout, env=env,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    released = checkout / "course" / "release" / "week1"
    assert (released / ".bpcourse-release").exists()
    theirs = json.loads((released / "02_forward_backward.ipynb").read_text())
    mine = student_form.student_version(student_form.read(checkout / "notebooks" / "02_forward_backward.ipynb"))
    assert [student_form.source(c) for c in theirs["cells"]] == [student_form.source(c) for c in mine["cells"]]
    assert "### BEGIN SOLUTION" not in json.dumps(theirs)


def test_the_conda_route_opens_the_workspace():
    create, open_ = block("conda")
    assert create == "conda env create -f environment.yml && conda activate bpcourse"
    assert open_ == "python -m bpcourse workspace --dir workspace && jupyter lab workspace/"
