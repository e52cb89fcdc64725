"""The set-up a newcomer relies on: dependencies, conda file, README, Makefile, CI script."""
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


def test_core_dependencies_are_declared():
    assert {"numpy", "matplotlib", "ipywidgets", "jupyterlab", "scikit-learn", "threadpoolctl", "tqdm"} <= names(
        PYPROJECT["project"]["dependencies"])
    extras = PYPROJECT["project"]["optional-dependencies"]
    assert {"pytest", "nbval"} <= names(extras["dev"])
    assert "nbgrader" in names(extras["instructor"]) and "bpcourse" in names(extras["dev"])   # dev ⊇ instructor


def test_environment_yml_installs_this_package_with_the_same_dependencies():
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    assert "conda-forge" in env["channels"]
    deps = env["dependencies"]
    python = next(d for d in deps if isinstance(d, str) and d.startswith("python"))
    assert python.replace("python", "").strip(">=") == PYPROJECT["project"]["requires-python"].strip(">=")
    pip = next(d["pip"] for d in deps if isinstance(d, dict))
    assert pip == ["-e .[dev]"]          # the pip section takes every dependency from pyproject.toml
    conda_only = [d for d in deps if isinstance(d, str) and not d.startswith(("python", "pip"))]
    assert conda_only == []              # nothing pinned twice, so nothing can drift


def test_readme_opens_with_the_two_commands():
    readme = (ROOT / "README.md").read_text()
    first_block = re.search(r"```(?:sh|bash|console)?\n(.*?)```", readme, re.S).group(1)
    commands = [line.split("#")[0].strip() for line in first_block.splitlines()]
    assert [c for c in commands if c] == ["make lab", "make test"]
    assert readme.index("make lab") < readme.index("##")


def test_makefile_targets_and_ci_script():
    makefile = (ROOT / "Makefile").read_text()
    for target in ("lab:", "test:"):
        assert re.search(rf"^{target}", makefile, re.M)
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
