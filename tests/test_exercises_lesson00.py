"""Lesson 00's gradient-descent check: the reference passes, each typical mistake gets its own
hint, a stub is "not attempted". (The sigmoid check is tested in test_feedback.py.)"""
import numpy as np
import pytest

from bpcourse.exercises import check_gradient_descent


def gradient_descent(grad, x0, lr, steps):
    xs = [np.array(x0, dtype=float)]
    for _ in range(steps):
        xs.append(xs[-1] - lr * grad(xs[-1]))
    return xs


def ascent(grad, x0, lr, steps):
    return gradient_descent(lambda x: -grad(x), x0, lr, steps)


def no_lr(grad, x0, lr, steps):
    return gradient_descent(grad, x0, 1.0, steps)


def final_only(grad, x0, lr, steps):
    return gradient_descent(grad, x0, lr, steps)[-1]


def without_x0(grad, x0, lr, steps):
    return gradient_descent(grad, x0, lr, steps)[1:]


def one_step_more(grad, x0, lr, steps):
    return gradient_descent(grad, x0, lr, steps + 1)


def in_place(grad, x0, lr, steps):
    x, xs = np.array(x0, dtype=float), []
    xs.append(x)
    for _ in range(steps):
        x -= lr * grad(x)
        xs.append(x)
    return xs


def x0_twice(grad, x0, lr, steps):
    return [np.array(x0, dtype=float)] + gradient_descent(grad, x0, lr, steps)[:-1]


def stub(grad, x0, lr, steps):
    raise NotImplementedError()


def test_reference_passes_and_says_what_it_verified():
    verdict = check_gradient_descent(gradient_descent)
    assert verdict and verdict.status == "right"
    assert "diverges" in verdict.message and "3 bowls" in verdict.message


def test_a_list_of_plain_lists_is_accepted():
    assert check_gradient_descent(lambda g, x0, lr, n: [list(x) for x in gradient_descent(g, x0, lr, n)])


@pytest.mark.parametrize("wrong, hint", [
    (ascent, "your points climb"),
    (no_lr, "ignores lr"),
    (final_only, "collect every point in a list"),
    (without_x0, "include the starting point x0"),
    (one_step_more, "visit"),
    (in_place, "build a new array for each point"),
    (x0_twice, "lags one step behind"),
    (lambda g, x0, lr, n: None, "return the list"),
], ids=["ascent", "no-lr", "final-only", "without-x0", "one-step-more", "in-place", "x0-twice", "none"])
def test_typical_mistakes_get_their_hint(wrong, hint):
    verdict = check_gradient_descent(wrong)
    assert verdict.status == "wrong"
    assert hint in verdict.hint, verdict


def test_not_attempted_and_crashes():
    assert check_gradient_descent(stub).status == "not attempted"
    boom = check_gradient_descent(lambda g, x0, lr, n: g(x0)[5])
    assert boom.status == "wrong" and "IndexError" in boom.message
