"""The JupyterHub recipe (deploy/jupyterhub/, README "On a JupyterHub") on a real JupyterHub.

As on The Littlest JupyterHub: each hub user is a system user whose server runs as that user, in
their home, in one users' environment. Here: JupyterHub (pip) with configurable-http-proxy (npm),
both made by `make test-hub` in /tmp/bpcourse-hub-… (whose environment is also the users' one), the
dummy authenticator, the local process spawner, and four system users made for the test and
removed after it: three students and an instructor. `install.sh` sets the hub up as the README
says, with TLJH's places moved into a temporary folder (/etc/jupyter's part is read through
JUPYTER_CONFIG_PATH). Then:

- each student logs in through the login form; their server opens JupyterLab on their own
  workspace, which holds every lesson in its student form and belongs to them;
- a notebook a student changed is kept when their server starts again;
- the instructor releases an assignment through nbgrader's exchange, each student fetches and
  submits it through their server (what JupyterLab's Assignments tab does), the instructor
  collects, and `python -m bpcourse grade` scores a solved exercise full and a stub zero.

It needs root (it makes system users) and no network: pip runs with PIP_NO_INDEX.
"""
import csv
import json
import os
import pwd
import re
import secrets
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat
import pytest
import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from readme_blocks import block  # noqa: E402

from bpcourse.instructor import student_form  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
WORKSPACE = "bpcourse-workspace"                 # as in deploy/jupyterhub/bpcourse_hub.py
STUDENTS = ["bpct-alice", "bpct-bob", "bpct-carol"]
INSTRUCTOR = "bpct-teacher"
PASSWORD = secrets.token_hex(8)
TOKEN = secrets.token_hex(16)
SKIP = shutil.ignore_patterns(".git", ".venv*", "workspace", "release", "dist", "build", "*.egg-info",
                              "__pycache__", ".ipynb_checkpoints", ".hypothesis")
ASSIGNMENT = '[lessons.00_welcome]\nexercises = ["ex00_sigmoid"]\n'


def tool(variable):
    path = os.environ.get(variable)
    assert path and Path(path).exists(), f"{variable} is not set to what `make test-hub` installs: run `make test-hub`"
    return Path(path)


def run(command, **kwargs):
    done = subprocess.run([str(c) for c in command], capture_output=True, text=True, **kwargs)
    assert done.returncode == 0, f"{' '.join(map(str, command))} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done.stdout


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def remove_user(name):
    """End what the test started as NAME (by process id), then remove NAME and its home."""
    if subprocess.run(["id", name], capture_output=True).returncode:
        return
    pids = subprocess.run(["ps", "-o", "pid=", "-u", name], capture_output=True, text=True).stdout.split()
    for pid in pids:
        try:
            os.kill(int(pid), signal.SIGKILL)
        except ProcessLookupError:
            pass
    subprocess.run(["userdel", "--remove", name], capture_output=True)


def wheel_of_this_checkout(base):
    """The course's wheel, as `make wheel` builds it, from a copy of this checkout."""
    shutil.copytree(ROOT, base / "repo", ignore=SKIP)
    hook = "import sys, setuptools.build_meta as b; print(b.build_wheel(sys.argv[1]))"
    return base / run([sys.executable, "-c", hook, base], cwd=base / "repo").split()[-1]


