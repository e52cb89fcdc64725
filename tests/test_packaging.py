"""The set-up a newcomer relies on: dependencies, conda file, licence, README, Makefile, CI script."""
import re
import sys
from pathlib import Path

import pytest
import yaml

if sys.version_info >= (3, 11):
    import tomllib
else:
    import tomli as tomllib

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())


def names(requirements):
    return {re.split(r"[<>=;\[ ]", r, maxsplit=1)[0].strip().lower() for r in requirements}


STUDENT = {"numpy", "matplotlib", "ipywidgets", "jupyterlab", "scikit-learn", "threadpoolctl", "tqdm"}
TEST_AND_INSTRUCTOR_TOOLS = {"pytest", "nbval", "nbgrader", "playwright", "hypothesis", "nbclient"}


def test_a_student_installs_the_course_not_the_test_bench():
    deps = names(PYPROJECT["project"]["dependencies"])
    assert deps == STUDENT and not deps & TEST_AND_INSTRUCTOR_TOOLS
    extras = PYPROJECT["project"]["optional-dependencies"]
    assert {"pytest", "nbval", "playwright"} <= names(extras["dev"])
    assert "nbgrader" in names(extras["instructor"]) and "bpcourse" in names(extras["dev"])   # dev ⊇ instructor


def test_the_set_up_cell_installs_what_a_kernel_needs():
    """A lesson's first cell (Colab, VS Code) installs the dependencies but JupyterLab."""
    from bpcourse.instructor.student_form import KERNEL_REQUIREMENTS
    wanted = [r for r in PYPROJECT["project"]["dependencies"] if not r.startswith("jupyterlab")]
    assert KERNEL_REQUIREMENTS == wanted


def test_environment_yml_is_the_students_install_on_a_tested_python():
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    assert "conda-forge" in env["channels"]
    deps = env["dependencies"]
    python = next(d for d in deps if isinstance(d, str) and d.startswith("python"))
    pinned = tuple(int(n) for n in python.split("=")[-1].split("."))
    minimum = tuple(int(n) for n in PYPROJECT["project"]["requires-python"].strip(">=").split("."))
    assert python.startswith("python=") and len(pinned) == 2 and pinned >= minimum
    assert pinned == sys.version_info[:2], "pin the Python this suite runs on (the one CI tests)"
    pip = next(d["pip"] for d in deps if isinstance(d, dict))
    assert pip == ["-e ."]               # the package and its dependencies from pyproject.toml: no extras
    conda_only = [d for d in deps if isinstance(d, str) and not d.startswith(("python", "pip"))]
    assert conda_only == []              # nothing pinned twice, so nothing can drift


def test_the_licence_file_is_the_one_pyproject_declares():
    assert PYPROJECT["project"]["license"] == "MIT"
    assert PYPROJECT["project"]["license-files"] == ["LICENSE"]
    text = (ROOT / "LICENSE").read_text()
    assert text.startswith("MIT License\n") and "Permission is hereby granted, free of charge" in text


def test_readme_opens_with_the_two_commands():
    readme = (ROOT / "README.md").read_text()
    first_block = re.search(r"```(?:sh|bash|console)?\n(.*?)```", readme, re.S).group(1)
    commands = [line.split("#")[0].strip() for line in first_block.splitlines()]
    assert [c for c in commands if c] == ["make lab", "make test"]
    assert readme.index("make lab") < readme.index("##")


def test_makefile_targets_and_ci_script():
    makefile = (ROOT / "Makefile").read_text()
    for target in ("lab:", "test:", "reset:", "workspace:", "wheel:"):
        assert re.search(rf"^{target}", makefile, re.M)
    student = re.search(r"^\$\(STAMP\):.*?(?=^\S)", makefile, re.M | re.S).group(0)
    assert "pip install --quiet -e .\n" in student and "[dev]" not in student and "[instructor]" not in student
    ci = (ROOT / ".ci" / "run").read_text()
    assert "make test" in ci and "set -e" in ci


@pytest.mark.parametrize("path", sorted((ROOT / "bpcourse").rglob("*.py")), ids=lambda p: p.name)
def test_every_module_has_a_docstring(path):
    source = path.read_text()
    assert source.lstrip().startswith(('"""', "'''")), f"{path.name} should open with a docstring"


def test_every_subpackage_is_packaged():
    # What setuptools' package discovery does with [tool.setuptools.packages.find]: regular
    # packages (with __init__.py) whose dotted name matches an include pattern.
    from fnmatch import fnmatch
    include = PYPROJECT["tool"]["setuptools"]["packages"]["find"]["include"]
    folders = {p.parent for p in (ROOT / "bpcourse").rglob("*.py") if "__pycache__" not in p.parts}
    for folder in folders:
        dotted = ".".join(folder.relative_to(ROOT).parts)
        assert (folder / "__init__.py").exists(), f"{dotted} has no __init__.py: it would not be packaged"
        assert any(fnmatch(dotted, pattern) for pattern in include), f"{dotted} is not included"
