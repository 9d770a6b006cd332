"""Attack metrics: success rate, perturbation norm, and return and CTR under attack."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from attack_helpers import OBS_DIM, ConstantPolicy
from gymnasium import spaces
from stable_baselines3.common.policies import ActorCriticPolicy

from advrec_gym.attacks import (
    FGSM,
    Budget,
    RandomNoise,
    action_changed,
    attack_success_rate,
    evaluate_attack,
)
from advrec_gym.evaluation import EvalReport
from advrec_gym.v0 import AdvRecVectorEnv

EPS = Budget(0.05, "inf")


class FirstCoordinatePolicy:
    """Greedy item 1 when the first observation coordinate is positive, else item 0."""

    def predict(self, obs, state=None, episode_start=None, deterministic=False):
        return (np.atleast_2d(obs)[:, 0] > 0).astype(np.int64), state


def test_action_changed_and_success_rate_count_flipped_greedy_actions():
    clean = np.zeros((4, OBS_DIM), dtype=np.float32)
    clean[:, 0] = [-0.03, -0.01, 0.02, 0.2]
    perturbed = clean.copy()
    perturbed[:, 0] += 0.05  # flips rows 0 (-0.03 -> 0.02) and 1 (-0.01 -> 0.04); 2 and 3 stay positive
    np.testing.assert_array_equal(action_changed(FirstCoordinatePolicy(), clean, perturbed), [True, True, False, False])

    class PlusEps(RandomNoise):
        def _delta(self, obs, sl):
            return np.full((len(obs), sl.stop - sl.start), 0.05, np.float32)

    assert attack_success_rate(FirstCoordinatePolicy(), PlusEps(EPS), clean) == 0.5


def test_slates_count_as_changed_when_any_position_changes():
    space = spaces.Box(-1, 1, (OBS_DIM,), np.float32)
    policy = ActorCriticPolicy(space, spaces.MultiDiscrete([20, 20]), lambda _: 3e-4)
    obs = np.random.default_rng(0).uniform(-0.1, 0.1, (32, OBS_DIM)).astype(np.float32)
    with torch.no_grad():
        policy.action_net.weight.mul_(300.0)
    clean, _ = policy.predict(obs, deterministic=True)
    perturbed = FGSM(policy, EPS).perturb(obs)
    attacked, _ = policy.predict(perturbed, deterministic=True)
    expected = np.any(clean != attacked, axis=1)
    np.testing.assert_array_equal(action_changed(policy, obs, perturbed), expected)
    assert expected.any()


def test_evaluate_attack_reports_return_ctr_success_and_norm(tiny_catalogue, victim):
    def run(attacker, **kwargs):
        venv = AdvRecVectorEnv(4, catalogue=tiny_catalogue, max_episode_steps=20)
        return evaluate_attack(venv, victim, attacker, episodes=12, seed=0, **kwargs)

    natural = run(None)
    assert isinstance(natural, EvalReport) and len(natural.returns) == 12
    assert natural.attacked_steps == 0 and natural.success_rate == 0.0 and natural.mean_norm == 0.0
    assert natural.ctr == pytest.approx(natural.clicks.sum() / natural.lengths.sum())
    assert natural.returns.sum() == natural.clicks.sum()  # click reward: the return counts the clicks

    fgsm = run(FGSM(victim, EPS))
    assert fgsm.attacked_steps == fgsm.steps >= fgsm.lengths.sum()  # ratio 1: every step
    assert fgsm.mean_norm == pytest.approx(0.05, rel=1e-5)
    assert 0.5 < fgsm.success_rate <= 1.0
    half = run(FGSM(victim, EPS), ratio=0.5)
    assert 0.4 < half.summary()["attacked_share"] < 0.6
    zero = run(FGSM(victim, Budget(0.0, "inf")))
    assert zero.success_rate == 0.0 and zero.mean_norm == 0.0
    np.testing.assert_array_equal(zero.returns, natural.returns)  # eps = 0 is the identity
    np.testing.assert_array_equal(run(FGSM(victim, EPS)).returns, fgsm.returns)  # seeded: reproducible
    assert set(fgsm.summary()) >= {"return_mean", "ctr", "success_rate", "mean_norm", "episodes"}


def test_evaluate_attack_works_with_black_box_policies(tiny_catalogue):
    venv = AdvRecVectorEnv(2, catalogue=tiny_catalogue, max_episode_steps=10)
    report = evaluate_attack(venv, ConstantPolicy(3), RandomNoise(EPS), episodes=4, seed=0)
    assert report.success_rate == 0.0  # a constant policy cannot be moved
    assert report.attacked_steps == report.steps
    with pytest.raises(ValueError, match="episodes must be an int in"):
        evaluate_attack(venv, ConstantPolicy(3), None, episodes=0, seed=0)
    with pytest.raises(ValueError, match=r"ratio must be a finite number in \[0.0, 1.0\]"):
        evaluate_attack(venv, ConstantPolicy(3), None, episodes=1, seed=0, ratio=2.0)
