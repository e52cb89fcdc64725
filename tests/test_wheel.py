"""The course as a wheel, away from the repository: the sdist holds what the wheel is built
from (and no tests), the wheel holds every lesson in its student form, and in a fresh virtual
environment

- a lesson released for Google Colab, opened in a kernel that has nothing but ipykernel,
  installs the course in its first cell and runs to the end (the Colab and VS Code route);
- `pip install <wheel>` then `bpcourse workspace` gives every lesson; a lesson runs there to
  the end with stubs, its progress log stays in the workspace, and the last hint rung says
  where the solutions are.

Building and installing cost about two minutes (pip resolves the dependencies as a student's
pip would).
"""
import json
import os
import shlex
import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import nbformat
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from readme_blocks import block  # noqa: E402

from bpcourse.exercises.core import EXERCISES  # noqa: E402
from bpcourse.instructor import student_form  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
LESSONS = sorted(p.name for p in (ROOT / "notebooks").glob(student_form.LESSON_GLOB))
SKIP = shutil.ignore_patterns(".git", ".venv*", "workspace", "release", "dist", "build", "*.egg-info",
                              "__pycache__", ".ipynb_checkpoints", ".hypothesis")


def run(command, **kwargs):
    done = subprocess.run([str(c) for c in command], capture_output=True, text=True, **kwargs)
    assert done.returncode == 0, f"{' '.join(map(str, command))} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done.stdout


@pytest.fixture(scope="module")
def dist(tmp_path_factory):
    """(sdist, wheel): the sdist built from a copy of the repository, the wheel from the sdist."""
    base = tmp_path_factory.mktemp("dist")
    shutil.copytree(ROOT, base / "repo", ignore=SKIP)
    hook = "import sys, setuptools.build_meta as b; print(getattr(b, sys.argv[1])(sys.argv[2]))"
    sdist = base / run([sys.executable, "-c", hook, "build_sdist", base], cwd=base / "repo").split()[-1]
    with tarfile.open(sdist) as tar:
        tar.extractall(base / "unpacked", filter="data")
    (unpacked,) = (base / "unpacked").iterdir()
    wheel = base / run([sys.executable, "-c", hook, "build_wheel", base], cwd=unpacked).split()[-1]
    return sdist, wheel


def test_the_sdist_holds_what_the_wheel_is_built_from_and_no_tests(dist):
    sdist, _ = dist
    with tarfile.open(sdist) as tar:
        names = {"/".join(n.split("/")[1:]) for n in tar.getnames()}
    assert {"setup.py", "pyproject.toml", "LICENSE", "README.md", "bpcourse/instructor/student_form.py"} <= names
    assert {f"notebooks/{name}" for name in LESSONS} <= names
    assert not [n for n in names if n.startswith("tests/") or n == "conftest.py"]


def test_the_wheel_holds_every_lesson_in_its_student_form(dist):
    _, wheel = dist
    with zipfile.ZipFile(wheel) as whl:
        names = set(whl.namelist())
        assert {f"bpcourse/lessons/{name}" for name in LESSONS} <= names
        assert not [n for n in names if n.startswith(("notebooks/", "tests/"))]
        data = {p.relative_to(ROOT).as_posix() for p in (ROOT / "bpcourse").rglob("*")
                if p.is_file() and p.suffix not in (".py", ".pyc") and "__pycache__" not in p.parts}
        assert data <= names, f"package data missing from the wheel: {sorted(data - names)}"
        metadata = whl.read(next(n for n in names if n.endswith(".dist-info/METADATA"))).decode()
        for name in LESSONS:
            shipped = whl.read(f"bpcourse/lessons/{name}")
            assert b"### BEGIN SOLUTION" not in shipped and b"BEGIN HIDDEN TESTS" not in shipped
            assert shipped == student_form.dumps(
                student_form.workspace_version(student_form.read(ROOT / "notebooks" / name))).encode()
    assert "License-Expression: MIT" in metadata and "License-File: LICENSE" in metadata
    assert "Requires-Dist: nbgrader" not in metadata.split("Provides-Extra")[0]


@pytest.fixture(scope="module")
def fresh(tmp_path_factory):
    """A fresh virtual environment away from the repository, with only a Jupyter kernel in it,
    registered as the kernel `bpcourse-fresh`."""
    base = tmp_path_factory.mktemp("fresh")
    venv = base / "venv"
    run([getattr(sys, "_base_executable", sys.executable), "-m", "venv", venv], cwd=base)
    python = venv / "bin" / "python"
    run([python, "-m", "pip", "install", "--quiet", "--no-compile", "ipykernel"], cwd=base)
    run([python, "-m", "ipykernel", "install", "--prefix", venv, "--name", "bpcourse-fresh"], cwd=base)
    assert subprocess.run([python, "-c", "import bpcourse"], cwd=base, capture_output=True).returncode == 1
    return venv


