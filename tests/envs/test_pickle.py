"""The envs pickle (and deep-copy), and the copy continues exactly where the original is."""

from __future__ import annotations

import copy
import pickle

import gymnasium as gym
import numpy as np
import pytest

from advrec_gym.v0 import AdvRecVectorEnv


@pytest.mark.slow  # the default catalogue: 1,000 items encoded by the real model (once per session)
def test_default_env_pickles():
    env = gym.make("AdvRec-v0")
    env.reset(seed=0)
    clone = pickle.loads(pickle.dumps(env))
    assert clone.spec.id == "AdvRec-v0"
    assert clone.unwrapped.catalogue.num_items == 1000
    np.testing.assert_array_equal(clone.unwrapped.catalogue.embeddings, env.unwrapped.catalogue.embeddings)


CLONERS = {"pickle": lambda env: pickle.loads(pickle.dumps(env)), "deepcopy": copy.deepcopy}


@pytest.mark.parametrize("cloner", CLONERS)
@pytest.mark.parametrize("slate_size", [1, 3])
def test_unpickled_single_env_continues_identically(slate_size, cloner, tiny_catalogue, long_user_model):
    env = gym.make("AdvRec-v0", catalogue=tiny_catalogue, slate_size=slate_size, user_model=long_user_model)
    rng = np.random.default_rng(0)
    shape = () if slate_size == 1 else (slate_size,)
    env.reset(seed=1)
    for _ in range(37):  # mid-episode, with a history and a partly used uniform chunk
        env.step(rng.integers(0, 20, size=shape))
    clone = CLONERS[cloner](env)
    np.testing.assert_array_equal(clone.unwrapped.engine.obs, env.unwrapped.engine.obs)
    episodes = 0
    for _ in range(300):  # past the time limit and through unseeded resets
        a = rng.integers(0, 20, size=shape)
        obs, reward, terminated, truncated, info = env.step(a)
        obs_c, reward_c, terminated_c, truncated_c, info_c = clone.step(a)
        np.testing.assert_array_equal(obs, obs_c)
        assert (reward, terminated, truncated, info) == (reward_c, terminated_c, truncated_c, info_c)
        if terminated or truncated:
            episodes += 1
            np.testing.assert_array_equal(env.reset()[0], clone.reset()[0])
    assert episodes >= 2


@pytest.mark.parametrize("cloner", CLONERS)
def test_unpickled_vector_env_continues_identically(cloner, tiny_catalogue, long_user_model):
    venv = AdvRecVectorEnv(8, catalogue=tiny_catalogue, user_model=long_user_model, max_episode_steps=100)
    rng = np.random.default_rng(0)
    venv.reset(seed=2)
    for _ in range(50):
        venv.step(rng.integers(0, 20, size=8))
    clone = CLONERS[cloner](venv)
    dones = 0
    for _ in range(200):
        a = rng.integers(0, 20, size=8)
        obs, reward, terminated, truncated, info = venv.step(a)
        obs_c, reward_c, terminated_c, truncated_c, info_c = clone.step(a)
        np.testing.assert_array_equal(obs, obs_c)
        np.testing.assert_array_equal(reward, reward_c)
        np.testing.assert_array_equal(terminated, terminated_c)
        np.testing.assert_array_equal(truncated, truncated_c)
        np.testing.assert_array_equal(info["clicked_item"], info_c["clicked_item"])
        dones += int((terminated | truncated).sum())
    assert dones >= 8
