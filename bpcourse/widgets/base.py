"""What every explorer widget shares: controls in, a plot image and a text out.

The lesson's logic lives in a plain function ``update(**control_values)`` that
returns a ``View``; ``Explorer`` wires it to the controls. Everything it shows
is widget state (an ``Image``'s PNG bytes, an ``HTML``'s text), so pytest can
set a control's ``.value`` and check what changed, without a browser.
"""
import io
from dataclasses import dataclass, field

import ipywidgets as W
import matplotlib.pyplot as plt

from ..challenges import ChallengeTracker


@dataclass
class View:
    """What an update shows: a figure (or None), an HTML text, and metrics for challenges."""

    figure: object = None
    text: str = ""
    metrics: dict = field(default_factory=dict)


def png(figure):
    """The figure as PNG bytes; the figure is closed (widgets never show it twice)."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=80)
    plt.close(figure)
    return buffer.getvalue()


def new_figure(*args, **kwargs):
    """A figure that is never displayed by itself (only through a widget's Image)."""
    with plt.ioff():
        return plt.subplots(*args, constrained_layout=True, **kwargs)


class Explorer(W.VBox):
    """Controls on top, then the text, the plot, and the challenge status.

    ``controls``: name -> widget; ``update(**values) -> View``. After every change
    ``.view`` holds the latest View, ``.image.value`` its PNG, ``.text.value`` its text.
    """

    def __init__(self, controls, update, name, layout_rows=None):
        self.controls, self.update_fn, self.name = controls, update, name
        self.image = W.Image(format="png")
        self.text = W.HTML()
        self.tracker = ChallengeTracker(name)
        self.challenge = W.HTML()
        rows = layout_rows or [W.HBox(list(controls.values()))]
        super().__init__(rows + [self.text, self.image, self.challenge])
        for control in controls.values():
            if hasattr(control, "value"):
                control.observe(self.refresh, names="value")
        self.refresh()

    def values(self):
        return {k: c.value for k, c in self.controls.items() if hasattr(c, "value")}

    def refresh(self, change=None):
        values = self.values()
        self.view = self.update_fn(**values)
        if self.view.figure is not None:
            self.image.value = png(self.view.figure)
        self.text.value = self.view.text
        status = self.tracker.update(self.view.metrics, values)
        self.challenge.value = status.replace("\n", "<br>")


