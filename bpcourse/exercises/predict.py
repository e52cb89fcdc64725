"""Predict before you run: compare a student's guess with the measured value."""
from .. import progress_log


def closeness(prediction, measured):
    """How close a prediction is: "within ×2", "within ×10", "further than ×10", or "opposite sign"."""
    if prediction == measured:
        return "within ×2"
    if prediction * measured <= 0:
        return "opposite sign (or zero)"
    factor = max(prediction / measured, measured / prediction)
    return "within ×2" if factor <= 2 else "within ×10" if factor <= 10 else "further than ×10"


def reveal(name, prediction, measured, why, lesson=""):
    """Print the measured value beside the student's prediction and one sentence of explanation.

    ``prediction=None`` (left empty) just shows the measurement.
    """
    if prediction is None:
        print(f"{name}: measured {measured:.3g}. (No prediction entered: next time, write your guess first.)")
    else:
        verdict = closeness(float(prediction), float(measured))
        progress_log.record("prediction", lesson, name, prediction=float(prediction),
                        measured=float(measured), closeness=verdict)
        print(f"{name}: you predicted {float(prediction):.3g}, measured {measured:.3g}: {verdict}.")
    print(f"Why: {why}")
