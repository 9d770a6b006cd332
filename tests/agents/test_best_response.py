"""The one best-response trainer: its plateau rule, its learning curve, and the adversary's trust region."""

from __future__ import annotations

import json

import pytest
import torch
from stable_baselines3 import PPO

from advrec_gym.attacks import Budget
from advrec_gym.sb3_adapter import SB3VecEnvAdapter
from agents.training import TrainConfig
from agents.training.best_response import KL_BOUND, PlateauRule, best_response_rule, fit_best_response
from benchmarks.leaderboard import envs
from benchmarks.leaderboard.envs import EnvConfig

# 384-d random embeddings: the adversary acts in 3 * 384 = 1,152 dimensions, as on the default env
WIDE_ENV = EnvConfig(num_items=20, num_topics=4, random_embedding_dim=384, max_episode_steps=20)


@pytest.fixture(scope="module")
def victim(one_torch_thread_per_module):
    """An untrained PPO recommender on the wide env with sharpened logits (as training would make them)."""
    model = PPO("MlpPolicy", SB3VecEnvAdapter(envs.make_vec(WIDE_ENV, 4)), n_steps=16, batch_size=16, seed=0)
    with torch.no_grad():
        model.policy.action_net.weight.mul_(30.0)
    return model


def _settings(**changes) -> TrainConfig:
    return TrainConfig(attacker_n_steps=64, attacker_fit_states=512, batch_size=64, **changes)


def test_the_plateau_rule_on_hand_made_curves():
    rule = PlateauRule(patience=3, min_improvement=0.02)
    # before the last 3 checks the best is 8; a gain needs a check below 8 - 0.02 * 8 = 7.84
    assert rule.plateaued([10.0, 8.0, 7.9, 7.95, 7.92])
    assert not rule.plateaued([10.0, 8.0, 7.0, 7.95, 7.92])
    assert not rule.plateaued([10.0, 9.0, 9.0])  # too few checks to say
    assert best_response_rule(20_000, 32, 64) == PlateauRule(max_steps=20_000, check_every=2_048)
    assert best_response_rule(100_000, 32, 64).check_every == 10_000
    with pytest.raises(ValueError, match=r"min_improvement must be a finite number in \[0.0, 1.0\]"):
        PlateauRule(min_improvement=2.0)


@pytest.mark.slow
def test_the_adversarys_ppo_updates_stay_in_their_trust_region(victim):
    """Every update's exact mean KL(pi_old || pi_new) stays below KL_BOUND = 0.1 with the defaults; the game's
    first settings (lr 3e-4, no target_kl) left it at 0.3-0.7 after the warm start (SB3's approx_kl 1.5-11)."""
    rule = PlateauRule(max_steps=768, check_every=768, eval_episodes=4)
    make_env = lambda: envs.make_vec(WIDE_ENV, 4)  # noqa: E731
    budget = Budget(0.05, "inf")
    fixed = fit_best_response(victim, make_env, budget, _settings(), seed=0, kind="learned", rule=rule, device="cpu")
    assert len(fixed.updates) == 3
    assert max(u["kl"] for u in fixed.updates) < KL_BOUND and max(u["approx_kl"] for u in fixed.updates) < KL_BOUND
    old = _settings(attacker_learning_rate=3e-4, attacker_target_kl=None)
    before = fit_best_response(victim, make_env, budget, old, seed=0, kind="learned", rule=rule, device="cpu")
    assert max(u["kl"] for u in before.updates) > 2 * KL_BOUND and max(u["approx_kl"] for u in before.updates) > 1.0


@pytest.mark.slow
def test_a_best_response_keeps_its_learning_curve_and_stops_at_its_budget(victim):
    rule = PlateauRule(max_steps=1_024, check_every=256, patience=10, eval_episodes=4)
    response = fit_best_response(
        victim, lambda: envs.make_vec(WIDE_ENV, 4), Budget(0.05, "inf"), _settings(), seed=1, kind="pa-ad", rule=rule
    )
    assert [c["steps"] for c in response.curve] == [0, 256, 512, 768, 1024] and not response.plateaued
    assert response.env_steps == 1024 and response.warm_start is None  # PA-AD's prior replaces a warm start
    assert response.adversary.action_space.shape == (384,)  # one embedding-sized direction
    summary = json.loads(json.dumps(response.summary()))  # results files can hold it
    assert summary["curve"] == response.curve and summary["kl_max"] < KL_BOUND
