"""A local log of what a student has done: checks, hints, predictions, challenges.

One JSON object per line, appended to ``progress.jsonl`` in the student's
workspace (or the file named by ``$BPCOURSE_PROGRESS``). Nothing leaves the
machine, and a missing or corrupt log never breaks a lesson.
"""
import json
import os
import time
import warnings
from pathlib import Path

LOG_NAME = "progress.jsonl"


def log_path():
    """The log file: $BPCOURSE_PROGRESS, else progress.jsonl in the workspace that holds the
    current folder, else in the repository's workspace/ (created on first use)."""
    if os.environ.get("BPCOURSE_PROGRESS"):
        return Path(os.environ["BPCOURSE_PROGRESS"])
    here = Path.cwd().resolve()
    for folder in (here, *here.parents):
        if folder.name == "workspace":
            return folder / LOG_NAME
    return Path(__file__).resolve().parent.parent / "workspace" / LOG_NAME


def record(kind, lesson, item, **details):
    """Append one event (kind: "check", "hint", "prediction", "challenge"). Never raises."""
    event = {"time": round(time.time(), 3), "kind": kind, "lesson": lesson, "item": item, **details}
    try:
        path = log_path()
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "a", encoding="utf-8") as log:
            log.write(json.dumps(event, ensure_ascii=False) + "\n")
    except OSError:
        pass                                     # a read-only folder must not stop a lesson


def events(path=None):
    """Every readable event in the log, oldest first; corrupt lines are skipped with a warning."""
    path = Path(path) if path is not None else log_path()
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError:
        return []
    found, bad = [], 0
    for line in lines:
        if not line.strip():
            continue
        try:
            event = json.loads(line)
            if not isinstance(event, dict) or "kind" not in event:
                raise ValueError
            found.append(event)
        except ValueError:
            bad += 1
    if bad:
        warnings.warn(f"skipped {bad} unreadable line(s) in {path}", stacklevel=2)
    return found
