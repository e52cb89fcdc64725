"""The command line: help for every command, errors as one sentence with exit code 2."""
import subprocess
import sys

import pytest

from bpcourse.__main__ import main
from bpcourse.instructor import SOURCE_NOTEBOOKS

COMMANDS = ["workspace", "reset", "release", "grade"]


def test_python_m_bpcourse_help():
    run = subprocess.run([sys.executable, "-m", "bpcourse", "--help"], capture_output=True, text=True)
    assert run.returncode == 0
    for command in COMMANDS:
        assert command in run.stdout
    assert "nbgrader" in run.stdout and run.stderr == ""


@pytest.mark.parametrize("command, words", [
    ("workspace", ["never overwrites", "--dir"]),
    ("reset", ["backup", "--all", "LESSON"]),
    ("release", ["NotImplementedError", "--out", "--assignment", "--force", "hidden tests"]),
    ("grade", ["grades.csv", "--timeout", "SUBMISSIONS_DIR", "restored"]),
])
def test_each_command_explains_itself(command, words, capsys):
    with pytest.raises(SystemExit) as exit:
        main([command, "--help"])
    assert exit.value.code == 0
    text = " ".join(capsys.readouterr().out.split())
    for word in words:
        assert word in text


def test_no_command_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as exit:
        main([])
    assert exit.value.code == 2


@pytest.mark.parametrize("argv, message", [
    (["release", "--out", str(SOURCE_NOTEBOOKS)], "refusing to write a release into the source notebooks"),
    (["release", "--out", "{tmp}/r", "--assignment", "{tmp}/missing.toml"], "does not exist"),
    (["release", "--out", "{tmp}/r", "--assignment", "{tmp}/bad.toml"], "is not valid TOML"),
    (["grade", "{tmp}/nobody", "--out", "{tmp}/g"], "does not exist"),
    (["reset", "00", "--dir", "{tmp}/nowhere"], "no workspace"),
])
def test_errors_are_one_sentence_and_exit_2(argv, message, tmp_path, capsys):
    (tmp_path / "bad.toml").write_text("lessons = [")
    code = main([a.format(tmp=tmp_path) for a in argv])
    err = capsys.readouterr().err
    assert code == 2
    assert message in err and "Traceback" not in err and err.count("\n") == 1


def test_release_refuses_a_non_empty_folder_without_force(tmp_path, capsys):
    (tmp_path / "homework.ipynb").write_text("{}")
    assert main(["release", "--out", str(tmp_path)]) == 2
    assert "not empty" in capsys.readouterr().err
    assert main(["release", "--out", str(tmp_path), "--force"]) == 0
    out = capsys.readouterr().out
    assert "00_welcome.ipynb: 2 exercise(s) assigned, 4 points" in out
    assert (tmp_path / "homework.ipynb").read_text() == "{}"
