"""Widget challenges: a goal a widget detects by itself and announces when met.

A challenge is data: the widget it belongs to, a goal sentence, the metric the
widget computes and its target, and a budget (upper limits on controls).
An instructor adds one with ``register(Challenge(...))``.
"""
from dataclasses import dataclass, field

from . import progress_log

CHALLENGES = {}


@dataclass
class Challenge:
    id: str
    lesson: str
    widget: str                 # the builder's name, e.g. "optimizer_explorer"
    goal: str                   # shown to the student
    metric: str                 # a key of the metrics dict the widget computes
    target: float
    below: bool = True          # met when metric < target (else metric > target)
    budget: dict = field(default_factory=dict)   # control name -> largest allowed value

    def met(self, metrics, controls):
        value = metrics.get(self.metric)
        if value is None or value != value:      # missing or NaN
            return False
        within = all(controls.get(k, 0) <= v for k, v in self.budget.items())
        return within and (value < self.target if self.below else value > self.target)

    def status(self, metrics, controls):
        """A one-line status for the widget: the goal and where the student stands."""
        value = metrics.get(self.metric)
        now = f" Now: {self.metric.replace('_', ' ')} = {value:.4g}." if value is not None else ""
        over = [k for k, v in self.budget.items() if controls.get(k, 0) > v]
        if over:
            return f"🎯 {self.goal} Over budget: {', '.join(over)}.{now}"
        if self.met(metrics, controls):
            return f"✓ Challenge met! {self.goal}{now}"
        return f"🎯 {self.goal}{now}"


def register(challenge):
    CHALLENGES[challenge.id] = challenge
    return challenge


def for_widget(widget):
    """The challenges attached to a widget builder, in registration order."""
    return [c for c in CHALLENGES.values() if c.widget == widget]


class ChallengeTracker:
    """Keeps a widget's challenge status up to date and logs the first time each is met."""

    def __init__(self, widget):
        self.challenges = for_widget(widget)
        self.done = set()

    def update(self, metrics, controls):
        """Status lines for the current metrics and control values."""
        lines = []
        for c in self.challenges:
            if c.met(metrics, controls) and c.id not in self.done:
                self.done.add(c.id)
                progress_log.record("challenge", c.lesson, c.id, metric=float(metrics[c.metric]))
            lines.append(c.status(metrics, controls))
        return "\n".join(lines)
