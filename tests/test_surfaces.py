"""The optimizer lesson's 2-D surfaces: gradients match numerical ones, minima are minima,
and ``run`` drives the package's real optimizers."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import bpcourse as bp
from bpcourse import surfaces as S

SURFACES = list(S.SURFACES.values())


@pytest.mark.parametrize("surface", SURFACES, ids=lambda s: s.name)
def test_gradient_matches_numerical_gradient(surface):
    rng = np.random.default_rng(1)
    for _ in range(5):
        p = np.array([rng.uniform(*surface.xlim), rng.uniform(*surface.ylim)])
        numeric = bp.numerical_gradient(lambda q: surface(q), p.copy())
        assert bp.rel_error(surface.grad(p), numeric) < 1e-7


@settings(max_examples=40, deadline=None)
@given(name=st.sampled_from(sorted(S.SURFACES)), u=st.floats(0, 1), v=st.floats(0, 1))
def test_gradient_matches_numerical_gradient_anywhere_in_the_window(name, u, v):
    surface = S.SURFACES[name]
    p = np.array([surface.xlim[0] + u * (surface.xlim[1] - surface.xlim[0]),
                  surface.ylim[0] + v * (surface.ylim[1] - surface.ylim[0])])
    numeric = bp.numerical_gradient(lambda q: surface(q), p.copy())
    analytic = surface.grad(p)
    # relative error, with an absolute floor where the gradient itself is ~0 (at stationary points)
    assert np.allclose(analytic, numeric, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("surface", [s for s in SURFACES if s.minimum is not None], ids=lambda s: s.name)
def test_minimum_is_stationary_and_lowest_on_a_grid(surface):
    assert np.linalg.norm(surface.grad(np.array(surface.minimum))) < 1e-3
    assert surface(surface.minimum) == pytest.approx(surface.min_value, abs=1e-5)
    gx, gy = np.meshgrid(np.linspace(*surface.xlim, 201), np.linspace(*surface.ylim, 201))
    assert surface.f(gx, gy).min() >= surface.min_value - 1e-6


def test_known_values():
    # six-hump camel: the textbook global minimum -1.0316 at (±0.0898, ∓0.7126)
    assert S.SURFACES["camel"]((-0.08984, 0.71266)) == pytest.approx(-1.0316, abs=1e-4)
    assert S.SURFACES["rosenbrock"]((1.0, 1.0)) == 0.0
    assert S.SURFACES["saddle"]((1.0, 2.0)) == -3.0


def test_run_plain_gd_matches_hand_computed_steps():
    # bowl ½(x² + 10y²): one GD step multiplies x by (1 - lr) and y by (1 - 10 lr)
    path = S.run("bowl", S.make_optimizer("GD", lr=0.05), steps=3, start=(1.0, 1.0))
    assert path.points.shape == (4, 2)
    assert np.allclose(path.points[-1], [0.95 ** 3, 0.5 ** 3])
    assert np.allclose(path.values, [S.SURFACES["bowl"](p) for p in path.points])
    assert not path.diverged


def test_run_accepts_any_optimizer_factory_and_names_it():
    path = S.run("bowl", lambda ps: bp.Adam(ps, lr=0.1), steps=200)
    assert path.name == "Adam" and path.final_value < 1e-3


def test_divergent_learning_rate_stops_and_says_so():
    with np.errstate(all="raise"):          # the runner itself must not overflow
        path = S.run("bowl", S.make_optimizer("GD", lr=0.3), steps=500)
    assert path.diverged and np.all(np.isfinite(path.points))
    assert len(path.points) < 501


def test_gd_is_stuck_on_the_saddle_ridge_and_noise_frees_it():
    stuck = S.run("saddle", S.make_optimizer("GD", lr=0.1), steps=60)
    assert np.allclose(stuck.final, 0, atol=1e-4)            # converged to the saddle point
    free = S.run("saddle", S.make_optimizer("GD", lr=0.1), steps=60, noise=0.1, seed=0)
    assert free.final_value < -1                                # rolled off along y


def test_momentum_escapes_the_shallow_well_that_gd_gets_stuck_in():
    s = S.SURFACES["gaussians"]
    gd = S.run(s, S.make_optimizer("GD", lr=0.3), steps=100)
    mom = S.run(s, S.make_optimizer("Momentum", lr=0.3, momentum=0.9), steps=100)
    assert gd.final_value > s.min_value + 0.3
    assert mom.final_value < s.min_value + 1e-3


def test_scheduler_is_stepped_every_step():
    path = S.run("bowl", S.make_optimizer("GD", lr=0.1), steps=5, start=(1.0, 0.0),
                 scheduler=lambda opt: bp.StepLR(opt, step_size=1, gamma=0.5))
    # lr 0.1, 0.05, 0.025, ...: x is multiplied by 0.9, 0.95, 0.975, ...
    expected = np.cumprod([1 - 0.1 * 0.5 ** k for k in range(5)])
    assert np.allclose(path.points[1:, 0], expected)


def test_unknown_optimizer_name_is_a_clear_error():
    with pytest.raises(ValueError, match="choose one of"):
        S.make_optimizer("Adamm", lr=0.1)


def test_make_optimizer_uses_pytorchs_defaults_per_optimizer():
    # RMSprop's alpha defaults to 0.99: its first step is lr / sqrt(1 - 0.99) = 10 lr in each coordinate
    path = S.run("bowl", S.make_optimizer("RMSprop", lr=0.05), steps=1)
    assert np.allclose(np.abs(path.points[1] - path.points[0]), 0.5, rtol=1e-6)
    path = S.run("bowl", S.make_optimizer("RMSprop", lr=0.05, alpha=0.999), steps=1)
    assert np.allclose(np.abs(path.points[1] - path.points[0]), 0.05 / np.sqrt(0.001), rtol=1e-6)
    # Adam's beta2 stays 0.999 and does not move RMSprop
    adam = S.make_optimizer("Adam", lr=0.1)([bp.Parameter(np.zeros(2))])
    assert adam.param_groups[0]["betas"] == (0.9, 0.999)


def test_nesterov_without_momentum_is_plain_gradient_descent():
    gd = S.run("bowl", S.make_optimizer("GD", 0.05), 10)
    nesterov = S.run("bowl", S.make_optimizer("Nesterov", 0.05, momentum=0.0), 10)
    assert np.array_equal(gd.points, nesterov.points)