class Hub:
    """A running JupyterHub: its address, an admin API, and what its processes printed."""

    def __init__(self, base, python, proxy, places):
        self.base, self.places = base, places
        self.url = f"http://127.0.0.1:{free_port()}"
        folder = base / "hub"
        folder.mkdir()
        (folder / "jupyterhub_config.py").write_text(f"""
c = get_config()
c.JupyterHub.bind_url = {self.url!r}
c.JupyterHub.hub_bind_url = "http://127.0.0.1:{free_port()}"
c.ConfigurableHTTPProxy.command = [{str(proxy)!r}]
c.ConfigurableHTTPProxy.api_url = "http://127.0.0.1:{free_port()}"
c.JupyterHub.authenticator_class = "dummy"
c.DummyAuthenticator.password = {PASSWORD!r}
c.Authenticator.allowed_users = {set(STUDENTS) | {INSTRUCTOR}!r}
c.Authenticator.admin_users = {{{INSTRUCTOR!r}}}
c.JupyterHub.spawner_class = "localprocess"
c.JupyterHub.services = [{{"name": "bpcourse-test", "api_token": {TOKEN!r}}}]
c.JupyterHub.load_roles = [{{"name": "admin", "services": ["bpcourse-test"]}}]
# /etc/jupyter of the recipe lives in the test's folder: every user's server reads it from there.
c.Spawner.environment = {{"JUPYTER_CONFIG_PATH": {str(places["JUPYTER_ETC"])!r}}}
load_subconfig({str(places["HUB_CONFIG_D"] / "bpcourse_hub.py")!r})
""")
        env = {**os.environ, "PATH": f"{python.parent}{os.pathsep}{os.environ['PATH']}"}
        env.pop("JUPYTER_CONFIG_PATH", None)
        self.log = base / "hub.log"
        with open(self.log, "w") as out:
            self.process = subprocess.Popen([python.parent / "jupyterhub", "-f", "jupyterhub_config.py"],
                                            cwd=folder, env=env, stdout=out, stderr=subprocess.STDOUT,
                                            start_new_session=True)
        self.api = requests.Session()
        self.api.headers["Authorization"] = f"token {TOKEN}"
        self.wait(lambda: self.api.get(f"{self.url}/hub/api/").ok, "the hub to answer")

    def wait(self, ready, what, seconds=120):
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            assert self.process.poll() is None, f"the hub exited while waiting for {what}:\n{self.output()[-6000:]}"
            try:
                if ready():
                    return
            except requests.ConnectionError:
                pass
            time.sleep(0.5)
        raise AssertionError(f"gave up waiting for {what} after {seconds} s:\n{self.output()[-6000:]}")

    def output(self):
        """What the hub, the proxy and the users' servers printed, without the test's API polling."""
        return "".join(line for line in self.log.read_text().splitlines(keepends=True)
                       if "(bpcourse-test@" not in line)

    def server(self, name):
        return self.api.get(f"{self.url}/hub/api/users/{name}").json()["servers"].get("")

    def wait_ready(self, name):
        self.wait(lambda: (self.server(name) or {}).get("ready"), f"{name}'s server")

    def restart(self, name):
        """Stop NAME's server and start it again, as the admin panel does."""
        self.api.delete(f"{self.url}/hub/api/users/{name}/server").raise_for_status()
        self.wait(lambda: self.server(name) is None, f"{name}'s server to stop")
        self.api.post(f"{self.url}/hub/api/users/{name}/server").raise_for_status()
        self.wait_ready(name)

    def stop(self):
        self.process.send_signal(signal.SIGTERM)            # the hub stops the servers and the proxy
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)


class Browser:
    """A user's browser session: logged in through the hub's login form."""

    def __init__(self, hub, name):
        self.hub, self.name = hub, name
        self.session = requests.Session()
        form = self.session.get(f"{hub.url}/hub/login")
        xsrf = re.search(r'name="_xsrf" value="([^"]+)"', form.text).group(1)
        answer = self.session.post(f"{hub.url}/hub/login", data={"username": name, "password": PASSWORD,
                                                                   "_xsrf": xsrf})
        assert answer.ok and "/hub/login" not in answer.url, f"{name} could not log in: {answer.url}"
        hub.wait_ready(name)

    def open(self, path=""):
        return self.session.get(f"{self.hub.url}/user/{self.name}/{path}")

    def send(self, method, path, **kwargs):
        """POST or PUT to the user's server, with the XSRF token JupyterLab sends."""
        xsrf = next(c.value for c in self.session.cookies if c.name == "_xsrf" and c.path.startswith("/user/"))
        return self.session.request(method, f"{self.hub.url}/user/{self.name}/{path}",
                                    headers={"X-XSRFToken": xsrf}, **kwargs)

    def post(self, path, **kwargs):
        return self.send("POST", path, **kwargs)

    def put(self, path, **kwargs):
        return self.send("PUT", path, **kwargs)


