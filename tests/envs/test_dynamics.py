"""Drift, history averages, budget and episode end, checked by hand on a 2-d catalogue.

Items e0 = (1, 0), e1 = (0.8, 0.6), e2 = (0.6, 0.8); the user's interest is u = (1, 0). Each test
forces the click draw through the slot's uniform: 1 - 1e-12 is above P(no click), so a click (of the
last valid slot whose cdf it passes; for one item, the item); 0.0 is never a click.
"""

from __future__ import annotations

import numpy as np
import pytest

from advrec_gym import Catalogue, UserModel
from advrec_gym.v0 import AdvRecEnv, AdvRecVectorEnv, HistoryRates

TRIANGLE = np.array([[1.0, 0.0], [0.8, 0.6], [0.6, 0.8]])
CLICK, SKIP = 1.0 - 1e-12, 0.0


def _env(budget: float = 50.0, drift: float = 0.5, **kwargs) -> AdvRecEnv:
    env = AdvRecEnv(catalogue=Catalogue.from_embeddings(TRIANGLE, topics=["a", "a", "b"]), **kwargs)
    env.reset(seed=0)
    eng = env.engine
    eng.interest[0] = (1.0, 0.0)
    eng.budget[0], eng.drift[0], eng.fatigue[0] = budget, drift, 0.0
    return env


def _step(env: AdvRecEnv, action, uniform: float):
    eng = env.engine
    eng.uniforms[0, eng.t[0] % eng.uniforms.shape[1]] = uniform
    return env.step(action)


def test_click_drifts_interest_and_updates_the_averages():
    # Click e2 with drift 0.5: u <- normalise((1, 0) + 0.5 ((0.6, 0.8) - (1, 0))) = normalise((0.8, 0.4))
    #                            = (0.8944272, 0.4472136)
    # clicked <- 0 + 0.3 (e2 - 0) = (0.18, 0.24);  shown <- 0 + 0.5 (e2 - 0) = (0.3, 0.4);  skipped stays 0
    # scalars: last_click 1, click_rate_ema 0 + 0.3 (1 - 0) = 0.3, episode_ctr 1 / 1 = 1
    env = _env()
    obs, reward, terminated, truncated, info = _step(env, 2, CLICK)
    assert (reward, terminated, truncated, info) == (1.0, False, False, {"click": True, "clicked_item": 2})
    np.testing.assert_allclose(env.engine.interest[0], [0.8944272, 0.4472136], atol=1e-6)
    np.testing.assert_allclose(obs, [0.18, 0.24, 0.0, 0.0, 0.3, 0.4, 1.0, 0.3, 1.0], atol=1e-6)
    assert env.engine.budget[0] == 49.0  # a click costs 1


def test_skip_leaves_interest_and_updates_skipped_average():
    # Skip e1: u unchanged; skipped <- 0.3 e1 = (0.24, 0.18); shown <- 0.5 e1 = (0.4, 0.3)
    # scalars: last_click 0, click_rate_ema 0, episode_ctr 0 / 1
    env = _env()
    obs, reward, *_ = _step(env, 1, SKIP)
    assert reward == 0.0
    np.testing.assert_array_equal(env.engine.interest[0], [1.0, 0.0])
    np.testing.assert_allclose(obs, [0.0, 0.0, 0.24, 0.18, 0.4, 0.3, 0.0, 0.0, 0.0], atol=1e-6)
    assert env.engine.budget[0] == 48.0  # 1 + skip_cost 1


def test_two_steps_of_averages_and_scalars():
    # Step 1 click e0: clicked (0.3, 0), shown (0.5, 0), click_rate 0.3, ctr 1
    # Step 2 skip e2:  skipped 0.3 (0.6, 0.8) = (0.18, 0.24); shown (0.5, 0) + 0.5 ((0.6, 0.8) - (0.5, 0))
    #                  = (0.55, 0.4); click_rate 0.3 + 0.3 (0 - 0.3) = 0.21; ctr 1 / 2 = 0.5
    env = _env(drift=0.0)
    _step(env, 0, CLICK)
    obs, *_ = _step(env, 2, SKIP)
    np.testing.assert_allclose(obs, [0.3, 0.0, 0.18, 0.24, 0.55, 0.4, 0.0, 0.21, 0.5], atol=1e-6)
    np.testing.assert_array_equal(env.engine.interest[0], [1.0, 0.0])  # drift 0 never moves it


