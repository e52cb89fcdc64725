"""A pristine copy of the course package, taken once when grading starts, with the SHA-256 of
every file: each notebook is graded against a fresh copy of it, and a submission that changes
the installed package (or this copy) is caught.

    snap = Snapshot.take(installed_dir, into)     # installed_dir: the bpcourse/ folder
    snap.copy_to(job_dir / "pkg")                  # job_dir/pkg/bpcourse, verified first
    snap.changes(installed_dir)                    # ["exercises/core.py (changed)", ...]
"""
import hashlib
import os
import shutil
from pathlib import Path

IGNORED = shutil.ignore_patterns("__pycache__", "*.pyc", ".ipynb_checkpoints")


class Tampered(RuntimeError):
    """The pristine copy itself changed while grading: nothing graded after it can be trusted."""


def manifest(folder):
    """{path relative to ``folder``: sha256} of every file, caches left out."""
    folder = Path(folder)
    found = {}
    for path in sorted(folder.rglob("*")):
        rel = path.relative_to(folder)
        if path.is_file() and not any(part == "__pycache__" or part.endswith(".pyc") for part in rel.parts):
            found[rel.as_posix()] = hashlib.sha256(path.read_bytes()).hexdigest()
    return found


def differences(expected, found):
    """Sentences naming the files added, removed or changed between two manifests."""
    return ([f"{p} (changed)" for p in expected if p in found and found[p] != expected[p]]
            + [f"{p} (removed)" for p in expected if p not in found]
            + [f"{p} (added)" for p in found if p not in expected])


def _read_only(folder):
    for path in [folder, *Path(folder).rglob("*")]:
        os.chmod(path, 0o555 if path.is_dir() else 0o444)


class Snapshot:
    """The package as it was when grading started: ``self.root/bpcourse`` and its manifest."""

    def __init__(self, root, files):
        self.root, self.files = Path(root), files

    @classmethod
    def take(cls, installed, into):
        package = Path(into) / "bpcourse"
        shutil.copytree(installed, package, ignore=IGNORED)
        _read_only(package)
        return cls(into, manifest(package))

    def verify(self):
        changed = differences(self.files, manifest(self.root / "bpcourse"))
        if changed:
            raise Tampered("the pristine copy of the package changed while grading: "
                           + ", ".join(changed[:5]))

    def copy_to(self, folder):
        """A verified copy at ``folder/bpcourse`` (readable by all, writable by its owner only).
        Returns ``folder``, the entry for PYTHONPATH."""
        self.verify()
        shutil.copytree(self.root / "bpcourse", Path(folder) / "bpcourse", ignore=IGNORED)
        for path in [Path(folder), *Path(folder).rglob("*")]:
            os.chmod(path, 0o755 if path.is_dir() else 0o644)
        return Path(folder)

    def changes(self, installed):
        """What differs between the installed package and the snapshot (empty: unchanged)."""
        return differences(self.files, manifest(installed))
