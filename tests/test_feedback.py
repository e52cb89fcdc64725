"""The feedback machinery: verdicts, the sigmoid warm-up check, hint ladders, predictions,
challenges and the progress log."""
import json
from pathlib import Path

import numpy as np
import pytest

import bpcourse as bp
from bpcourse.challenges import Challenge, ChallengeTracker
from bpcourse.exercises import core, hints
from bpcourse.exercises.predict import closeness

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def log(tmp_path, monkeypatch):
    path = tmp_path / "progress.jsonl"
    monkeypatch.setenv("BPCOURSE_PROGRESS", str(path))
    return path


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


def sigmoid_grad(x):
    return sigmoid(x) * (1 - sigmoid(x))


# ---- the warm-up check: right, typical wrong answers, stubs, crashes ----------------------

def test_check_sigmoid_passes_the_reference(capsys, log):
    verdict = bp.exercises.check_sigmoid(sigmoid, sigmoid_grad)
    assert verdict and verdict.status == "right"
    assert capsys.readouterr().out.startswith("✓ sigmoid and its derivative")


@pytest.mark.parametrize("grad,hint", [
    (sigmoid, "that is σ(x) itself"),
    (lambda x: x * (1 - x), "apply the formula to σ(x), not to x"),
    (lambda x: sigmoid(x) * (1 + sigmoid(x)), "it is 1 − σ(x), not 1 + σ(x)"),
    (lambda x: -sigmoid_grad(x), "the sign is flipped"),
    (lambda x: None, "add a `return` statement"),
    (lambda x: sigmoid_grad(x)[None], "different arrangement"),
])
def test_check_sigmoid_diagnoses_wrong_derivatives(grad, hint, log):
    verdict = bp.exercises.check_sigmoid(sigmoid, grad)
    assert not verdict and verdict.status == "wrong"
    assert hint in verdict.hint


def test_check_sigmoid_diagnoses_a_wrong_sign_in_the_exponent(log):
    verdict = bp.exercises.check_sigmoid(lambda x: 1 / (1 + np.exp(x)), sigmoid_grad)
    assert "sign in the exponent" in verdict.hint and "expected" in verdict.message


def test_stub_is_not_attempted_and_crash_is_feedback(log):
    def stub(x):
        raise NotImplementedError()

    verdict = bp.exercises.check_sigmoid(stub, stub)
    assert verdict.status == "not attempted" and "not attempted yet" in verdict.message
    assert str(verdict).endswith('bp.exercises.hint("ex00_sigmoid")')         # where more help is

    def crash(x):
        return x[10]

    verdict = bp.exercises.check_sigmoid(sigmoid, crash)
    assert verdict.status == "wrong"
    assert "raised IndexError" in verdict.message and "`crash`" in verdict.message and "x[10]" in verdict.message


def test_passing_a_value_instead_of_a_function(log):
    verdict = bp.exercises.check_sigmoid(sigmoid(np.zeros(2)), sigmoid_grad)
    assert verdict.status == "wrong" and "pass the function itself" in verdict.hint


def test_the_student_cannot_corrupt_the_check_inputs(log):
    def mutating(x):
        x[...] = 0                      # changes its argument: the check passed a copy
        return sigmoid_grad(np.zeros_like(x))

    verdict = bp.exercises.check_sigmoid(sigmoid, mutating)
    assert verdict.status == "wrong"


def test_generic_diagnoses_of_expect_array():
    expected = np.arange(1.0, 7.0).reshape(2, 3)
    cases = [(expected.T, "transposed"), (np.tile(expected.sum(0), (4, 1)), None),
             (4 * expected, "4 (the batch size) times too large"), (expected / 4, "times too small"),
             (3 * expected, "3 × the expected one"), (np.array(["a"]), None)]
    for got, hint in cases:
        with pytest.raises(core.Wrong) as err:
            core.expect_array(got, expected, "dW", "1", batch=4)
        if hint:
            assert hint in (err.value.hint or ""), (got, err.value.hint)
    with pytest.raises(core.Wrong, match="sum over the batch axis"):
        try:
            core.expect_array(np.ones((5, 3)), np.ones(3), "db", "1")
        except core.Wrong as w:
            raise core.Wrong(w.hint)
    assert core.expect_array(expected + 1e-12, expected, "dW", "1") < 1e-9