def test_slate_shown_average_counts_duplicates():
    # Slate [e0, e0, e2] skipped: shown mean = (1 + 1 + 0.6, 0 + 0 + 0.8) / 3 = (0.8666667, 0.2666667)
    # shown <- 0.5 * mean = (0.4333333, 0.1333333); skipped <- 0.3 * mean = (0.26, 0.08)
    env = _env(slate_size=3)
    obs, *_ = _step(env, np.array([0, 0, 2]), SKIP)
    np.testing.assert_allclose(obs[2:6], [0.26, 0.08, 0.4333333, 0.1333333], atol=1e-6)


def test_slate_click_credits_the_clicked_item():
    # Slate [e1, e2], uniform just below 1: the last slot (e2) is clicked.
    # clicked <- 0.3 e2 = (0.18, 0.24); shown <- 0.5 * mean(e1, e2) = 0.5 (0.7, 0.7) = (0.35, 0.35)
    env = _env(slate_size=2)
    obs, reward, _, _, info = _step(env, np.array([1, 2]), CLICK)
    assert info["clicked_item"] == 2 and reward == 1.0
    np.testing.assert_allclose(obs[:6], [0.18, 0.24, 0.0, 0.0, 0.35, 0.35], atol=1e-6)


def test_engagement_reward_is_the_clipped_affinity_before_drift():
    # Click e2 with u = (1, 0): reward <u, e2> = 0.6 (the drift applies after the reward).
    env = _env(reward="engagement")
    _, reward, *_ = _step(env, 2, CLICK)
    assert reward == pytest.approx(0.6, abs=1e-6)
    # A user facing away from e2 (u = (-1, 0), affinity -0.6) gives 0 even on a click.
    env = _env(reward="engagement")
    env.engine.interest[0] = (-1.0, 0.0)
    _, reward, _, _, info = _step(env, 2, CLICK)
    assert info["click"] and reward == 0.0


def test_budget_runs_down_faster_after_skips_and_terminates_when_spent():
    # budget 5, skip_cost 1.5: click -> 4; skip -> 4 - 2.5 = 1.5; click -> 0.5; skip -> -2 (terminated)
    env = _env(budget=5.0, skip_cost=1.5)
    expected = [(CLICK, 4.0, False), (SKIP, 1.5, False), (CLICK, 0.5, False), (SKIP, -2.0, True)]
    for uniform, budget, done in expected:
        _, _, terminated, truncated, _ = _step(env, 1, uniform)
        assert env.engine.budget[0] == pytest.approx(budget)
        assert terminated is done and truncated is False


def test_budget_exactly_zero_terminates():
    # budget 3, skip_cost 1: click -> 2, skip -> 0 -> terminated (the user leaves at B <= 0)
    env = _env(budget=3.0)
    assert _step(env, 0, CLICK)[2] is False
    assert _step(env, 0, SKIP)[2] is True


def test_skip_cost_zero_means_one_per_step():
    env = _env(budget=3.0, skip_cost=0.0)
    assert [_step(env, 1, SKIP)[2] for _ in range(3)] == [False, False, True]


def test_history_rates_are_used():
    # shown rate 1: shown = the last shown item; clicked rate 1: clicked = the last clicked item
    rates = HistoryRates(clicked=1.0, skipped=0.5, shown=1.0, click_rate=1.0)
    env = _env(history_rates=rates)
    _step(env, 2, CLICK)
    obs, *_ = _step(env, 1, SKIP)
    # clicked = e2, skipped = 0.5 e1 = (0.4, 0.3), shown = e1, last_click 0, click_rate 0, ctr 0.5
    np.testing.assert_allclose(obs, [0.6, 0.8, 0.4, 0.3, 0.8, 0.6, 0.0, 0.0, 0.5], atol=1e-6)


def test_vector_env_truncates_at_max_episode_steps_and_not_the_single_env():
    catalogue = Catalogue.from_embeddings(TRIANGLE, topics=["a", "a", "b"])
    patient = UserModel(budget_range=(1000.0, 1000.0))
    venv = AdvRecVectorEnv(2, catalogue=catalogue, user_model=patient, max_episode_steps=7)
    venv.reset(seed=0)
    flags = [venv.step(np.array([0, 1]))[3].tolist() for _ in range(15)]
    assert flags == [[False, False]] * 6 + [[True, True]] + [[False, False]] * 6 + [[True, True]] + [[False, False]]
    single = AdvRecEnv(catalogue=catalogue, user_model=patient)
    single.reset(seed=0)
    assert not any(single.step(0)[3] for _ in range(150))  # the bare env leaves truncation to TimeLimit
