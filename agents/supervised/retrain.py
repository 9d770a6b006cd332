"""Adaptive re-training: keep logging in a drifting env and re-fine-tune the click model every N steps.

The original design's "periodically re-fine-tune as the data distribution changes". The env drifts
in its user population: AdvRec-v0 draws each user's topics in proportion to the catalogue's
popularity mass per topic, and :func:`drifting_catalogues` moves that mass, phase by phase, from the
original topic ranking to its reverse (the most popular topics become the least popular), with
the items, texts and embeddings unchanged. Each user's own interest drifts as in the env.

:func:`run_online` serves the users with the click model (items drawn from its softmax policy
mixed with a share ``epsilon`` of uniform exploration, the logging propensity recorded), logs
every interaction, and with ``retrain_every=N`` fine-tunes the model on the most recent ``window``
examples after every N logged steps. Run it twice from the same model and seed, with and without
re-training, to compare return over time (:func:`compare_retraining`).
"""

from __future__ import annotations

import copy
from dataclasses import asdict, dataclass, field

import numpy as np

from advrec_gym._validation import check_float, check_int
from advrec_gym.catalogue import Catalogue
from agents.supervised.adversarial import AdversarialConfig
from agents.supervised.data import ClickData, split_users
from agents.supervised.model import TwoTowerClickModel
from agents.supervised.policy import ClickModelPolicy
from agents.supervised.train import OptimizationConfig, train


def drifting_catalogues(catalogue: Catalogue, phases: int) -> list[Catalogue]:
    """``phases`` copies of ``catalogue`` whose topic popularity moves from the original to its reverse.

    Phase ``p`` (of ``P``) gives topic ``t`` the mass ``w_t^(1 - a) * w_rev(t)^a`` with ``a = p / (P - 1)``,
    where ``w_rev`` swaps the most and least popular topics, the second and second-to-last, and so
    on; items keep their share within their topic.
    """
    phases = check_int("phases", phases, low=1)
    topics = catalogue.topic_index
    mass = np.bincount(topics, weights=catalogue.popularity, minlength=catalogue.num_topics)
    ranked = np.argsort(-mass, kind="stable")
    reverse = np.empty_like(mass)
    reverse[ranked] = mass[ranked[::-1]]
    within = catalogue.popularity / mass[topics]
    out = []
    for p in range(phases):
        a = p / (phases - 1) if phases > 1 else 0.0
        topic_mass = mass ** (1 - a) * reverse**a
        out.append(
            Catalogue(
                ids=catalogue.ids,
                texts=catalogue.texts,
                topics=catalogue.topics,
                popularity=within * topic_mass[topics],
                embeddings=catalogue.embeddings,
                encoder_identity=catalogue.encoder_identity,
            )
        )
    return out


@dataclass
class OnlineResult:
    """Return over time of one online run.

    Attributes:
        phase_return: mean return of the episodes completed in each phase.
        phase_ctr: clicks per step in each phase.
        block_ctr: clicks per step in each block of ``block_steps`` logged steps (the curve).
        retrain_steps: the logged step counts at which the model was re-fine-tuned.
        retrain_seconds: wall time spent fine-tuning.
    """

    phase_return: list[float] = field(default_factory=list)
    phase_ctr: list[float] = field(default_factory=list)
    block_ctr: list[float] = field(default_factory=list)
    retrain_steps: list[int] = field(default_factory=list)
    retrain_seconds: float = 0.0

    def to_dict(self) -> dict:
        return asdict(self)


