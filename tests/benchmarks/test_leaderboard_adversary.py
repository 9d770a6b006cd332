"""The board's learned adversary: a best response that gets the game's white-box warm start where it can."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch
from gymnasium import registry
from stable_baselines3 import PPO

import agents.training.adversary_fit as adversary_fit
from advrec_gym.attacks import Budget, LearnedAdversary, Objective, RandomNoise, attack_success_rate
from advrec_gym.attacks.objectives import Victim
from advrec_gym.sb3_adapter import SB3VecEnvAdapter
from benchmarks.leaderboard import cells, entries, envs
from benchmarks.leaderboard.cells import EvalCell
from benchmarks.leaderboard.envs import EnvConfig
from benchmarks.leaderboard.protocol import BoardConfig, Row

pytestmark = pytest.mark.slow

# the board's default env once it is registered, the frozen v0 before
ENV_ID = "AdvRec-v1" if "AdvRec-v1" in registry else "AdvRec-v0"
TINY_ENV = EnvConfig(env_id=ENV_ID, num_items=12, num_topics=3, random_embedding_dim=8, max_episode_steps=20)
CONFIG = BoardConfig(
    name="adversary",
    rows=(Row("random"), Row("ppo-mlp")),
    attacks=("learned",),
    main_eps=0.05,
    eps_scales=(1.0,),
    train_seeds=(0,),
    eval_seeds=(0,),
    episodes=4,
    adversary_steps=64,
    num_envs=4,
    modes=("sampled",),
    trainer_overrides={"attacker_fit_epochs": 20, "attacker_fit_states": 256},
    env=TINY_ENV,
)


@pytest.fixture(scope="module")
def victim(one_torch_thread_per_module):
    """An untrained PPO recommender with sharpened logits (as training would make them)."""
    venv = envs.make_vec(TINY_ENV, 4)
    model = PPO("MlpPolicy", SB3VecEnvAdapter(venv), n_steps=16, batch_size=16, seed=0, device="cpu")
    with torch.no_grad():
        model.policy.action_net.weight.mul_(30.0)
    return model


@pytest.fixture(scope="module")
def states():
    """Evaluation-side observations a few steps into episodes (at reset every observation is zero)."""
    venv = envs.make_vec(TINY_ENV, 256)
    obs, _ = venv.reset(seed=envs.eval_env_seed(0))
    rng = np.random.default_rng(0)
    for _ in range(5):
        obs, *_ = venv.step(rng.integers(0, TINY_ENV.num_items, 256))
    return obs


def _semantic(victim, attacker, states) -> float:
    """Mean gain of the expected-embedding objective (how far the expected shown embedding moved away)."""
    emb = envs.catalogue(TINY_ENV).embeddings
    view = Victim(victim.policy, emb)
    x, xa = torch.as_tensor(states), torch.as_tensor(attacker.perturb(states))
    spec = Objective("semantic")
    rng = np.random.default_rng(0)
    return float((spec.evaluate(view, x, xa, rng) - spec.evaluate(view, x, x, rng)).mean())


def _calls(monkeypatch) -> list:
    calls = []
    real = adversary_fit.fit_adversary

    def spy(*args, **kwargs):
        calls.append(kwargs)
        return real(*args, **kwargs)

    monkeypatch.setattr(adversary_fit, "fit_adversary", spy)
    return calls


def test_a_torch_victim_gets_the_white_box_warm_start_and_is_hurt(victim, states, monkeypatch):
    calls = _calls(monkeypatch)
    budget = Budget(0.2, "inf")
    response = entries.train_adversary(victim, CONFIG, budget, seed=envs.train_env_seed(0))
    assert len(calls) == 1 and calls[0]["epochs"] == 20 and response.env_steps >= CONFIG.adversary_steps
    surface = envs.make_vec(TINY_ENV, 1).unwrapped.embedding_slice
    assert response.embedding_slice == surface  # the env's history blocks, on v0 and v1 alike
    # the warm start fits the expected-embedding objective (best_response.WARM_START_OBJECTIVE): score that
    learned = _semantic(victim, response.attacker(victim), states)
    noise = _semantic(victim, RandomNoise(budget, seed=0, embedding_slice=surface), states)
    # measured: learned 0.0040, noise 0.0001; PPO alone (attacker_fit_epochs=0) -0.00001 after 64 steps
    assert learned > 5 * noise > 0, (learned, noise)
    cold_config = dataclasses.replace(CONFIG, trainer_overrides={"attacker_fit_epochs": 0})
    cold = entries.train_adversary(victim, cold_config, budget, seed=envs.train_env_seed(0))
    assert len(calls) == 1  # attacker_fit_epochs=0 switches the warm start off
    assert _semantic(victim, LearnedAdversary(cold.adversary, budget, embedding_slice=surface), states) < learned / 10
    # the learning curve is kept with the result: a check after the warm start, then one per chunk of PPO
    summary = response.summary()
    assert [c["steps"] for c in summary["curve"]][0] == 0 and summary["curve"][-1]["steps"] == response.env_steps
    assert summary["env_steps"] == response.env_steps and summary["warm_start"]["epochs"] == 20


def test_a_black_box_victim_gets_ppo_alone(monkeypatch):
    calls = _calls(monkeypatch)
    venv = envs.make_vec(TINY_ENV, 4)
    policy = entries.load_policy(Row("random"), 0, None, venv, policy_seed=0)
    response = entries.train_adversary(policy, CONFIG, Budget(0.05, "inf"), seed=0)
    assert calls == [] and response.env_steps >= CONFIG.adversary_steps and response.warm_start is None
    assert np.isfinite(response.adversary.policy.log_std.detach().numpy()).all()
    with pytest.raises(TypeError, match="kind='pa-ad' realises its director with a gradient actor"):
        entries.train_adversary(policy, CONFIG, Budget(0.05, "inf"), seed=0, kind="pa-ad")


def test_pa_ad_is_trained_against_a_torch_victim_and_attacks_through_make_attack(victim, states):
    budget = Budget(0.2, "inf")
    response = entries.train_adversary(victim, CONFIG, budget, seed=envs.train_env_seed(0), kind="pa-ad")
    attacker = entries.make_attack("pa-ad", victim, budget, seed=0, adversary=response)
    assert attacker.name == "pa-ad" and response.adversary.action_space.shape == (TINY_ENV.random_embedding_dim,)
    pa_ad = attack_success_rate(victim, attacker, states)
    surface = envs.make_vec(TINY_ENV, 1).unwrapped.embedding_slice
    noise = attack_success_rate(victim, RandomNoise(budget, seed=0, embedding_slice=surface), states)
    assert pa_ad > noise + 0.1, (pa_ad, noise)


def test_the_warm_start_settings_are_part_of_a_learned_cell_spec():
    cell = EvalCell(Row("ppo-mlp"), 0, "learned", 0.05)
    spec = cells.eval_spec(CONFIG, cell)
    assert spec["adversary_warm_start"] == {"attacker_fit_epochs": 20, "attacker_fit_states": 256}
    natural = cells.eval_spec(CONFIG, EvalCell(Row("ppo-mlp"), 0, "natural", 0.0))
    assert "adversary_warm_start" not in natural  # only the learned cells are recomputed when it changes
