"""Gymnasium's and stable-baselines3's env checkers, and the vector API contract, on every registered id."""

from __future__ import annotations

import warnings

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env as gym_check_env
from gymnasium.utils.env_checker import data_equivalence
from gymnasium.vector import AutoresetMode
from stable_baselines3.common.env_checker import check_env as sb3_check_env

import advrec_gym
from advrec_gym.v0 import AdvRecEnv, AdvRecVectorEnv

# Each registered id with its default arguments (the shipped catalogue, loaded from the embedding
# cache) and with a slate.
CASES = [(env_id, kwargs) for env_id in ("AdvRec-v0",) for kwargs in ({}, {"slate_size": 3})]
CASE_IDS = [f"{env_id}-{kwargs}" for env_id, kwargs in CASES]


@pytest.mark.slow
@pytest.mark.parametrize(("env_id", "kwargs"), CASES, ids=CASE_IDS)
def test_gymnasium_check_env_passes_without_warnings(env_id, kwargs):
    env = gym.make(env_id, **kwargs)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        gym_check_env(env.unwrapped)
    assert [str(w.message) for w in caught] == []
    expected = gym.spaces.Discrete(1000) if not kwargs else gym.spaces.MultiDiscrete([1000] * 3)
    assert env.action_space == expected
    assert env.observation_space.shape == (3 * 384 + 3,)
    assert env.spec.max_episode_steps == 100


@pytest.mark.slow
@pytest.mark.parametrize(("env_id", "kwargs"), CASES, ids=CASE_IDS)
def test_sb3_check_env_passes_without_warnings(env_id, kwargs):
    env = gym.make(env_id, **kwargs)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        sb3_check_env(env.unwrapped, warn=True)
        sb3_check_env(env, warn=True)
    assert [str(w.message) for w in caught] == []


def test_registered_ids_are_the_public_list():
    assert advrec_gym.ENV_IDS == ("AdvRec-v1", "AdvRec-v0")
    spec = gym.spec("AdvRec-v0")
    assert spec.entry_point == "advrec_gym.v0.env:AdvRecEnv"
    assert spec.vector_entry_point == "advrec_gym.v0.vector_env:AdvRecVectorEnv"
    assert spec.max_episode_steps == 100


def test_gymnasium_check_env_on_tiny_catalogue_with_slate(tiny_catalogue):
    env = AdvRecEnv(catalogue=tiny_catalogue, slate_size=20)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        gym_check_env(env, skip_render_check=True, skip_close_check=True)
        sb3_check_env(env, warn=True)
    assert env.action_space == gym.spaces.MultiDiscrete([20] * 20)
    assert env.observation_space.shape == (3 * 8 + 3,)


# ---------------------------------------------------------------------------- vector API
# Gymnasium ships no checker for vector envs; these are the contract its own vector tests check.


@pytest.mark.parametrize("env_id", ["AdvRec-v0"])
@pytest.mark.parametrize("slate_size", [1, 3])
def test_make_vec_gives_native_vector_env_with_batched_spaces(env_id, slate_size, tiny_catalogue):
    venv = gym.make_vec(
        env_id, num_envs=5, vectorization_mode="vector_entry_point", catalogue=tiny_catalogue, slate_size=slate_size
    )
    single = gym.make(env_id, catalogue=tiny_catalogue, slate_size=slate_size)
    assert isinstance(venv, AdvRecVectorEnv)
    assert venv.num_envs == 5
    assert venv.metadata["autoreset_mode"] == AutoresetMode.SAME_STEP
    assert venv.unwrapped.engine.max_episode_steps == 100
    assert venv.single_observation_space == single.observation_space
    assert venv.single_action_space == single.action_space
    assert venv.observation_space == gym.vector.utils.batch_space(single.observation_space, 5)
    assert venv.action_space == gym.vector.utils.batch_space(single.action_space, 5)


@pytest.mark.parametrize("slate_size", [1, 3])
def test_vector_env_returns_data_in_its_spaces(slate_size, tiny_catalogue, long_user_model):
    venv = AdvRecVectorEnv(
        6, catalogue=tiny_catalogue, slate_size=slate_size, user_model=long_user_model, max_episode_steps=100
    )
    obs, info = venv.reset(seed=3)
    assert info == {}
    assert obs.dtype == np.float32 and obs in venv.observation_space
    venv.action_space.seed(3)
    ended = 0
    for _ in range(250):
        obs, reward, terminated, truncated, info = venv.step(venv.action_space.sample())
        assert obs in venv.observation_space
        assert reward.shape == (6,) and reward.dtype == np.float32
        assert terminated.dtype == np.bool_ and truncated.dtype == np.bool_
        assert not np.any(terminated & truncated)
        np.testing.assert_array_equal(info["click"], info["clicked_item"] >= 0)
        np.testing.assert_array_equal(reward, info["click"].astype(np.float32))
        if "final_obs" in info:
            done = terminated | truncated
            np.testing.assert_array_equal(info["_final_obs"], done)
            for i in np.flatnonzero(done):
                assert info["final_obs"][i] in venv.single_observation_space
            ended += int(done.sum())
        else:
            assert not np.any(terminated | truncated)
    assert ended >= 6  # every slot finished at least one episode (budgets <= 250, time limit 100)


def test_vector_env_reset_seed_determinism_like_gymnasium_checks(tiny_catalogue):
    a = AdvRecVectorEnv(4, catalogue=tiny_catalogue)
    b = AdvRecVectorEnv(4, catalogue=tiny_catalogue)
    obs_a, _ = a.reset(seed=11)
    obs_b, _ = b.reset(seed=11)
    assert data_equivalence(obs_a, obs_b, exact=True)
    np.testing.assert_array_equal(a.engine.interest, b.engine.interest)
    c = AdvRecVectorEnv(4, catalogue=tiny_catalogue)
    c.reset(seed=12)
    assert not np.array_equal(a.engine.interest, c.engine.interest)
    # Reset without a seed continues the slot generators: a new population, different from the first.
    first = a.engine.interest.copy()
    a.reset()
    assert not np.array_equal(first, a.engine.interest)


def test_vector_env_copy_true_returns_fresh_arrays_and_copy_false_the_buffer(tiny_catalogue):
    fresh = AdvRecVectorEnv(3, catalogue=tiny_catalogue)
    obs0, _ = fresh.reset(seed=0)
    obs1, *_ = fresh.step(np.zeros(3, dtype=np.int64))
    assert not np.shares_memory(obs0, obs1)
    assert not np.shares_memory(obs1, fresh.engine.obs)
    shared = AdvRecVectorEnv(3, catalogue=tiny_catalogue, copy=False)
    obs, _ = shared.reset(seed=0)
    assert obs is shared.engine.obs
    np.testing.assert_array_equal(obs0, obs)