def run_online(
    model: TwoTowerClickModel,
    catalogue: Catalogue,
    *,
    phases: int = 4,
    steps_per_phase: int = 2000,
    retrain_every: int | None = None,
    window: int = 3000,
    epsilon: float = 0.1,
    temperature: float = 1.0,
    num_envs: int = 16,
    block_steps: int = 500,
    train_config: OptimizationConfig | None = None,
    adversarial: AdversarialConfig | None = None,
    seed: int = 0,
) -> OnlineResult:
    """Serve drifting users with the click model, re-fine-tuning it every ``retrain_every`` steps.

    Args:
        model: the click model (fine-tuned in place when ``retrain_every`` is set; pass a copy to
            keep the original).
        catalogue: the items; the population drifts over ``phases`` (:func:`drifting_catalogues`).
        phases: population phases, each ``steps_per_phase`` logged steps (over all env slots).
        retrain_every: re-fine-tune after every this many logged steps; ``None`` never re-trains.
        window: the re-training data are the last ``window`` logged examples (split 80/20 by user).
        epsilon: share of uniformly random recommendations mixed into the model's softmax policy
            (``temperature``); the mixture is the logging policy whose propensities are recorded.
        temperature: softness of the model's policy, in logit units (see :class:`ClickModelPolicy`).
        num_envs: users served together.
        block_steps: steps per point of the CTR curve.
        train_config: settings of each re-fine-tuning (default: 2 epochs, no progress bar).
        adversarial: adversarial examples of each re-fine-tuning (default: none).
        seed: seeds the env, the exploration and the re-training.
    """
    from advrec_gym.v0.vector_env import AdvRecVectorEnv

    phases = check_int("phases", phases, low=1)
    num_envs = check_int("num_envs", num_envs, low=1)
    steps_per_phase = check_int("steps_per_phase", steps_per_phase, low=num_envs)
    if retrain_every is not None:
        retrain_every = check_int("retrain_every", retrain_every, low=num_envs)
    window = check_int("window", window, low=num_envs)
    epsilon = check_float("epsilon", epsilon, low=0.0, high=1.0)
    block_steps = check_int("block_steps", block_steps, low=1)
    train_config = train_config or OptimizationConfig(epochs=2, progress=False, seed=seed)
    rng = np.random.default_rng(seed)
    policy = ClickModelPolicy(model, temperature=temperature, seed=seed)
    n_items = catalogue.num_items
    result = OnlineResult()
    logs: list[ClickData] = []
    logged, since_retrain, next_user = 0, 0, 0
    block_clicks: list[float] = []
    for phase, cat in enumerate(drifting_catalogues(catalogue, phases)):
        venv = AdvRecVectorEnv(num_envs, cat, max_episode_steps=100)
        obs, _ = venv.reset(seed=seed + 1000 * phase)
        users = np.arange(num_envs) + next_user
        next_user += num_envs
        ep_return = np.zeros(num_envs)
        returns, clicks_phase = [], 0
        for _ in range(steps_per_phase // num_envs):
            probs = (1 - epsilon) * policy.probabilities(obs) + epsilon / n_items
            cdf = np.cumsum(probs, axis=1)
            actions = np.minimum((cdf < rng.random((num_envs, 1)) * cdf[:, -1:]).sum(1), n_items - 1)
            propensity = probs[np.arange(num_envs), actions]
            prev_obs = obs
            obs, reward, terminated, truncated, info = venv.step(actions)
            logs.append(ClickData(prev_obs, actions, info["click"], users.copy(), propensity))
            ep_return += reward
            clicks_phase += int(info["click"].sum())
            block_clicks.extend(info["click"].astype(float))
            for i in np.flatnonzero(terminated | truncated):
                returns.append(ep_return[i])
                ep_return[i], users[i], next_user = 0.0, next_user, next_user + 1
            logged += num_envs
            since_retrain += num_envs
            if retrain_every is not None and since_retrain >= retrain_every:
                since_retrain = 0
                _retrain(model, logs, window, train_config, adversarial, seed + logged, result)
                result.retrain_steps.append(logged)
                policy.refresh()
        result.phase_return.append(float(np.mean(returns)) if returns else float("nan"))
        result.phase_ctr.append(clicks_phase / (steps_per_phase // num_envs * num_envs))
    block_clicks_arr = np.asarray(block_clicks)
    result.block_ctr = [
        float(block_clicks_arr[s : s + block_steps].mean()) for s in range(0, len(block_clicks_arr), block_steps)
    ]
    return result


def _retrain(model, logs, window, train_config, adversarial, seed, result) -> None:
    import time

    recent = ClickData.concatenate(logs)
    recent = recent.subset(np.arange(max(0, len(recent) - window), len(recent)))
    train_part, val_part = split_users(recent, (0.8, 0.2), seed=seed)
    if val_part.clicks.min() == val_part.clicks.max():  # AUC needs both labels: wait for more data
        return
    start = time.perf_counter()
    train(model, train_part, val_part, train_config, adversarial)
    result.retrain_seconds += time.perf_counter() - start


def compare_retraining(
    model: TwoTowerClickModel, catalogue: Catalogue, *, retrain_every: int = 1000, **kwargs
) -> dict[str, OnlineResult]:
    """:func:`run_online` from copies of ``model`` without and with re-training (same seed)."""
    return {
        "no retraining": run_online(copy.deepcopy(model), catalogue, retrain_every=None, **kwargs),
        f"retrain every {retrain_every}": run_online(
            copy.deepcopy(model), catalogue, retrain_every=retrain_every, **kwargs
        ),
    }
