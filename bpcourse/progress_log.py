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


def summary(log=None):
    """Per lesson, per exercise: "done" (a check said right at least once), "tried", or "" (never checked);
    plus the counts of hints taken, predictions made and challenges met."""
    from .challenges import CHALLENGES
    from .exercises import EXERCISES
    log = events(log)
    status = {ex_id: "" for ex_id in EXERCISES}
    counts = {kind: {} for kind in ("hint", "prediction", "challenge")}
    for e in log:
        if e["kind"] == "check" and e.get("item") in status:
            if e.get("status") == "right":
                status[e["item"]] = "done"
            elif status[e["item"]] != "done":
                status[e["item"]] = "tried"
        elif e["kind"] in counts:
            lesson_counts = counts[e["kind"]]
            lesson_counts[e.get("lesson", "")] = lesson_counts.get(e.get("lesson", ""), 0) + 1
    lessons = {}
    for ex in EXERCISES.values():
        lessons.setdefault(ex.lesson, {})[ex.id] = status[ex.id]
    for c in CHALLENGES.values():
        lessons.setdefault(c.lesson, {})
    return {"exercises": dict(sorted(lessons.items())), **{k + "s": v for k, v in counts.items()}}


def report(log=None, plot=True):
    """Show what is done: a lessons × exercises table and a bar chart; returns the summary."""
    s = summary(log)
    marks = {"done": "✓", "tried": "✗", "": "·"}
    print("✓ done   ✗ tried, not yet right   · not checked yet")
    for lesson, exercises in s["exercises"].items():
        cells = "  ".join(f"{marks[st]} {ex_id.split('_', 1)[-1]}" for ex_id, st in exercises.items())
        extras = [f"{k}: {s[k].get(lesson, 0)}" for k in ("hints", "predictions", "challenges") if s[k].get(lesson)]
        print(f"{lesson:<36} {cells}" + (f"   ({', '.join(extras)})" if extras else ""))
    if plot:
        import matplotlib.pyplot as plt
        lessons = list(s["exercises"])
        done = [sum(st == "done" for st in ex.values()) for ex in s["exercises"].values()]
        total = [len(ex) for ex in s["exercises"].values()]
        fig, ax = plt.subplots(figsize=(6, 0.3 * len(lessons) + 0.8), constrained_layout=True)
        ax.barh(lessons, total, color="0.9", label="exercises")
        ax.barh(lessons, done, color="tab:green", label="done")
        ax.invert_yaxis()
        ax.set_xlabel("exercises")
        ax.legend(loc="lower right", fontsize=8)
        plt.show()
    return s
