"""The item-embedding policy: its logits are scores against the item embeddings, and it learns."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
import torch as th
from gymnasium import spaces
from stable_baselines3 import PPO
from stable_baselines3.common.utils import get_device

from advrec_gym.evaluation import evaluate
from advrec_gym.sb3_adapter import SB3VecEnvAdapter
from agents.baselines import make_baseline
from agents.policies import (
    CleanCriticItemEmbeddingPolicy,
    CleanCriticMlpPolicy,
    ItemEmbeddingPolicy,
    policy_class_and_kwargs,
)


def _policy(embeddings, action_space=None, obs_dim=11, **kwargs) -> ItemEmbeddingPolicy:
    n = len(embeddings)
    obs_space = spaces.Box(-1.0, 1.0, (obs_dim,), np.float32)
    return ItemEmbeddingPolicy(
        obs_space, action_space or spaces.Discrete(n), lambda _: 3e-4, item_embeddings=embeddings, **kwargs
    )


def _unit(rng, n, d):
    e = rng.standard_normal((n, d)).astype(np.float32)
    return e / np.linalg.norm(e, axis=1, keepdims=True)


def test_logits_are_scaled_similarities_plus_bias():
    rng = np.random.default_rng(0)
    emb = _unit(rng, 7, 4)
    policy = _policy(emb, temperature=0.5)
    head = policy.action_net
    with th.no_grad():
        head.bias.copy_(th.arange(7, dtype=th.float32))
        latent = th.randn(3, policy.mlp_extractor.latent_dim_pi)
        logits = head(latent)
        q = head.query(latent).numpy()
    # logit_i = <q, e_i> / 0.5 + b_i, with b_i = i
    expected = q @ emb.T / 0.5 + np.arange(7)
    np.testing.assert_allclose(logits.numpy(), expected, rtol=1e-5, atol=1e-5)


def test_size_does_not_grow_with_the_catalogue_except_the_bias():
    rng = np.random.default_rng(0)
    small = sum(p.numel() for p in _policy(_unit(rng, 50, 16)).parameters())
    large = sum(p.numel() for p in _policy(_unit(rng, 500, 16)).parameters())
    assert large - small == 450  # one bias per extra item, nothing else


def test_identical_items_get_identical_probabilities():
    rng = np.random.default_rng(1)
    emb = _unit(rng, 6, 8)
    emb[4] = emb[1]
    policy = _policy(emb)
    obs = th.as_tensor(rng.uniform(-1, 1, (5, 11)).astype(np.float32))
    probs = policy.get_distribution(obs).distribution.probs.detach().numpy()
    np.testing.assert_allclose(probs[:, 4], probs[:, 1], rtol=1e-6)
    assert np.abs(probs[:, 0] - probs[:, 1]).max() > 0  # distinct items are told apart


def test_a_new_catalogue_is_scored_from_its_embeddings_alone():
    rng = np.random.default_rng(2)
    emb = _unit(rng, 10, 8)
    policy = _policy(emb)
    obs = th.as_tensor(rng.uniform(-1, 1, (4, 11)).astype(np.float32))
    with th.no_grad():
        before = policy.get_distribution(obs).distribution.logits.numpy()
    order = rng.permutation(10)
    extra = _unit(rng, 5, 8)
    policy.set_item_embeddings(np.concatenate([emb[order], extra]))
    with th.no_grad():
        after = policy.get_distribution(obs).distribution.logits.numpy()
    assert after.shape == (4, 15) and policy.action_space == spaces.Discrete(15)
    # the bias is zero at initialisation, so the old items keep their scores (up to the softmax's shift)
    shift = after[:, :10] - before[:, order]
    np.testing.assert_allclose(shift, shift[:, :1].repeat(10, axis=1), atol=1e-5)
    actions, _ = policy.predict(obs.numpy())
    assert actions.shape == (4,) and actions.max() < 15


def test_slates_get_one_query_per_position():
    rng = np.random.default_rng(3)
    emb = _unit(rng, 9, 4)
    policy = _policy(emb, action_space=spaces.MultiDiscrete([9, 9, 9]))
    obs = rng.uniform(-1, 1, (6, 11)).astype(np.float32)
    actions, _ = policy.predict(obs, deterministic=False)
    assert actions.shape == (6, 3) and actions.min() >= 0 and actions.max() < 9
    assert policy.action_net.query.out_features == 3 * 4


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"item_embeddings": np.ones((5, 4), np.float32)}, "one row per item"),
        ({"item_embeddings": np.ones(6, np.float32)}, "shape \\(num_items, dim\\)"),
        ({"item_embeddings": np.ones((6, 4), np.float32), "temperature": 0.0}, "temperature"),
    ],
)
def test_bad_arguments_name_themselves(kwargs, match):
    with pytest.raises(ValueError, match=match):
        ItemEmbeddingPolicy(spaces.Box(-1, 1, (11,)), spaces.Discrete(6), lambda _: 3e-4, **kwargs)


def test_a_box_action_space_is_refused():
    with pytest.raises(ValueError, match="Discrete"):
        _policy(np.eye(3, dtype=np.float32), action_space=spaces.Box(-1, 1, (3,)))


@pytest.mark.parametrize("name", ["item_embedding", "mlp"])
def test_the_clean_critic_reads_only_the_second_half(name):
    rng = np.random.default_rng(4)
    emb = _unit(rng, 8, 4)
    cls, kwargs = policy_class_and_kwargs(name, emb, net_arch=[16], clean_critic=True)
    assert cls is (CleanCriticItemEmbeddingPolicy if name == "item_embedding" else CleanCriticMlpPolicy)
    policy = cls(spaces.Box(-1, 1, (22,), np.float32), spaces.Discrete(8), lambda _: 3e-4, **kwargs)
    obs = th.as_tensor(rng.uniform(-1, 1, (3, 22)).astype(np.float32))
    moved_actor_half = obs.clone()
    moved_actor_half[:, :11] += 0.5
    moved_critic_half = obs.clone()
    moved_critic_half[:, 11:] += 0.5
    with th.no_grad():
        v, v_actor, v_critic = (policy.predict_values(x) for x in (obs, moved_actor_half, moved_critic_half))
        p, p_actor, p_critic = (
            policy.get_distribution(x).distribution.probs for x in (obs, moved_actor_half, moved_critic_half)
        )
    th.testing.assert_close(v, v_actor)  # the critic ignores the actor's (attacked) half
    th.testing.assert_close(p, p_critic)  # the actor ignores the critic's (clean) half
    assert (v - v_critic).abs().max() > 1e-4 and (p - p_actor).abs().max() > 1e-6


def test_unknown_policy_name_suggests_the_right_one():
    with pytest.raises(ValueError, match="Did you mean 'item_embedding'"):
        policy_class_and_kwargs("item_embeding", np.eye(3, dtype=np.float32))


@pytest.mark.slow
def test_device_auto_is_cuda_where_present(small_catalogue):
    venv = gym.make_vec("AdvRec-v0", num_envs=2, vectorization_mode="vector_entry_point", catalogue=small_catalogue)
    cls, kwargs = policy_class_and_kwargs("item_embedding", small_catalogue.embeddings, net_arch=[8])
    model = PPO(cls, SB3VecEnvAdapter(venv), n_steps=8, batch_size=16, policy_kwargs=kwargs, device="auto")
    assert model.policy.device.type == get_device("auto").type == ("cuda" if th.cuda.is_available() else "cpu")
    assert model.policy.action_net.item_embeddings.device.type == model.policy.device.type


@pytest.mark.slow
def test_item_embedding_ppo_learns_and_beats_random(small_catalogue, one_torch_thread):
    venv = gym.make_vec("AdvRec-v0", num_envs=8, vectorization_mode="vector_entry_point", catalogue=small_catalogue)
    cls, kwargs = policy_class_and_kwargs("item_embedding", small_catalogue.embeddings, net_arch=[64])
    model = PPO(
        cls, SB3VecEnvAdapter(venv), n_steps=64, batch_size=128, n_epochs=4, learning_rate=1e-3,
        gamma=0.95, ent_coef=0.001, policy_kwargs=kwargs, seed=0, device="cpu",
    )  # fmt: skip
    model.learn(12_000)
    eval_env = gym.make_vec(
        "AdvRec-v0", num_envs=10, vectorization_mode="vector_entry_point", catalogue=small_catalogue
    )
    trained = evaluate(eval_env, model, episodes=60, seed=123).mean_return
    random = evaluate(eval_env, make_baseline("random", eval_env, seed=0), episodes=60, seed=123).mean_return
    assert trained > 1.3 * random, (trained, random)
