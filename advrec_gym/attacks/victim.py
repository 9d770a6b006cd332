"""The victim: a stable-baselines3 policy seen through what attacks need from it.

White-box attacks differentiate through ``policy.get_distribution`` (actor) or ``policy.predict_values``
(critic). While they do, :class:`Frozen` puts the policy in eval mode with every parameter's
``requires_grad`` off (so gradients flow to the input only and no parameter's ``.grad`` is touched),
and restores each module's mode and each flag afterwards, even on error.

Black-box users of a victim (the attacker's MDP, the metrics) only query actions: :class:`VictimActor`
acts for an SB3 model/policy (sampling with a seeded numpy generator, never torch's global one) or for
any object with SB3's ``predict`` signature.
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

import numpy as np
import torch
from gymnasium import spaces

BLACK_BOX_HINT = (
    "Black-box attackers that only query the victim's actions work with any policy: "
    "RandomNoise ('random') and the learned adversary (LearnedAdversary, 'learned', trained on AttackerEnv); "
    "the query-only attack ('query') needs only the victim's action_scores(obs)."
)

#: What an attacker may read from a victim (see :func:`attack_surface`).
SURFACES = ("scores", "distribution", "values")


@runtime_checkable
class ScoredPolicy(Protocol):
    """The query-only attack's protocol: a recommender that reports the scores it acts on.

    ``action_scores(obs)`` takes a float32 batch (n, obs_dim) and returns float scores (n, num_items)
    (or (n, slate_size, num_items)) whose softmax over the items is the distribution the policy
    samples from: log-probabilities qualify; a policy that shows its top-scoring item returns scores
    sharpened so that their softmax concentrates on it. A policy whose scores do not depend on the
    observation (random, popularity) cannot be moved by an observation attack, and reports so.
    """

    def action_scores(self, obs: np.ndarray) -> np.ndarray: ...


def torch_policy(victim: Any) -> torch.nn.Module | None:
    """The torch policy behind ``victim`` (an SB3 model's ``.policy``, or the policy itself), else None."""
    policy = getattr(victim, "policy", victim)
    if isinstance(policy, torch.nn.Module) and hasattr(policy, "get_distribution"):
        return policy
    return None


def gradient_policy(victim: Any) -> torch.nn.Module | None:
    """What white-box attacks differentiate: ``victim.gradient_policy`` where the victim offers a torch
    view of itself for attacks (LinUCB: its scores are differentiable in the observation, but it acts
    through its own ``predict``), else its torch policy (:func:`torch_policy`), else None."""
    view = getattr(victim, "gradient_policy", None)
    if isinstance(view, torch.nn.Module) and hasattr(view, "get_distribution"):
        return view
    return torch_policy(victim)


def attack_surface(victim: Any) -> frozenset[str]:
    """What an attacker can read from ``victim`` (an instance, or a policy class), a subset of :data:`SURFACES`.

    ``"scores"``: its action scores (the query-only attack); ``"distribution"``: a differentiable action
    distribution (the gradient attacks); ``"values"``: a differentiable critic (the critic attack).
    A victim may declare it (an ``attack_surface`` attribute, e.g. on LinUCB and the baselines);
    otherwise it is read off an SB3 model or policy: ``get_distribution`` gives scores and a
    distribution, ``predict_values`` values. Anything else has an empty surface (black-box attacks only).
    """
    declared = getattr(victim, "attack_surface", None)
    if declared is not None:
        surface = frozenset(declared)
        unknown = sorted(surface - set(SURFACES))
        if unknown:
            raise ValueError(f"attack_surface must be a subset of {list(SURFACES)}, got unknown {unknown}.")
        return surface
    policy = getattr(victim, "policy", victim)
    surface = set()
    is_torch = isinstance(policy, torch.nn.Module) or (isinstance(policy, type) and issubclass(policy, torch.nn.Module))
    if is_torch and hasattr(policy, "get_distribution"):
        surface |= {"scores", "distribution"}
        if hasattr(policy, "predict_values"):
            surface.add("values")
    return frozenset(surface)


def item_embeddings_of(victim: Any) -> np.ndarray | None:
    """The catalogue embeddings a victim scores items with, where it holds them (the item-embedding
    policy's head, LinUCB, a ``gradient_policy`` view with ``item_embeddings``), else None."""
    for holder in (victim, gradient_policy(victim), getattr(gradient_policy(victim), "action_net", None)):
        emb = getattr(holder, "item_embeddings", None) if holder is not None else None
        if emb is None:
            emb = getattr(holder, "embeddings", None) if holder is victim else None
        if isinstance(emb, torch.Tensor):
            return emb.detach().float().cpu().numpy()
        if isinstance(emb, np.ndarray) and emb.ndim == 2:
            return emb.astype(np.float32, copy=False)
    return None


def resolve_policy(victim: Any, attacker: str, *, needs: str = "get_distribution") -> torch.nn.Module:
    """Return the torch policy of ``victim`` for the white-box attacker named ``attacker``.

    Raises:
        TypeError: ``victim`` is not an SB3 model or policy nor offers a ``gradient_policy`` (or lacks
            the method ``needs``); the message names the black-box attackers.
    """
    policy = gradient_policy(victim)
    if policy is None or not hasattr(policy, needs):
        raise TypeError(
            f"{attacker} is a white-box attack: victim must be a stable-baselines3 model or its torch policy, "
            f"or offer a torch `gradient_policy` (with a `{needs}` method), got victim of type "
            f"{type(victim).__name__}. {BLACK_BOX_HINT}"
        )
    return policy


def resolve_scores(victim: Any, attacker: str):
    """The victim's score function for the query-only attacker ``attacker``: ``obs -> (n, positions, items)``.

    ``victim.action_scores`` (:class:`ScoredPolicy`) where it has one, else the log-probabilities of its
    torch policy (SB3 models, ``gradient_policy`` views), computed frozen and without gradients.

    Raises:
        TypeError: the victim offers neither.
    """
    scores = getattr(victim, "action_scores", None)
    if callable(scores):

        def query(obs: np.ndarray) -> np.ndarray:
            out = np.asarray(scores(obs), dtype=np.float32)
            if out.ndim not in (2, 3) or out.shape[0] != len(obs):
                raise ValueError(
                    f"{type(victim).__name__}.action_scores must return shape (n, num_items) or "
                    f"(n, slate_size, num_items) for n={len(obs)} observations, got shape {out.shape}."
                )
            return out if out.ndim == 3 else out[:, None, :]

        return query
    policy = gradient_policy(victim)
    if policy is None:
        raise TypeError(
            f"{attacker} is a query-only attack: victim must have action_scores(obs) (see "
            f"advrec_gym.attacks.victim.ScoredPolicy) or be a torch policy, got victim of type "
            f"{type(victim).__name__}."
        )

    def query(obs: np.ndarray) -> np.ndarray:
        with frozen(policy), torch.no_grad():
            x = torch.as_tensor(obs, dtype=torch.float32, device=policy_device(policy))
            return log_probs(policy.get_distribution(x)).cpu().numpy()

    return query


def log_probs(dist: Any) -> torch.Tensor:
    """Log-probabilities (n, positions, num_items) of an SB3 (Multi)Categorical distribution."""
    parts = categorical_parts(dist)
    if len(parts) == 1:
        return parts[0].logits[:, None, :]
    return torch.stack([p.logits for p in parts], dim=1)


def policy_device(policy: torch.nn.Module) -> torch.device:
    """The device the policy's parameters live on (CPU for a parameterless module)."""
    device = getattr(policy, "device", None)
    if isinstance(device, torch.device):
        return device
    param = next(policy.parameters(), None)
    return param.device if param is not None else torch.device("cpu")


class Frozen:
    """Context manager: eval mode and ``requires_grad=False`` on every parameter, both restored after.

    Argument validation of ``torch.distributions`` is off meanwhile too (a debugging check that
    re-scans the logits on every pass, about 10% of a batched attack step); its setting is restored.
    The module and parameter lists are taken once, at construction: build a new ``Frozen`` if the
    policy gains modules. Only what differs is touched (an attack step at batch 1 costs little more
    than this bookkeeping, so it is kept lean).
    """

    def __init__(self, policy: torch.nn.Module):
        self.policy = policy
        self.modules = list(policy.modules())
        self.params = list(policy.parameters())
        self._saved: list[tuple[list, list, bool]] = []

    def __enter__(self) -> torch.nn.Module:
        training = [m for m in self.modules if m.training]
        grads = [p for p in self.params if p.requires_grad]
        for module in training:
            module.__dict__["training"] = False  # what Module.train(False) sets, without its overhead
        for param in grads:
            param.requires_grad_(False)
        self._saved.append((training, grads, torch.distributions.Distribution._validate_args))
        torch.distributions.Distribution.set_default_validate_args(False)
        return self.policy

    def __exit__(self, *exc) -> None:
        training, grads, validate = self._saved.pop()
        torch.distributions.Distribution.set_default_validate_args(validate)
        for module in training:
            module.__dict__["training"] = True
        for param in grads:
            param.requires_grad_(True)


def frozen(policy: torch.nn.Module) -> Frozen:
    """A :class:`Frozen` context for ``policy``: ``with frozen(policy): ...``."""
    return Frozen(policy)


def categorical_parts(dist: Any) -> list[torch.distributions.Categorical]:
    """The per-position categoricals of an SB3 (Multi)Categorical distribution."""
    inner = dist.distribution
    parts = inner if isinstance(inner, list) else [inner]
    if not all(isinstance(p, torch.distributions.Categorical) for p in parts):
        raise TypeError(f"Expected a categorical action distribution, got {type(inner).__name__}.")
    return parts


def greedy_action(dist: Any) -> torch.Tensor:
    """The distribution's greedy action (argmax of the logits for categoricals, no softmax needed)."""
    inner = dist.distribution
    if isinstance(inner, torch.distributions.Categorical):
        return inner.logits.max(dim=1).indices
    if isinstance(inner, list) and all(isinstance(p, torch.distributions.Categorical) for p in inner):
        return torch.stack([p.logits.max(dim=1).indices for p in inner], dim=1)
    return dist.mode()


def log_prob_and_changed(dist: Any, action: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per row, ``log pi(action)`` and whether some other action now beats ``action`` (any slate position)."""
    inner = dist.distribution
    if isinstance(inner, torch.distributions.Categorical):  # the common case, in few operations
        logits = inner.logits  # normalised: these are log-probabilities
        picked = logits.gather(1, action[:, None])[:, 0]
        return picked, picked < logits.amax(dim=1)
    parts = inner if isinstance(inner, list) else [inner]
    log_prob = dist.log_prob(action)
    if all(isinstance(p, torch.distributions.Categorical) for p in parts):
        columns = action.reshape(len(action), -1)
        changed = [p.logits.gather(1, columns[:, i : i + 1])[:, 0] < p.logits.amax(dim=1) for i, p in enumerate(parts)]
        return log_prob, torch.stack(changed, dim=1).any(dim=1)
    return log_prob, (dist.mode() != action).reshape(len(action), -1).any(dim=1)


def is_greedy(dist: Any, item: torch.Tensor) -> torch.Tensor:
    """Per row, whether ``item`` (int64, (n,)) is the greedy choice in some slate position."""
    parts = categorical_parts(dist)
    top = [p.logits.gather(1, item[:, None])[:, 0] >= p.logits.amax(dim=1) for p in parts]
    return top[0] if len(top) == 1 else torch.stack(top, dim=1).any(dim=1)


def kl_divergence(clean: Any, perturbed: Any) -> torch.Tensor:
    """Per-row KL(clean || perturbed) (summed over slate positions / dims).

    ``clean`` is the *torch* distribution (``dist.distribution``) saved from the clean pass, not the
    SB3 ``Distribution``: SB3 policies reuse one ``Distribution`` object and overwrite it on every call.
    """
    p, q = clean, perturbed.distribution
    if isinstance(p, list):
        return sum(_kl(a, b) for a, b in zip(p, q, strict=True))
    return _kl(p, q)


def _kl(p, q) -> torch.Tensor:
    if isinstance(p, torch.distributions.Categorical):
        # sum_j p_j (log p_j - log q_j); torch's generic version also masks zero probabilities,
        # which finite logits never have, at several times the cost.
        return (p.probs * (p.logits - q.logits)).sum(-1)
    kl = torch.distributions.kl_divergence(p, q)
    return kl.sum(-1) if kl.ndim > 1 else kl


def target_log_prob(dist: Any, target: torch.Tensor) -> torch.Tensor:
    """Per-row log-probability of showing item ``target`` (int64, (n,)), averaged over slate positions."""
    parts = categorical_parts(dist)
    return sum(p.logits.gather(1, target[:, None])[:, 0] for p in parts) / len(parts)


def action_probabilities(policy: torch.nn.Module, obs: np.ndarray) -> np.ndarray:
    """Action probabilities, float32 (n, positions * num_items), of a categorical torch policy."""
    with frozen(policy), torch.no_grad():
        x = torch.as_tensor(obs, dtype=torch.float32, device=policy_device(policy))
        parts = categorical_parts(policy.get_distribution(x))
        return torch.cat([p.probs for p in parts], dim=1).cpu().numpy().astype(np.float32)


def probabilities_size(action_space: spaces.Space) -> int:
    """Length of :func:`action_probabilities`' rows for ``action_space``."""
    if isinstance(action_space, spaces.Discrete):
        return int(action_space.n)
    if isinstance(action_space, spaces.MultiDiscrete):
        return int(np.sum(action_space.nvec))
    raise TypeError(f"Victim action probabilities need a Discrete or MultiDiscrete action space, got {action_space}.")


class VictimActor:
    """Acts for a victim on a batch of observations, greedily or by sampling from a seeded generator.

    Args:
        victim: an SB3 model or policy (sampled here from its action probabilities with ``rng``), or
            any object with ``predict(obs, deterministic=...)`` (which then owns its randomness).
    """

    def __init__(self, victim: Any):
        if torch_policy(victim) is None and not callable(getattr(victim, "predict", None)):
            raise TypeError(
                "victim must be a stable-baselines3 model or policy, or any object with a "
                f"predict(obs, deterministic=...) method, got victim of type {type(victim).__name__}."
            )
        self.victim = victim
        self.policy = torch_policy(victim)

    @property
    def observation_space(self) -> spaces.Space | None:
        return getattr(self.policy if self.policy is not None else self.victim, "observation_space", None)

    def act(self, obs: np.ndarray, rng: np.random.Generator, deterministic: bool) -> np.ndarray:
        """Actions for a batch ``obs`` (n, obs_dim): int64 (n,) or (n, slate_size)."""
        if self.policy is None:
            actions, _ = self.victim.predict(obs, deterministic=deterministic)
            return np.asarray(actions)
        with frozen(self.policy), torch.no_grad():
            x = torch.as_tensor(obs, dtype=torch.float32, device=policy_device(self.policy))
            dist = self.policy.get_distribution(x)
            if deterministic:
                actions = dist.mode().cpu().numpy()
            else:
                probs = [p.probs.double().cpu().numpy() for p in categorical_parts(dist)]
                actions = np.stack([_inverse_cdf(p, rng) for p in probs], axis=1)
                actions = actions[:, 0] if len(probs) == 1 else actions
        return actions.astype(np.int64)

    def greedy(self, obs: np.ndarray) -> np.ndarray:
        """Greedy actions (no randomness used)."""
        return self.act(obs, np.random.default_rng(0), deterministic=True)


def _inverse_cdf(probs: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    cdf = np.cumsum(probs, axis=1)
    u = rng.random((probs.shape[0], 1)) * cdf[:, -1:]
    return np.minimum((cdf <= u).sum(axis=1), probs.shape[1] - 1)