def execute(path, venv, env):
    """Run every cell of a notebook in the fresh kernel, in the notebook's folder; the first error raises."""
    from nbclient import NotebookClient
    nb = nbformat.read(path, as_version=4)
    old = dict(os.environ)
    os.environ.clear()
    os.environ.update(env, JUPYTER_PATH=str(venv / "share" / "jupyter"))
    try:
        NotebookClient(nb, timeout=600, kernel_name="bpcourse-fresh",
                       resources={"metadata": {"path": str(path.parent)}}).execute()
    finally:
        os.environ.clear()
        os.environ.update(old)
    return nb


def clean_env(tmp_path):
    """An environment without this repository on any path, with its own HOME."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "BPCOURSE_PROGRESS", "VIRTUAL_ENV")}
    env.update(HOME=str(tmp_path / "home"), PIP_NO_COMPILE="1")
    (tmp_path / "home").mkdir(exist_ok=True)
    return env


def test_colab_a_released_lesson_installs_the_course_in_its_first_cell(dist, fresh, tmp_path):
    """The README's Colab release, with the wheel as the package its first cell installs."""
    _, wheel = dist
    (command,) = block("colab")
    argv = shlex.split(command)
    assert argv[:3] == ["python", "-m", "bpcourse"] and "--practice" in argv
    argv[argv.index("--pip-spec") + 1] = str(wheel)
    run([sys.executable, *argv[1:]], cwd=tmp_path)
    out = tmp_path / argv[argv.index("--out") + 1]
    nb = execute(out / "00_welcome.ipynb", fresh, clean_env(tmp_path))
    setup = next(c for c in nb.cells if c.get("id") == student_form.SETUP_CELL_ID)
    assert "bpcourse is now installed in this kernel." in "".join(o.get("text", "") for o in setup.outputs)
    checks = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade")]
    assert checks and all("not attempted" in c.outputs[0].text for c in checks)
    assert all(c.execution_count for c in nb.cells if c.cell_type == "code")
    where = run([fresh / "bin" / "python", "-c", "import bpcourse; print(bpcourse.__file__)"], cwd=tmp_path)
    assert where.startswith(str(fresh))


def test_pip_install_the_wheel_then_one_command_gives_a_workspace(dist, fresh, tmp_path):
    """The README's wheel block, in the fresh environment (made with a kernel in it)."""
    _, wheel = dist
    env = clean_env(tmp_path)
    make_venv, install, workspace_command, open_lab = block("wheel")
    assert make_venv == "python3 -m venv bpcourse-env"
    assert install.endswith(" " + wheel.name), f"the README names another wheel than {wheel.name}"
    as_here = lambda line: shlex.split(line.replace("bpcourse-env/", f"{fresh}/").replace(wheel.name, str(wheel)))  # noqa: E731
    run([*as_here(install), "--quiet"], cwd=tmp_path, env=env)
    size = sum(f.stat().st_size for f in fresh.rglob("*") if f.is_file() and not f.is_symlink())
    assert size < 650e6, f"the student's environment takes {size / 1e6:.0f} MB: more than the 650 MB allowed"
    said = run(as_here(workspace_command), cwd=tmp_path, env=env)             # the one command
    jupyter, lab, folder = as_here(open_lab)
    assert Path(jupyter).exists() and lab == "lab"
    bin_, workspace = fresh / "bin", tmp_path / folder
    assert f"workspace {folder}:" in said and f"jupyter lab {folder}" in said
    assert sorted(p.name for p in workspace.glob(student_form.LESSON_GLOB)) == LESSONS
    for name in LESSONS:
        assert "### BEGIN SOLUTION" not in (workspace / name).read_text()
    assert "nbgrader" not in run([bin_ / "python", "-m", "pip", "list"], cwd=tmp_path, env=env)

    nb = execute(workspace / "00_welcome.ipynb", fresh, env)                  # Run All, stubs and all
    assert all(c.execution_count for c in nb.cells if c.cell_type == "code")
    site = Path(run([bin_ / "python", "-c", "import bpcourse; print(bpcourse.__file__)"], cwd=tmp_path, env=env)).parent
    assert site.parent.name == "site-packages" and not (site.parent / "workspace").exists()
    log = [json.loads(line) for line in (workspace / "progress.jsonl").read_text().splitlines()]
    stubs = [e for e in EXERCISES.values() if e.lesson == "00_welcome"]          # one check per exercise
    assert len(stubs) >= 2
    assert [e["status"] for e in log if e["kind"] == "check"] == ["not attempted"] * len(stubs)

    last_rung = run([bin_ / "python", "-c", "import bpcourse as bp\nfor _ in range(9): bp.exercises.hint('sigmoid')"],
                    cwd=workspace, env=env).rsplit("Reference solution", 1)[-1]
    assert "not part of this release" in last_rung and "notebooks/00_welcome.ipynb" in last_rung

    (workspace / "01_chain_rule.ipynb").write_text((workspace / "01_chain_rule.ipynb").read_text() + " ")
    said = run([bin_ / "bpcourse", "reset", "01"], cwd=workspace, env=env)  # in the workspace, as in its terminal
    assert "01_chain_rule.ipynb: fresh; your copy is now" in said and "Restart Kernel" in said
