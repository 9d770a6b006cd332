"""White-box warm start of the learned adversary: fit its mean action by backprop through the recommender.

A PPO adversary on ``AttackerEnv`` searches a 1,152-dimensional action space from a scalar reward; on
AdvRec-v0 it barely moves from its initial (near-zero) mean in tens of thousands of steps, so the
game's adversary stays harmless (measured in docs/training.md). This module trains the same
adversary network as an *amortized attack* instead (Baluja and Fischer 2017, "Adversarial
Transformation Networks"): on states from the recommender's own rollouts, its mean action ``mu(o)``
is mapped into the budget and trained to minimise ``log pi(a* | o + B(tanh mu(o)))``, ``a*`` the
recommender's clean greedy action, with the recommender frozen. Training needs the recommender's
gradients; attacking afterwards needs only the clean observation (one forward pass of the adversary),
and PPO can fine-tune it on ``AttackerEnv`` as usual.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch as th

from advrec_gym._validation import check_int
from advrec_gym.attacks import Budget
from advrec_gym.attacks.objectives import NEEDS_EMBEDDINGS, Objective, Victim
from advrec_gym.attacks.victim import VictimActor, frozen, policy_device, resolve_policy
from agents.training.config import TrainConfig
from agents.training.players import budget_of, recommender_view


def collect_states(recommender: Any, view: Any, num_states: int, seed: int) -> np.ndarray:
    """``num_states`` clean observations from ``recommender``'s own sampled rollouts on the vector env ``view``."""
    num_states = check_int("num_states", num_states, low=1)
    actor, rng = VictimActor(recommender), np.random.default_rng([seed, 0xF17])
    obs, _ = view.reset(seed=seed)
    states = []
    for _ in range(-(-num_states // view.num_envs)):
        states.append(np.array(obs, dtype=np.float32))
        obs, *_ = view.step(actor.act(obs, rng, deterministic=False))
    return np.concatenate(states)[:num_states]


def fit_adversary(
    adversary: Any,
    recommender: Any,
    states: np.ndarray,
    budget: Budget,
    embedding_slice: slice,
    *,
    epochs: int,
    batch_size: int = 256,
    learning_rate: float = 1e-3,
    seed: int = 0,
    objective: str = "action",
    item_embeddings: np.ndarray | None = None,
) -> float:
    """Train ``adversary``'s mean action (an SB3 PPO with a Gaussian policy) against the frozen ``recommender``.

    Args:
        adversary: the adversary model (its policy's parameters are updated with a fresh Adam).
        recommender: the victim (an SB3 model or its torch policy, or a ``gradient_policy`` view); its
            parameters and modes are left unchanged.
        states: clean observations (n, obs_dim), e.g. from :func:`collect_states`.
        budget: the attack budget; the direction ``tanh(mu)`` is mapped with ``budget.from_unit``.
        embedding_slice: the attacked coordinates.
        epochs: passes over ``states``.
        batch_size: minibatch size.
        learning_rate: Adam's step size.
        seed: seeds the minibatch order.
        objective: the attack score the adversary learns to maximise (an
            :class:`~advrec_gym.attacks.Objective` name: ``"action"``, the game's, is ``-log pi(a* | o + d)``
            of the clean greedy action; the best response uses ``"semantic"``).
        item_embeddings: the catalogue's embeddings, for ``"semantic"``.

    Returns:
        The last epoch's mean loss, minus the objective (lower is a stronger attack; for ``"action"``
        the mean ``log pi(a* | attacked o)``).
    """
    epochs = check_int("epochs", epochs, low=1)
    victim, policy = resolve_policy(recommender, "the adversary's white-box warm start"), adversary.policy
    device, victim_device = policy.device, policy_device(victim)
    score = Objective(objective)
    view = Victim(victim, item_embeddings if objective in NEEDS_EMBEDDINGS else None)
    x_all = th.as_tensor(states, dtype=th.float32, device=device)
    generator = th.Generator().manual_seed(int(seed))
    optimizer = th.optim.Adam(policy.parameters(), lr=learning_rate)
    sl = embedding_slice
    mode = policy.training
    policy.train(True)
    last = float("nan")
    with frozen(victim):
        with th.no_grad():
            clean = score.clean(score.forward(view, x_all.to(victim_device)), view, np.random.default_rng(seed))
        for _ in range(epochs):
            order = th.randperm(len(x_all), generator=generator).to(device)
            total, batches = 0.0, 0
            for start in range(0, len(order), batch_size):
                idx = order[start : start + batch_size]
                x = x_all[idx]
                direction = th.tanh(policy.get_distribution(x).distribution.mean)
                attacked = th.cat(
                    [x[:, : sl.start], (x[:, sl] + budget.from_unit(direction)).clamp(-1, 1), x[:, sl.stop :]], 1
                )
                state = {k: v[idx.to(victim_device)] for k, v in clean.items()}
                out = score.forward(view, attacked.to(victim_device))
                loss = -score.score(out, state, view).mean()
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
                total, batches = total + float(loss.detach()), batches + 1
            last = total / batches
    policy.train(mode)
    return last


def fit_adversary_phase(adversary: Any, recommender: Any, config: TrainConfig, seed: int) -> float | None:
    """The warm start of an adversary phase as ``config`` sets it (``None`` when ``attacker_fit_epochs`` is 0)."""
    if not config.attacker_fit_epochs:
        return None
    view = recommender_view(config)
    states = collect_states(recommender, view, config.attacker_fit_states, seed)
    return fit_adversary(
        adversary,
        recommender,
        states,
        budget_of(config),
        view.unwrapped.embedding_slice,
        epochs=config.attacker_fit_epochs,
        seed=seed,
    )
