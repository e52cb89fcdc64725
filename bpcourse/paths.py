"""Where the course's files are: a repository checkout (if the package runs from one), the
source notebooks, the lessons shipped in the wheel, and the student's workspace.

A repository checkout has ``notebooks/`` (the instructor's version, with solutions) beside
the package; an installed wheel has only ``bpcourse/lessons/`` (the student version).
A workspace is a folder holding ``.bpcourse-manifest.json``, written by
``python -m bpcourse workspace``.
"""
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent
REPO = PACKAGE.parent                            # the repository, when the package runs from a checkout
SOURCE_NOTEBOOKS = REPO / "notebooks"            # the instructor's version, with solutions (checkout only)
PACKAGED_LESSONS = PACKAGE / "lessons"           # the student version, shipped in the wheel
MANIFEST = ".bpcourse-manifest.json"             # marks a workspace


def in_repository():
    """True when the package runs from a checkout of the course's repository (source notebooks beside it)."""
    return (REPO / "pyproject.toml").is_file() and SOURCE_NOTEBOOKS.is_dir()


def lessons_source():
    """Where a workspace's lessons come from: the source notebooks of a checkout (turned into the
    student version as the workspace is built), else the student version shipped in the package."""
    return SOURCE_NOTEBOOKS if in_repository() else PACKAGED_LESSONS


def enclosing_workspace(start=None):
    """The workspace holding ``start`` (default: the current folder), or None."""
    here = Path(start or Path.cwd()).resolve()
    return next((folder for folder in (here, *here.parents) if (folder / MANIFEST).is_file()), None)


def checkout_workspace(start=None):
    """``workspace/`` of the checkout that holds ``start`` (default: the current folder), or None."""
    here = Path(start or Path.cwd()).resolve()
    inside = in_repository() and (here == REPO or REPO in here.parents)
    return REPO / "workspace" if inside else None


def default_workspace(start=None):
    """The workspace a command means when none is named: the one around the current folder;
    else, inside a checkout, its ``workspace/``; else ``workspace/`` in the current folder."""
    here = Path(start or Path.cwd()).resolve()
    return enclosing_workspace(here) or checkout_workspace(here) or here / "workspace"
