"""The progress log: where it lives (the workspace, never the installed package), a corrupt
line never breaks ``bp.progress()``, stubs count as not attempted, and the report shows its
table and chart without a dump of the summary."""
import json
import warnings

import pytest

import bpcourse as bp
from bpcourse import paths, progress_log


@pytest.fixture
def log(tmp_path, monkeypatch):
    path = tmp_path / "progress.jsonl"
    monkeypatch.setenv("BPCOURSE_PROGRESS", str(path))
    return path


@pytest.mark.parametrize("line", [
    b'{"kind": "check", "lesson": "00_welcome", "item": ["ex00_sigmoid"], "status": "right"}',
    b'{"kind": "hint", "lesson": ["00_welcome"], "item": "ex00_sigmoid"}',
    b'{"kind": ["check"], "item": "ex00_sigmoid"}',
    b'{"kind": "check", "item": "ex00_sigmoid", "status": {"right": true}}',
    b'{"kind": "check", "item": "ex00_sigmoid", "status": "r\xffight"}',       # not UTF-8
    b'\xfe\xff\x00{',
])
def test_a_corrupt_line_never_breaks_progress(log, line, capsys):
    progress_log.record("check", "00_welcome", "ex00_sigmoid", status="wrong")
    with open(log, "ab") as f:
        f.write(line + b"\n")
    progress_log.record("hint", "00_welcome", "ex00_sigmoid", rung=1)
    with pytest.warns(UserWarning, match="skipped 1 unreadable line"):
        summary = bp.progress(plot=False)
    assert summary["exercises"]["00_welcome"]["ex00_sigmoid"] == "tried"
    assert summary["hints"] == {"00_welcome": 1}
    assert "✗ sigmoid" in capsys.readouterr().out


def test_a_stub_run_by_run_all_is_not_attempted(log):
    progress_log.record("check", "00_welcome", "ex00_sigmoid", status="not attempted")
    assert bp.progress(plot=False)["exercises"]["00_welcome"]["ex00_sigmoid"] == ""
    progress_log.record("check", "00_welcome", "ex00_sigmoid", status="wrong")
    assert bp.progress(plot=False)["exercises"]["00_welcome"]["ex00_sigmoid"] == "tried"
    progress_log.record("check", "00_welcome", "ex00_sigmoid", status="right")
    progress_log.record("check", "00_welcome", "ex00_sigmoid", status="not attempted")
    assert bp.progress(plot=False)["exercises"]["00_welcome"]["ex00_sigmoid"] == "done"


def test_the_report_is_not_followed_by_a_dump_of_the_summary(log):
    """In a notebook, `bp.progress()` as the last line shows the table and the chart only."""
    summary = bp.progress(plot=False)
    assert isinstance(summary, dict) and "exercises" in summary
    assert summary._ipython_display_() is None                   # IPython shows nothing more
    assert repr(summary).startswith("<progress: 0 of ") and "\n" not in repr(summary)
    from IPython.core.formatters import DisplayFormatter
    assert DisplayFormatter().format(summary) == ({}, {})


def test_the_log_lives_in_the_workspace(tmp_path, monkeypatch):
    monkeypatch.delenv("BPCOURSE_PROGRESS", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    workspace = tmp_path / "somewhere" / "my-course"
    workspace.mkdir(parents=True)
    (workspace / paths.MANIFEST).write_text('{"files": {}}')
    monkeypatch.chdir(workspace)                                 # a lesson's kernel runs in its folder
    assert progress_log.log_path() == workspace / "progress.jsonl"
    progress_log.record("check", "00_welcome", "ex00_sigmoid", status="right")
    assert json.loads((workspace / "progress.jsonl").read_text())["status"] == "right"
    monkeypatch.chdir(paths.SOURCE_NOTEBOOKS)                    # in a checkout: its workspace/
    assert progress_log.log_path() == paths.REPO / "workspace" / "progress.jsonl"
    monkeypatch.chdir(tmp_path)                                  # anywhere else (Colab): the home folder
    assert progress_log.log_path() == tmp_path / "home" / ".bpcourse" / "progress.jsonl"


def test_the_log_is_never_in_the_installed_package(tmp_path, monkeypatch):
    """Installed from a wheel (no checkout around the package), outside any workspace."""
    monkeypatch.delenv("BPCOURSE_PROGRESS", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setattr(paths, "REPO", tmp_path / "site-packages")
    monkeypatch.setattr(paths, "SOURCE_NOTEBOOKS", tmp_path / "site-packages" / "notebooks")
    monkeypatch.chdir(tmp_path)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert not paths.in_repository()
        assert progress_log.log_path() == tmp_path / "home" / ".bpcourse" / "progress.jsonl"
