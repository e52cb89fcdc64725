"""A local log of what a student has done: checks, hints, predictions, challenges.

One JSON object per line, appended to ``progress.jsonl`` in the student's
workspace (or the file named by ``$BPCOURSE_PROGRESS``), never in the installed
package. Nothing leaves the machine, and a missing or corrupt log never breaks a lesson.
"""
import json
import os
import time
import warnings
from pathlib import Path

from .paths import checkout_workspace, enclosing_workspace

LOG_NAME = "progress.jsonl"
TEXT_FIELDS = ("kind", "lesson", "item", "status")     # a readable event has these as strings, if at all


def log_path():
    """The log file: $BPCOURSE_PROGRESS; else progress.jsonl in the workspace around the current
    folder (a lesson's kernel runs in its folder); else, inside a checkout of the course, in its
    workspace/; else in ~/.bpcourse/ (Colab, or a lesson opened outside any workspace)."""
    if os.environ.get("BPCOURSE_PROGRESS"):
        return Path(os.environ["BPCOURSE_PROGRESS"])
    return (enclosing_workspace() or checkout_workspace() or Path.home() / ".bpcourse") / LOG_NAME


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
    """Every readable event in the log, oldest first. A line that is not a JSON object with a
    text ``kind`` (and text ``lesson``, ``item``, ``status`` where given), or not UTF-8, is
    skipped with a warning: a corrupt log never breaks a lesson."""
    path = Path(path) if path is not None else log_path()
    try:
        lines = path.read_bytes().splitlines()
    except OSError:
        return []
    found, bad = [], 0
    for line in lines:
        if not line.strip():
            continue
        try:
            event = json.loads(line.decode("utf-8"))
        except ValueError:                       # not UTF-8, or not JSON
            bad += 1
            continue
        if isinstance(event, dict) and isinstance(event.get("kind"), str) and all(
                isinstance(event[key], str) for key in TEXT_FIELDS if key in event):
            found.append(event)
        else:
            bad += 1
    if bad:
        warnings.warn(f"skipped {bad} unreadable line(s) in {path}", stacklevel=2)
    return found


def summary(log=None):
    """Per lesson, per exercise: "done" (a check said right at least once), "tried" (a check said
    wrong), or "" (never checked, or only a stub: not attempted); plus the counts of hints taken,
    predictions made and challenges met."""
    from .challenges import CHALLENGES
    from .exercises import EXERCISES
    log = events(log)
    status = {ex_id: "" for ex_id in EXERCISES}
    counts = {kind: {} for kind in ("hint", "prediction", "challenge")}
    for e in log:
        if e["kind"] == "check" and e.get("item") in status:
            if e.get("status") == "right":
                status[e["item"]] = "done"
            elif e.get("status") == "wrong" and status[e["item"]] != "done":
                status[e["item"]] = "tried"
        elif e["kind"] in counts:
            lesson_counts = counts[e["kind"]]
            lesson_counts[e.get("lesson", "")] = lesson_counts.get(e.get("lesson", ""), 0) + 1
    lessons = {}
    for ex in EXERCISES.values():
        lessons.setdefault(ex.lesson, {})[ex.id] = status[ex.id]
    for c in CHALLENGES.values():
        lessons.setdefault(c.lesson, {})
    return Progress(exercises=dict(sorted(lessons.items())), **{k + "s": v for k, v in counts.items()})


class Progress(dict):
    """The summary ``bp.progress()`` returns: a dict, which a notebook does not print again
    (the table and the chart are already shown)."""

    def __repr__(self):
        done = sum(st == "done" for ex in self["exercises"].values() for st in ex.values())
        total = sum(len(ex) for ex in self["exercises"].values())
        return f"<progress: {done} of {total} exercises done>"

    def _ipython_display_(self):
        """Shown already (the table and the chart)."""


def report(log=None, plot=True):
    """Show what is done: a lessons × exercises table and a bar chart; returns the summary."""
    s = summary(log)
    marks = {"done": "✓", "tried": "✗", "": "·"}
    print("✓ done   ✗ tried, not yet right   · not attempted yet")
    for lesson, exercises in s["exercises"].items():
        cells = "  ".join(f"{marks[st]} {ex_id.split('_', 1)[-1]}" for ex_id, st in exercises.items())
        extras = [f"{k}: {s[k].get(lesson, 0)}" for k in ("hints", "predictions", "challenges") if s[k].get(lesson)]
        print(f"{lesson:<36} {cells}" + (f"   ({', '.join(extras)})" if extras else ""))
    if plot:
        import matplotlib.pyplot as plt
        lessons = list(s["exercises"])
        done = [sum(st == "done" for st in ex.values()) for ex in s["exercises"].values()]
        total = [len(ex) for ex in s["exercises"].values()]
        fig, ax = plt.subplots(figsize=(6, 0.3 * len(lessons) + 1.0), constrained_layout=True)
        ax.barh(lessons, total, color="0.9", label="exercises")
        ax.barh(lessons, done, color="tab:green", label="done")
        ax.invert_yaxis()
        ax.set_xlabel("exercises")
        ax.legend(loc="lower left", bbox_to_anchor=(0, 1), ncol=2, fontsize=8, frameon=False)   # above the bars
        plt.show()
    return s