@pytest.fixture(scope="module")
def hub():
    assert os.geteuid() == 0, "the hub test makes system users, as TLJH does: run `make test-hub` as root"
    python, proxy = tool("BPCOURSE_HUB_PYTHON"), tool("BPCOURSE_HUB_PROXY")
    base = Path(tempfile.mkdtemp(prefix="bpcourse-hub-"))
    base.chmod(0o755)                                   # the users reach their homes through it
    places = {"USER_ENV": python.parent.parent, "HUB_CONFIG_D": base / "hub_config.d",
              "JUPYTER_ETC": base / "etc-jupyter", "EXCHANGE": base / "exchange"}
    running = None
    try:
        for name in [*STUDENTS, INSTRUCTOR]:
            remove_user(name)                           # left by an interrupted run
            run(["useradd", "--create-home", "--home-dir", base / "home" / name, "--shell", "/bin/bash", name])
        usable = subprocess.run([python, "-c", "pass"], user=STUDENTS[0], capture_output=True)
        assert usable.returncode == 0, (f"{python} cannot be run by the hub's users (is it in root's home?); "
                                        f"`make test-hub` makes it from HUB_PYTHON=/usr/bin/python3")
        wheel = wheel_of_this_checkout(base)
        make_wheel, install, reload = block("jupyterhub")         # the README's commands
        assert make_wheel == "make wheel" and reload == "sudo tljh-config reload hub"  # TLJH's: here the hub starts
        sudo, script, named = shlex.split(install)
        assert sudo == "sudo" and named == f"dist/{wheel.name}", f"the README names another wheel than {wheel.name}"
        said = run([ROOT / script, wheel],
                   env={**os.environ, **{k: str(v) for k, v in places.items()}, "PIP_NO_INDEX": "1"})
        assert "Done." in said
        running = Hub(base, python, proxy, places)
        yield running
    finally:
        if running:
            running.stop()
        for name in [*STUDENTS, INSTRUCTOR]:
            remove_user(name)
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="module")
def browsers(hub):
    return {name: Browser(hub, name) for name in STUDENTS}


INSTRUCTOR_UI = {"@jupyter/nbgrader:formgrader", "@jupyter/nbgrader:course-list", "@jupyter/nbgrader:create-assignment"}


def switched_on(names):
    """The names JupyterLab's page config lists as set (a list, or a {name: bool} dict)."""
    return {n for n in names if not isinstance(names, dict) or names[n]}


def home(name):
    return Path(pwd.getpwnam(name).pw_dir)


def test_each_student_logs_in_to_their_own_workspace_with_every_lesson_in_student_form(hub, browsers):
    fresh = student_form.lesson_files(ROOT / "notebooks")
    lessons = sorted(n for n in fresh if n.endswith(".ipynb"))
    for name, browser in browsers.items():
        lab = browser.open()
        assert lab.ok and lab.url.endswith(f"/user/{name}/lab/tree/{WORKSPACE}"), (lab.status_code, lab.url)
        config = json.loads(re.search(r'<script id="jupyter-config-data" type="application/json">(.*?)</script>',
                                      lab.text, re.S).group(1))
        assert INSTRUCTOR_UI <= switched_on(config["disabledExtensions"]) & switched_on(config["lockedExtensions"])
        assert browser.open("formgrader").status_code == 404
        listing = browser.open(f"api/contents/{WORKSPACE}").json()
        assert sorted(f["name"] for f in listing["content"] if f["type"] == "notebook") == lessons
        workspace = home(name) / WORKSPACE
        for lesson in lessons:
            assert (workspace / lesson).read_bytes() == fresh[lesson], f"{name}'s {lesson} is not the student form"
            assert (workspace / lesson).stat().st_uid == pwd.getpwnam(name).pw_uid, "not made by the student"
    log = hub.output()
    assert log.count("00_welcome.ipynb: added") >= len(STUDENTS), log