def test_bound_hides_the_last_digits():
    # before: 9e-10 read "< 1e-9" on one CPU and 1.1e-9 "< 1e-8" on another: noise is one bound now
    assert core.bound(0) == core.bound(2.3e-10) == core.bound(1.1e-9) == core.bound(9.9e-8) == "< 1e-7"
    assert core.bound(2.3e-6) == core.bound(7.9e-6) == "< 1e-5"


def test_verdict_is_displayed_once():
    verdict = core.Verdict("t", "right", "ok")
    assert verdict._ipython_display_() is None and repr(verdict) == "Verdict('right', 't')"


# ---- hint ladders ------------------------------------------------------------------------

def test_every_exercise_has_a_ladder_of_at_least_two_hints():
    assert len(core.EXERCISES) >= 1
    for ex in core.EXERCISES.values():
        assert len(ex.hints) >= 2, ex.id
        assert len(set(ex.hints)) == len(ex.hints), ex.id


def test_every_exercise_has_a_solution_cell_in_its_notebook():
    for ex in core.EXERCISES.values():
        path = ROOT / "notebooks" / f"{ex.lesson}.ipynb"
        if not path.exists():
            pytest.fail(f"{ex.id}: lesson notebook {path.name} is missing")
        text = hints.solution(ex, start=ROOT)
        assert "not part of this release" not in text and "has no solution cell" not in text, ex.id


def test_hint_rungs_come_in_order_then_the_solution(capsys, log):
    hints._shown.pop("ex00_sigmoid", None)
    ex = hints.find("sigmoid")
    for n, expected in enumerate(ex.hints, start=1):
        bp.exercises.hint("sigmoid")
        out = capsys.readouterr().out
        assert out.startswith(f"Hint {n} of {len(ex.hints)}") and expected in out
    bp.exercises.hint("sigmoid")
    out = capsys.readouterr().out
    assert out.startswith("Reference solution") and "return" in out and "BEGIN SOLUTION" not in out
    bp.exercises.hint("sigmoid", rung=1)
    assert capsys.readouterr().out.startswith("Hint 1 of")
    rungs = [e["rung"] for e in bp.progress_log.events(log) if e["kind"] == "hint"]
    assert rungs == [1, 2, 3, 4, 1]


def test_solution_rung_refuses_in_a_graded_release(tmp_path):
    (tmp_path / hints.RELEASE_MARKER).write_text("")
    (tmp_path / "sub").mkdir()
    assert "not part of this release" in hints.solution("sigmoid", start=tmp_path / "sub")
    assert "not part of this release" in hints.solution("sigmoid", notebooks=tmp_path / "nowhere", start=ROOT)


def test_find_accepts_id_title_short_name_and_check():
    ex = hints.find("ex00_sigmoid")
    assert hints.find("sigmoid") is ex and hints.find(bp.exercises.check_sigmoid) is ex
    assert hints.find("sigmoid and its derivative") is ex
    with pytest.raises(ValueError, match="no exercise called 'nope'"):
        hints.find("nope")


# ---- predictions ---------------------------------------------------------------------------

@pytest.mark.parametrize("prediction,measured,expected", [
    (10, 12, "within ×2"), (10, 60, "within ×10"), (1, 500, "further than ×10"),
    (-1, 3, "opposite sign (or zero)"), (5, 5, "within ×2"), (0.5, 0.09, "within ×10")])
def test_closeness(prediction, measured, expected):
    assert closeness(prediction, measured) == expected


