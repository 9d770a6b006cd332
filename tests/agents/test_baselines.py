"""The reference policies: what each one picks, and oracle > popularity > random on the default env."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

from advrec_gym.evaluation import evaluate
from advrec_gym.v0 import AdvRecEnv, AdvRecVectorEnv
from agents.baselines import BASELINES, OraclePolicy, PopularityPolicy, RandomPolicy, make_baseline


# ---------------------------------------------------------------------------- what each policy picks
def test_random_policy_is_uniform_and_in_range():
    policy = RandomPolicy(20, seed=0)
    actions, state = policy.predict(np.zeros((20_000, 5)))
    assert state is None and actions.shape == (20_000,) and actions.dtype == np.int64
    freq = np.bincount(actions, minlength=20) / 20_000
    np.testing.assert_allclose(freq, 1 / 20, atol=0.006)  # 4 standard errors of 0.0015


def test_random_policy_slates_have_no_repeats():
    actions, _ = RandomPolicy(6, slate_size=6, seed=1).predict(np.zeros((500, 5)))
    assert actions.shape == (500, 6)
    np.testing.assert_array_equal(np.sort(actions, axis=1), np.tile(np.arange(6), (500, 1)))


def test_single_observation_gives_a_single_action():
    action, _ = RandomPolicy(20, seed=0).predict(np.zeros(5))
    assert np.ndim(action) == 0 and 0 <= action < 20
    slate, _ = RandomPolicy(20, slate_size=3, seed=0).predict(np.zeros(5))
    assert slate.shape == (3,) and len(set(slate.tolist())) == 3


def test_same_seed_same_actions():
    a, _ = RandomPolicy(20, seed=3).predict(np.zeros((50, 5)))
    b, _ = RandomPolicy(20, seed=3).predict(np.zeros((50, 5)))
    c, _ = RandomPolicy(20, seed=4).predict(np.zeros((50, 5)))
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_popularity_policy_samples_in_proportion_to_the_prior(tiny_catalogue):
    # tiny_catalogue's prior is proportional to 1 / (1 + i): item 0 gets 1 / H_20 = 1 / 3.5977 = 0.2780
    policy = PopularityPolicy(tiny_catalogue, seed=0)
    actions, _ = policy.predict(np.zeros((40_000, 5)))
    freq = np.bincount(actions, minlength=20) / 40_000
    prior = 1.0 / (1.0 + np.arange(20))
    prior /= prior.sum()
    assert prior[0] == pytest.approx(0.2780, abs=1e-4)
    np.testing.assert_allclose(freq, prior, atol=0.01)


def test_popularity_policy_deterministic_shows_the_top_items(tiny_catalogue):
    actions, _ = PopularityPolicy(tiny_catalogue, slate_size=3).predict(np.zeros((4, 5)), deterministic=True)
    np.testing.assert_array_equal(actions, np.tile([0, 1, 2], (4, 1)))
    slates, _ = PopularityPolicy(tiny_catalogue, slate_size=3, seed=0).predict(np.zeros((300, 5)))
    assert all(len(set(row)) == 3 for row in slates.tolist())  # sampled without replacement


def test_oracle_shows_the_items_with_the_highest_true_click_probability(tiny_catalogue):
    venv = AdvRecVectorEnv(6, catalogue=tiny_catalogue, slate_size=2)
    obs, _ = venv.reset(seed=0)
    policy = OraclePolicy(venv)
    for _ in range(5):
        p = venv.engine.click_probabilities()
        actions, _ = policy.predict(obs)
        chosen = np.take_along_axis(p, actions, axis=1)
        np.testing.assert_array_equal(chosen[:, 0], p.max(axis=1))
        assert np.all(chosen[:, 0] >= chosen[:, 1]) and np.all(chosen[:, 1] >= np.sort(p, axis=1)[:, -2])
        obs, *_ = venv.step(actions)


def test_oracle_on_the_single_env(tiny_catalogue):
    env = gym.make("AdvRec-v0", catalogue=tiny_catalogue)
    obs, _ = env.reset(seed=0)
    action, _ = OraclePolicy(env).predict(obs)
    assert np.ndim(action) == 0
    assert action == np.argmax(env.unwrapped.engine.click_probabilities()[0])


def test_make_baseline_by_name(tiny_catalogue):
    env = AdvRecEnv(catalogue=tiny_catalogue, slate_size=2)
    assert BASELINES == ("random", "popularity", "oracle")
    assert isinstance(make_baseline("random", env, seed=0), RandomPolicy)
    assert make_baseline("popularity", env).slate_size == 2
    assert make_baseline("oracle", env).engine is env.engine
    with pytest.raises(ValueError, match="Did you mean 'oracle'"):
        make_baseline("orcale", env)


# ---------------------------------------------------------------------------- the ranking
# Measured on the default env (1,000 items, 20 topics; 16 slots, 96 episodes, seeds 0-2):
#   slate 1: random 3.2-3.4, popularity 4.7-4.9, oracle 35.2-35.4 (standard errors 0.2, 0.3, 0.9)
#   slate 3: random 8.3-9.0, popularity 12.4-12.6, oracle 39.5-39.6
# Random and popularity are cheap, so they get 400 episodes (standard errors about 0.1-0.15).
@pytest.mark.slow
@pytest.mark.parametrize(("slate_size", "pop_gap"), [(1, 0.7), (3, 2.0)])
def test_oracle_beats_popularity_beats_random_on_the_default_env(slate_size, pop_gap):
    venv = gym.make_vec("AdvRec-v0", num_envs=16, vectorization_mode="vector_entry_point", slate_size=slate_size)
    rand = evaluate(venv, make_baseline("random", venv, seed=0), episodes=400, seed=0)
    pop = evaluate(venv, make_baseline("popularity", venv, seed=0), episodes=400, seed=0)
    oracle = evaluate(venv, make_baseline("oracle", venv), episodes=48, seed=0)
    assert len(rand.returns) == len(pop.returns) == 400 and len(oracle.returns) == 48
    assert pop.mean_return > rand.mean_return + pop_gap
    assert pop.ctr > rand.ctr
    assert oracle.mean_return > 2.5 * pop.mean_return
    assert oracle.ctr > 0.8