def test_a_notebook_the_student_changed_is_kept_when_their_server_starts_again(hub, browsers):
    name, browser = STUDENTS[0], browsers[STUDENTS[0]]
    path = f"api/contents/{WORKSPACE}/01_chain_rule.ipynb"
    model = browser.open(path).json()
    model["content"]["cells"].append(nbformat.v4.new_markdown_cell("My own note on the chain rule."))
    assert browser.put(path, json={"type": "notebook", "content": model["content"]}).ok
    hub.restart(name)
    assert browser.open().url.endswith(f"/lab/tree/{WORKSPACE}")   # JupyterLab reopened: logs in to the new server
    cells = browser.open(path).json()["content"]["cells"]
    assert cells[-1]["source"] == "My own note on the chain rule."
    assert "01_chain_rule.ipynb: kept: you changed it" in hub.output()


def test_the_instructor_releases_collects_and_grades_through_nbgraders_exchange(hub, browsers):
    """The README's grading block, run as written by the instructor in their home."""
    teacher = home(INSTRUCTOR)
    env = {"HOME": str(teacher), "USER": INSTRUCTOR, "LANG": "C.UTF-8",
           "PATH": f"{tool('BPCOURSE_HUB_PYTHON').parent}:/usr/bin:/bin",
           "JUPYTER_CONFIG_PATH": str(hub.places["JUPYTER_ETC"])}

    def instructor(line):
        """One line of the block: `(cd DIR && COMMAND)` or `COMMAND`, from the instructor's home."""
        folder, command = teacher, line
        if line.startswith("(cd "):
            cd, command = line.strip("()").split(" && ")
            folder = teacher / cd.split()[1]
        return run(shlex.split(command), cwd=folder, env=env, user=INSTRUCTOR, group=INSTRUCTOR, extra_groups=[])

    shutil.copytree(ROOT / "notebooks", teacher / "bpcourse" / "notebooks")   # their clone of the repository
    (teacher / "week1.toml").write_text(ASSIGNMENT)
    release, release_assignment, collect, grade = block("jupyterhub-grading")
    instructor(release)
    instructor(release_assignment)

    source = student_form.read(ROOT / "notebooks" / "00_welcome.ipynb")
    solution = next(c["source"] for c in source["cells"] if c["metadata"].get("nbgrader", {}).get("grade_id") == "ex00_sigmoid")
    for name, browser in browsers.items():                  # what the Assignments tab does
        fetched = browser.post("assignments/fetch", data={"course_id": "bpcourse", "assignment_id": "week1"})
        assert fetched.ok, fetched.text
        path = "api/contents/week1/00_welcome.ipynb"
        model = browser.open(path).json()
        assert model["type"] == "notebook", model
        if name == STUDENTS[0]:                          # alice solves the exercise; the others hand in the stub
            (cell,) = [c for c in model["content"]["cells"]
                       if c["metadata"].get("nbgrader", {}).get("grade_id") == "ex00_sigmoid"]
            assert "raise NotImplementedError" in cell["source"]
            cell["source"] = solution
            assert browser.put(path, json={"type": "notebook", "content": model["content"]}).ok
        submitted = browser.post("assignments/submit", data={"course_id": "bpcourse", "assignment_id": "week1"})
        assert submitted.ok and '"success": false' not in submitted.text, submitted.text

    instructor(collect)
    assert sorted(p.name for p in (teacher / "course" / "submitted").iterdir()) == sorted(STUDENTS)
    instructor(grade)
    with open(teacher / "grades" / "week1" / "grades.csv") as f:
        rows = list(csv.DictReader(f))
    points = {(r["student"], r["exercise"]): float(r["points"]) for r in rows}
    assert points == {("bpct-alice", "ex00_sigmoid"): 2.0, ("bpct-bob", "ex00_sigmoid"): 0.0,
                      ("bpct-carol", "ex00_sigmoid"): 0.0}, rows