def test_reveal_with_and_without_a_prediction(capsys, log):
    bp.exercises.reveal("ratio", None, 123.4, "because.")
    out = capsys.readouterr().out
    assert "measured 123" in out and "No prediction entered" in out and "Why: because." in out
    bp.exercises.reveal("ratio", 100, 123.4, "because.", lesson="05")
    assert "you predicted 100, measured 123: within ×2." in capsys.readouterr().out
    assert [e["kind"] for e in bp.progress_log.events(log)] == ["prediction"]


# ---- challenges ------------------------------------------------------------------------------

def test_challenge_goal_budget_and_logging(log):
    c = Challenge("t.low_loss", "99_test", "test_widget", "Reach loss < 0.1 within 100 steps.",
                  metric="loss", target=0.1, budget={"steps": 100})
    bp.challenges.register(c)
    try:
        tracker = ChallengeTracker("test_widget")
        assert tracker.update({"loss": 0.5}, {"steps": 50}).startswith("🎯 Reach loss")
        assert "Over budget: steps" in tracker.update({"loss": 0.01}, {"steps": 500})
        assert tracker.update({"loss": 0.01}, {"steps": 100}).startswith("✓ Challenge met!")
        tracker.update({"loss": 0.01}, {"steps": 90})
        met = [e for e in bp.progress_log.events(log) if e["kind"] == "challenge"]
        assert len(met) == 1 and met[0]["item"] == "t.low_loss"              # logged once
        assert not c.met({"loss": float("nan")}, {"steps": 1})
    finally:
        bp.challenges.CHALLENGES.pop("t.low_loss")


def test_every_lesson_from_01_has_a_challenge():
    lessons = {ex.lesson for ex in core.EXERCISES.values()} - {"00_welcome"}
    with_challenge = {c.lesson for c in bp.challenges.CHALLENGES.values()}
    assert lessons <= with_challenge, sorted(lessons - with_challenge)


# ---- the progress log ------------------------------------------------------------------------

def test_progress_reflects_a_passing_check(log, capsys):
    bp.exercises.check_sigmoid(sigmoid, lambda x: x)
    assert bp.progress(plot=False)["exercises"]["00_welcome"]["ex00_sigmoid"] == "tried"
    bp.exercises.check_sigmoid(sigmoid, sigmoid_grad)
    summary = bp.progress(plot=False)
    assert summary["exercises"]["00_welcome"]["ex00_sigmoid"] == "done"
    assert "✓ sigmoid" in capsys.readouterr().out


def test_corrupt_or_missing_log_never_breaks_a_lesson(log):
    assert bp.progress_log.events(log) == []                              # missing: empty
    bp.progress_log.record("check", "00_welcome", "ex00_sigmoid", status="right")
    with open(log, "a") as f:
        f.write("{not json\n[1, 2]\n")
    bp.progress_log.record("hint", "00_welcome", "ex00_sigmoid", rung=1)
    with pytest.warns(UserWarning, match="skipped 2 unreadable line"):
        kinds = [e["kind"] for e in bp.progress_log.events(log)]
    assert kinds == ["check", "hint"]
    assert json.loads(log.read_text().splitlines()[0])["status"] == "right"


def test_unwritable_log_is_ignored(tmp_path, monkeypatch):
    (tmp_path / "a-file").write_text("")
    monkeypatch.setenv("BPCOURSE_PROGRESS", str(tmp_path / "a-file" / "progress.jsonl"))
    bp.progress_log.record("check", "00", "x")                              # no exception


def test_case_rng_is_the_same_for_a_student_and_secret_under_the_grader():
    from bpcourse.exercises.core import case_rng, hidden_cases
    public = case_rng(3).standard_normal(4)
    assert np.array_equal(public, case_rng(3).standard_normal(4))
    with hidden_cases(12345):
        hidden = case_rng(3).standard_normal(4)
        assert np.array_equal(hidden, case_rng(3).standard_normal(4))
    with hidden_cases(999):
        other = case_rng(3).standard_normal(4)
    assert not np.allclose(public, hidden) and not np.allclose(hidden, other)
    assert np.array_equal(public, case_rng(3).standard_normal(4))    # restored afterwards
