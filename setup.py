"""Builds the lessons into the wheel: the student version of every notebook in notebooks/
(and its data/) becomes package data in bpcourse/lessons/, so `pip install <wheel>` then
`bpcourse workspace` gives a student every lesson without the repository or nbgrader.

The student version is made by bpcourse/instructor/student_form.py (standard library only),
loaded by its path: the build environment has setuptools and nothing else.
"""
import importlib.util
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = Path(__file__).resolve().parent


def student_form():
    spec = importlib.util.spec_from_file_location(
        "bpcourse_student_form", HERE / "bpcourse" / "instructor" / "student_form.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class BuildWithLessons(build_py):
    """build_py, then the lessons (not for an editable install: it reads notebooks/ itself)."""

    def run(self):
        super().run()
        if getattr(self, "editable_mode", False):
            return
        files = student_form().lesson_files(HERE / "notebooks")
        if not any(name.endswith(".ipynb") for name in files):
            raise SystemExit(f"no lesson notebooks (NN_name.ipynb) in {HERE / 'notebooks'}: "
                             f"the wheel would hold no lessons.")
        lessons = Path(self.build_lib) / "bpcourse" / "lessons"
        for name, data in files.items():
            (lessons / name).parent.mkdir(parents=True, exist_ok=True)
            (lessons / name).write_bytes(data)
        print(f"built {sum(n.endswith('.ipynb') for n in files)} lessons into {lessons}")


setup(cmdclass={"build_py": BuildWithLessons})
