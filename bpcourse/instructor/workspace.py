"""The student's workspace: their own copies of the lessons, never overwritten.

``workspace/`` (git-ignored, at the repository's root) holds the student
version of every lesson, built by the release code with every exercise of
every lesson as a stub (whatever assignments/default.toml says), but without
the graded-release marker: a self-learner may see the
reference solution at the end of a hint ladder.

Whether the student changed a notebook is decided by content: the manifest
``workspace/.bpcourse-manifest.json`` keeps the sha256 of what was last
written. A file whose bytes still have that hash is untouched and is updated
when the course changes; any other file is the student's and is kept.
Running cells counts as a change (the outputs are saved into the file).
``reset`` moves the student's copy to a timestamped backup beside it, then
writes a fresh one.
"""
import hashlib
import json
import time
from pathlib import Path

import nbformat

from . import REPO, SOURCE_NOTEBOOKS, UsageError
from . import assignment as assignments
from .release import RELEASE_MARKER, student_version

WORKSPACE = REPO / "workspace"
MANIFEST = ".bpcourse-manifest.json"


def sha256(data):
    return hashlib.sha256(data).hexdigest()


class Workspace:
    def __init__(self, folder=WORKSPACE, source=SOURCE_NOTEBOOKS):
        self.folder, self.source = Path(folder), Path(source)
        self.warnings = []

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
        """{relative path: bytes} of the fresh student version: lesson notebooks and data files."""
        course = assignments.from_dict({"title": "workspace", "lessons": "all"}, self.source)
        files = {}
        for lesson, assigned in course.lessons.items():
            nb = nbformat.read(self.source / f"{lesson}.ipynb", as_version=4)
            files[f"{lesson}.ipynb"] = nbformat.writes(student_version(nb, assigned)).encode("utf-8") + b"\n"
        data = self.source / "data"
        if data.is_dir():
            for p in sorted(data.rglob("*")):
                if p.is_file():
                    files[p.relative_to(self.source).as_posix()] = p.read_bytes()
        return files

    def build(self):
        """Add missing files, update untouched ones, keep the student's. Returns [(file, what)]."""
        self.folder.mkdir(parents=True, exist_ok=True)
        manifest = self._read_manifest()
        done = []
        for name, data in self.fresh().items():
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
        notebooks = assignments.lesson_notebooks(self.source)
        names = list(notebooks) if lessons is None else \
            [assignments.resolve_lesson(key, notebooks) for key in lessons]
        self.folder.mkdir(parents=True, exist_ok=True)
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


def build(folder=WORKSPACE, source=SOURCE_NOTEBOOKS):
    return Workspace(folder, source).build()


def reset(lessons=None, folder=WORKSPACE, source=SOURCE_NOTEBOOKS):
    ws = Workspace(folder, source)
    if not ws.folder.exists():
        raise UsageError(f"there is no workspace at {ws.folder} yet: run `python -m bpcourse workspace`.")
    return ws.reset(lessons)
