"""Every perturbation stays in its budget, for both norms (property-based, with hypothesis)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from attack_helpers import OBS_DIM, SLICE, DirectionPolicy, named_attacker
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from advrec_gym.attacks import APGD, ATTACKERS, FGSM, PGD, Budget, LearnedAdversary, QueryAttack, RandomNoise

# float32 rounding of o + d: one ulp of a coordinate of size <= 1.5, and the L2 sum over 24 coordinates.
ATOL, RTOL = 1e-6, 1e-5

norms = st.sampled_from(["inf", "2"])
eps_values = st.one_of(st.just(0.0), st.floats(1e-4, 0.5), st.floats(0.5, 3.0))
deltas = arrays(np.float32, st.tuples(st.integers(1, 6), st.integers(1, 40)), elements=st.floats(-5, 5, width=32))
observations = arrays(
    np.float32, st.tuples(st.integers(1, 5), st.just(OBS_DIM)), elements=st.floats(-1.0, 1.0, width=32)
)


def within(budget: Budget, delta: np.ndarray) -> bool:
    return bool(np.all(budget.norm_of(delta) <= budget.eps * (1 + RTOL) + ATOL))


@given(delta=deltas, eps=eps_values, norm=norms)
def test_projection_lands_in_the_ball_and_keeps_points_inside(delta, eps, norm):
    budget = Budget(eps, norm)
    projected = budget.project(delta)
    assert within(budget, projected)
    inside = budget.norm_of(delta.astype(np.float64)) <= eps  # float64: float32 norms of tiny rows underflow
    np.testing.assert_allclose(projected[inside], delta[inside], rtol=1e-6)  # already feasible: unchanged
    torch_projected = budget.project(torch.from_numpy(delta)).numpy()
    np.testing.assert_allclose(torch_projected, projected, rtol=1e-5, atol=1e-7)


@given(eps=eps_values, norm=norms, n=st.integers(1, 8), d=st.integers(1, 50), seed=st.integers(0, 2**16))
def test_samples_and_unit_directions_are_in_the_ball(eps, norm, n, d, seed):
    budget = Budget(eps, norm)
    rng = np.random.default_rng(seed)
    sample = budget.sample(rng, (n, d))
    assert sample.shape == (n, d) and sample.dtype == np.float32 and within(budget, sample)
    direction = rng.uniform(-1, 1, (n, d)).astype(np.float32)
    assert within(budget, budget.from_unit(direction))
    corner = np.ones((1, d), dtype=np.float32)  # the box's corner lands on the ball's boundary
    assert budget.norm_of(budget.from_unit(corner))[0] == pytest.approx(eps, rel=1e-5, abs=1e-9)


def make_attackers(victim, budget, embeddings):
    """Every attacker make_attacker knows (small settings), plus the legacy PGD's other objectives."""
    attackers = [named_attacker(name, victim, budget, embeddings) for name in sorted(ATTACKERS)]
    return attackers + [
        PGD(victim, budget, steps=3, objective="kl", seed=0),
        PGD(victim, budget, steps=3, objective="target", target=5),
        APGD(victim, budget, steps=3, objective="target", target=5),
        APGD(victim, budget, steps=4, restarts=2, schedule="cosine", objective="action", seed=0),
        FGSM(victim, budget, objective="topk"),
        LearnedAdversary(DirectionPolicy(OBS_DIM, SLICE.stop), budget),
    ]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(obs=observations, eps=eps_values, norm=norms)
def test_every_attacker_stays_in_budget_bounds_and_slice(victim, tiny_catalogue, obs, eps, norm):
    budget = Budget(eps, norm)
    for attacker in make_attackers(victim, budget, tiny_catalogue.embeddings):
        perturbed = attacker.perturb(obs)
        assert perturbed.shape == obs.shape and perturbed.dtype == np.float32
        assert np.all(np.isfinite(perturbed))
        delta = perturbed - obs
        assert within(budget, delta[:, SLICE]), (attacker, budget.norm_of(delta[:, SLICE]).max())
        np.testing.assert_array_equal(perturbed[:, SLICE.stop :], obs[:, SLICE.stop :])  # scalars untouched
        assert perturbed[:, SLICE].min() >= -1.0 and perturbed[:, SLICE].max() <= 1.0  # observation bounds
        if eps == 0.0:
            np.testing.assert_array_equal(perturbed, obs)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    obs=arrays(np.float32, (3, OBS_DIM), elements=st.floats(-1.5, 1.5, width=32)),
    eps=st.floats(1e-3, 1.0),
    norm=norms,
)
def test_clipping_never_grows_a_perturbation_even_from_outside_the_bounds(victim, obs, eps, norm):
    """Clean coordinates beyond [-1, 1] (not produced by the env) must still not break the budget."""
    budget = Budget(eps, norm)
    attackers = (
        RandomNoise(budget, seed=1),
        PGD(victim, budget, steps=2),
        APGD(victim, budget, steps=3, restarts=2, seed=0),
        QueryAttack(victim, budget, objective="topk", queries=20, samples=2, seed=0),
    )
    for attacker in attackers:
        delta = attacker.perturb(obs) - obs
        assert within(budget, delta[:, SLICE])
        inside = np.abs(obs[:, SLICE]) <= 1.0
        assert np.all(np.abs((obs + delta)[:, SLICE][inside]) <= 1.0)


def test_a_large_budget_is_used_up_by_gradient_attacks(victim, observations):
    """Sign steps reach the L-inf ball's faces; L2 steps its sphere (when the bounds do not bind)."""
    obs = observations[:16]
    linf = FGSM(victim, Budget(0.01, "inf")).perturb(obs) - obs
    assert np.abs(linf[:, SLICE]).max(axis=1) == pytest.approx(np.full(16, 0.01), rel=1e-4)
    l2 = FGSM(victim, Budget(0.1, "2")).perturb(obs) - obs
    assert np.linalg.norm(l2[:, SLICE], axis=1) == pytest.approx(np.full(16, 0.1), rel=1e-4)


@pytest.mark.parametrize(
    ("kwargs", "error", "words"),
    [
        ({"eps": -0.1}, ValueError, "eps must be a finite number in [0.0, inf), got eps=-0.1"),
        ({"eps": math.nan}, ValueError, "eps must be a finite number >= 0"),
        ({"eps": math.inf}, ValueError, "eps must be a finite number"),
        ({"eps": "0.1"}, TypeError, "eps must be a number"),
        ({"eps": 0.1, "norm": "lnf"}, ValueError, "Did you mean 'inf'?"),
        ({"eps": 0.1, "norm": 1}, ValueError, "norm must be one of ['inf', '2'], got norm='1'"),
    ],
)
def test_bad_budgets_are_refused_with_the_argument_named(kwargs, error, words):
    with pytest.raises(error) as info:
        Budget(**kwargs)
    assert words in str(info.value)


def test_norm_aliases_are_accepted():
    assert Budget(0.1, "linf").norm == Budget(0.1, math.inf).norm == "inf"
    assert Budget(0.1, "L2").norm == Budget(0.1, 2).norm == "2"
