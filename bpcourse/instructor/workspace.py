"""The student's workspace: their own copies of the lessons, never overwritten.

A workspace (``workspace/`` at the root of a checkout, or wherever ``--dir`` says) holds a
student's copy of every lesson, made by ``student_form.workspace_version``: every exercise a
stub, checks that print their verdict without stopping Run All, and no graded-release
marker, so a self-learner may reach the reference solution at the end of a hint ladder.
The lessons come from the source notebooks of a checkout, or from the student version
shipped in the wheel: neither nbgrader nor the repository is needed.

Whether the student changed a notebook is decided by content: the manifest
``.bpcourse-manifest.json`` keeps the sha256 of what was last written. A file whose bytes
still have that hash is untouched and is updated when the course changes; any other file
is the student's and is kept. Running cells counts as a change (the outputs are saved
into the file). ``reset`` moves the student's copy to a timestamped backup beside it, then
writes a fresh one. A folder of source notebooks is never taken for a workspace.
"""
import hashlib
import json
import time
from pathlib import Path

from ..paths import MANIFEST, SOURCE_NOTEBOOKS, default_workspace, lessons_source
from . import UsageError, student_form
from .assignment import lesson_notebooks, resolve_lesson
from .release import RELEASE_MARKER

RELOAD_NOTE = ("if a lesson you reset is open in JupyterLab, its kernel still holds your old functions "
               "(a check there may still say ✓): reload it (File ▸ Reload Notebook from Disk) and "
               "restart its kernel (Kernel ▸ Restart Kernel).")


def sha256(data):
    return hashlib.sha256(data).hexdigest()


def holds_solutions(path):
    """True for a notebook with nbgrader solution markers: a source notebook, never a student's copy."""
    try:
        return "### BEGIN SOLUTION" in Path(path).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return False


class Workspace:
    def __init__(self, folder=None, source=None):
        self.folder = Path(folder) if folder is not None else default_workspace()
        self.source = Path(source) if source is not None else lessons_source()
        self.warnings = []

    def _refuse_source_folder(self):
        folder = self.folder.resolve()
        for source in {self.source.resolve(), SOURCE_NOTEBOOKS.resolve()}:
            if folder == source:
                raise UsageError(f"{self.folder} holds the course's source notebooks (with solutions), "
                                 f"not a workspace; leave out --dir, or name your workspace folder.")

    # the manifest: {"files": {relative path: sha256 of what this tool last wrote}}
    def _read_manifest(self):
        path = self.folder / MANIFEST
        if not path.exists():
            return {}
        try:
            files = json.loads(path.read_text(encoding="utf-8"))["files"]
            if not isinstance(files, dict):
                raise ValueError
            return files
        except (ValueError, KeyError, TypeError, OSError):
            self.warnings.append(f"{MANIFEST} was unreadable: every existing notebook that differs "
                                 f"from the course is treated as yours and kept.")
            return {}

    def _write_manifest(self, files):
        path = self.folder / MANIFEST
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps({"version": 1, "files": dict(sorted(files.items()))}, indent=1),
                       encoding="utf-8")
        tmp.replace(path)

    def fresh(self):
        """{relative path: bytes} of the fresh student copies: lesson notebooks and data files."""
        if not self.source.is_dir() or not lesson_notebooks(self.source):
            raise UsageError(f"no lesson notebooks (NN_name.ipynb) found in {self.source}.")
        try:
            return student_form.lesson_files(self.source)
        except student_form.NotebookError as err:
            raise UsageError(str(err)) from None

    def build(self):
        """Add missing files, update untouched ones, keep the student's. Returns [(file, what)]."""
        self._refuse_source_folder()
        fresh = self.fresh()
        self.folder.mkdir(parents=True, exist_ok=True)
        manifest = self._read_manifest()
        done = []
        for name, data in fresh.items():
            target, new = self.folder / name, sha256(data)
            if not target.exists():
                self._write(target, data)
                what = "added"
            else:
                current = sha256(target.read_bytes())
                if current == new:
                    what = "up to date"
                elif manifest.get(name) == current:
                    self._write(target, data)
                    what = "updated (the course changed; you had not touched it)"
                else:                            # the student's: keep it, and the manifest entry
                    newer = manifest.get(name) not in (None, new) and name.endswith(".ipynb")
                    done.append((name, "kept: you changed it" + (
                        f"; the course has a newer version: `python -m bpcourse reset {name[:2]}` "
                        f"gets it and backs up your copy" if newer else "")))
                    continue
            manifest[name] = new
            done.append((name, what))
        marker = self.folder / RELEASE_MARKER
        if marker.exists():                      # a self-learner's workspace may show solutions
            marker.unlink()
            done.append((RELEASE_MARKER, "removed (this is not a graded release)"))
        self._write_manifest(manifest)
        return done

    def _write(self, target, data):
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(target.name + ".tmp")
        tmp.write_bytes(data)
        tmp.replace(target)

    def reset(self, lessons=None):
        """Fresh copies of ``lessons`` (names or numbers; None: all); a student's copy is first
        moved to ``NN_name.backup-YYYYmmdd-HHMMSS.ipynb`` beside it. Returns [(file, what)]."""
        self._refuse_source_folder()
        if not (self.folder / MANIFEST).exists():
            raise UsageError(f"there is no workspace at {self.folder} yet: build it with "
                             f"`python -m bpcourse workspace --dir {self.folder}`.")
        notebooks = lesson_notebooks(self.source)
        names = list(notebooks) if lessons is None else \
            [resolve_lesson(key, notebooks) for key in lessons]
        mine = [f"{lesson}.ipynb" for lesson in names if holds_solutions(self.folder / f"{lesson}.ipynb")]
        if mine:
            raise UsageError(f"{self.folder / mine[0]} holds solutions: it is a source notebook, not a "
                             f"student's copy, and reset does not replace it; is --dir your workspace?")
        fresh = self.fresh()
        manifest = self._read_manifest()
        done = []
        for lesson in names:
            name = f"{lesson}.ipynb"
            target, data = self.folder / name, fresh[name]
            if target.exists() and target.read_bytes() == data:
                done.append((name, "already fresh: nothing to back up"))
            else:
                what = "written (there was no copy)"
                if target.exists():
                    backup = self._backup_name(lesson)
                    target.replace(backup)
                    what = f"fresh; your copy is now {backup}"
                self._write(target, data)
                done.append((name, what))
            manifest[name] = sha256(data)
        self._write_manifest(manifest)
        return done

    def _backup_name(self, lesson):
        stamp = time.strftime("%Y%m%d-%H%M%S")
        path, n = self.folder / f"{lesson}.backup-{stamp}.ipynb", 1
        while path.exists():
            n += 1
            path = self.folder / f"{lesson}.backup-{stamp}-{n}.ipynb"
        return path


def build(folder=None, source=None):
    return Workspace(folder, source).build()


def reset(lessons=None, folder=None, source=None):
    return Workspace(folder, source).reset(lessons)
