"""The compiled kernel against the readable reference implementation, step for step (EnvPool's way)."""

from __future__ import annotations

import numpy as np
import pytest
from reference_v1 import ReferenceUser, seed_key, uniform

from advrec_gym import AdvRecEnv, Dynamics, LogitChoice, UserModel
from advrec_gym import kernel as K


def _compare(env: AdvRecEnv, seed: int, episodes: int, slate_size: int, rng: np.random.Generator) -> int:
    """Step ``env`` and the reference side by side for ``episodes`` episodes; return the steps compared."""
    eng = env.engine
    ref = ReferenceUser(eng.catalogue, eng.user_model, eng.choice_model, eng.dynamics, eng.horizon, seed_key(seed))
    obs, _ = env.reset(seed=seed)
    compared = 0
    for episode in range(episodes):
        if episode:
            obs, _ = env.reset()
            ref.episode += 1
            ref.restart()
        np.testing.assert_allclose(env.engine.users[0], ref.u, atol=2e-6)
        assert env.engine.budget[0] == pytest.approx(ref.budget, abs=1e-9)
        np.testing.assert_array_equal(obs, 0.0)
        for _ in range(200):
            slate = rng.integers(0, eng.catalogue.num_items, size=slate_size)
            action = int(slate[0]) if slate_size == 1 else slate
            obs, reward, terminated, truncated, info = env.step(action)
            expected = ref.step([int(i) for i in slate])
            compared += 1
            assert info["clicked_item"] == expected["clicked_item"]
            assert reward == expected["reward"]
            assert (terminated, truncated) == (expected["terminated"], expected["truncated"])
            assert info["satisfaction"] == pytest.approx(expected["satisfaction"], abs=1e-9)
            assert info["low_quality_shown"] == pytest.approx(expected["low_quality_shown"])
            assert info["low_quality_clicked"] == expected["low_quality_clicked"]
            np.testing.assert_allclose(obs, ref.obs, atol=2e-6)
            np.testing.assert_allclose(env.engine.users[0], ref.u, atol=2e-6)
            assert env.engine.budget[0] == pytest.approx(ref.budget, abs=1e-6)
            if terminated or truncated:
                break
    return compared


@pytest.mark.parametrize("slate_size", [1, 3])
def test_kernel_matches_the_reference_step_for_step(v1_catalogue, slate_size):
    # drift on, long budgets for some episodes (the horizon binds), short for others
    env = AdvRecEnv(
        catalogue=v1_catalogue,
        slate_size=slate_size,
        user_model=UserModel(budget_range=(5.0, 120.0), drift_range=(0.0, 0.3)),
        horizon=60,
    )
    steps = _compare(env, seed=17, episodes=6, slate_size=slate_size, rng=np.random.default_rng(slate_size))
    assert steps > 100


def test_kernel_matches_the_reference_with_duplicates_engagement_and_other_settings(v1_catalogue):
    env = AdvRecEnv(
        catalogue=v1_catalogue,
        slate_size=4,
        choice_model=LogitChoice(temperature=0.3, no_click_affinity=0.2, fatigue_threshold=0.2, position_bias=0.6),
        dynamics=Dynamics(quality_gain=1.5, skip_cost=0.5, satisfaction_noise=0.5, shown_rate=0.9, liked_rate=0.1),
        horizon=40,
    )
    # a catalogue this small makes duplicates in a random slate of 4 common
    steps = _compare(env, seed=3, episodes=4, slate_size=4, rng=np.random.default_rng(9))
    assert steps > 40


def test_uniforms_of_kernel_and_reference_agree():
    # the hash itself, through the kernel's reset draw of the first topic count: compare raw bits instead
    key = seed_key(12345)
    assert np.int64(key if key < 2**63 else key - 2**64) == K.seed_keys(np.array([12345]))[0]
    draws = [uniform(key, 2, 7, K.STREAM_CLICK, 0), uniform(key, 2, 8, K.STREAM_CLICK, 0)]
    assert all(0.0 <= u < 1.0 for u in draws) and draws[0] != draws[1]
