"""The board's entries: how each row is trained, saved, loaded, made to act, and attacked.

Every entry is a *fixed* policy once trained: the board scores fixed policies (a LinUCB bandit learns
online while it trains, then is frozen; see :mod:`agents.bandits`). Artifacts are written by the board
itself and loaded without unpickling code: PPO as a torch ``state_dict`` (``weights_only=True``), the
bandit as an ``.npz`` (``allow_pickle=False``).

ADAPTERS. The functions marked ``ADAPTER`` below are where the other issues' APIs plug in:

* :func:`train_ppo` / :func:`load_ppo`: the PPO trainer (``agents.training.Trainer`` with a
  ``TrainConfig`` per row; loading through ``agents.training.load_players``, which reads weights only);
* :func:`train_adversary`: the learned adversary, the attacks package's ``AttackerVectorEnv`` with the trainer's
  adversary (``agents.training.players.make_adversary``, the same hyperparameters as ATLA's);
* :func:`train_supervised` / :func:`load_supervised`: the supervised route's ``finetune`` pipeline and its
  ``ClickModelPolicy`` (white-box FGSM / PGD reach it through its ``.policy``; it has no critic);
* :func:`make_attack`: the attacks package's ``make_attacker`` under the board's attack names.
"""

from __future__ import annotations

import importlib.util
import io
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from advrec_gym.attacks import Budget
from benchmarks.leaderboard import envs
from benchmarks.leaderboard.protocol import BoardConfig, Row
from benchmarks.leaderboard.results import atomic_write_bytes


@dataclass(frozen=True)
class TrainOutcome:
    """What training a row cost, and the file that holds the trained policy (``None``: nothing to save)."""

    env_steps: int
    wall_s: float
    artifact: Path | None = None


# --------------------------------------------------------------------------- training
def train_row(row: Row, seed: int, config: BoardConfig, workdir: Path) -> TrainOutcome:
    """Train ``row`` with training seed ``seed``, writing into the empty folder ``workdir``."""
    if not row.info.trained:
        return TrainOutcome(0, 0.0)
    start = time.perf_counter()
    workdir.mkdir(parents=True, exist_ok=True)
    if row.entry == "linucb":
        from agents.bandits import LinUCBPolicy

        venv = envs.make_vec(config.env, config.num_envs)
        bandit = LinUCBPolicy(venv.unwrapped.catalogue.embeddings, seed=envs.derive_seed("linucb", seed))
        bandit.learn(venv, config.bandit_steps, seed=envs.train_env_seed(seed))
        buf = io.BytesIO()
        bandit.save(buf)
        artifact = workdir / "bandit.npz"
        atomic_write_bytes(artifact, buf.getvalue())
        steps = bandit.num_updates
    elif row.entry.startswith("ppo-"):
        steps, artifact = train_ppo(row, seed, config, workdir)
    else:
        steps, artifact = train_supervised(row, seed, config, workdir)
    return TrainOutcome(int(steps), time.perf_counter() - start, artifact)


def trainer_config(row: Row, seed: int, config: BoardConfig, workdir: Path):
    """The trainer's ``TrainConfig`` for a PPO row: same env, budget and recommender steps for every defence."""
    from agents.training import TrainConfig

    if config.env.random_embedding_dim is not None:
        raise ValueError(
            "PPO rows need the language-model catalogue (the trainer builds the env from num_items, "
            "num_topics and catalogue_seed); set env.random_embedding_dim=None."
        )
    game = row.defence == "atla"
    rounds = config.game_rounds if game else 1
    return TrainConfig(
        env_id=config.env.env_id,
        movielens=config.env.movielens,
        num_items=config.env.num_items,
        num_topics=config.env.num_topics,
        catalogue_seed=config.env.catalogue_seed,
        num_envs=config.num_envs,
        max_episode_steps=config.env.max_episode_steps,
        policy="mlp" if row.entry == "ppo-mlp" else "item_embedding",
        defence=row.defence,
        rho=row.rho,
        rounds=rounds,
        recommender_steps=max(1, config.train_steps // rounds),
        attacker_steps=config.adversary_steps if game else 0,
        eps=config.main_eps,
        norm=config.norm,
        seed=seed,
        output_dir=str(workdir),
        **{
            "progress_bar": False,
            "tensorboard": False,
            "phase_eval_episodes": 0,
            "keep_checkpoints": 1,
            "eval_attacks": [],
            **config.trainer_overrides,
        },
    )


def train_ppo(row: Row, seed: int, config: BoardConfig, workdir: Path) -> tuple[int, Path]:
    """ADAPTER (the PPO trainer): train a PPO row with its defence; return (env steps of both players, artifact).

    The artifact is the recommender's weights in the trainer's last checkpoint, which
    :func:`load_ppo` rebuilds with ``load_players`` (no unpickling).
    """
    from agents.training import Trainer, latest_checkpoint

    trainer = Trainer(trainer_config(row, seed, config, workdir), stream=io.StringIO())
    trainer.train(evaluate=False)
    steps = trainer.recommender.num_timesteps + (trainer.adversary.num_timesteps if trainer.adversary else 0)
    return int(steps), latest_checkpoint(workdir).recommender_path


def load_ppo(row: Row, artifact: Path, venv):
    """ADAPTER (the PPO trainer): the trained recommender (an SB3 model, so white-box attacks reach ``.policy``)."""
    from agents.training import load_players

    model = load_players(artifact.parent).recommender
    model.policy.set_training_mode(False)
    return model


def supervised_available() -> bool:
    """ADAPTER (the supervised route): whether the supervised route provides its recommender policy."""
    return importlib.util.find_spec("agents.supervised") is not None and (
        importlib.util.find_spec("agents.supervised.policy") is not None
    )


def train_supervised(row: Row, seed: int, config: BoardConfig, workdir: Path) -> tuple[int, Path]:
    """ADAPTER (the supervised route): fine-tune the click model on logs of the training users; return (env steps logged, artifact).

    The supervised route's ``finetune`` with its defaults (logging policy, freezing, adversarial examples at rho
    0.2), the board's catalogue, users and budget, and ``config.supervised_overrides``.
    """
    from agents.supervised.config import FinetuneConfig
    from agents.supervised.pipeline import finetune

    if config.env.random_embedding_dim is not None:
        raise ValueError("The supervised entry needs the language-model catalogue; set env.random_embedding_dim=None.")
    if config.env.movielens is not None:
        raise ValueError(
            "The supervised entry logs AdvRec-v0's synthetic catalogue; it has no MovieLens form on the board "
            "(advrec finetune --movielens PATH trains the click model on the folder's ratings instead): drop it "
            "from the entries."
        )
    artifact = workdir / "click_model.pt"
    settings = {
        "num_envs": config.num_envs,
        "progress": False,
        "eval_obs_eps": (config.main_eps,),
        "eval_token_eps": (),
        **config.supervised_overrides,
        "source": "env",
        "num_items": config.env.num_items,
        "num_topics": config.env.num_topics,
        "catalogue_seed": config.env.catalogue_seed,
        "obs_eps": config.main_eps,
        "obs_norm": config.norm,
        "seed": envs.train_env_seed(seed),  # logs the training users
        "output": str(artifact),
    }
    fc = FinetuneConfig(**settings)
    finetune(fc)
    return int(fc.log_steps), artifact


def load_supervised(artifact: Path, policy_seed: int):
    """ADAPTER (the supervised route): the click model as a recommender (SB3 ``predict``, and ``.policy`` for white-box attacks)."""
    from agents.supervised.checkpoint import load_checkpoint
    from agents.supervised.policy import ClickModelPolicy

    return ClickModelPolicy(load_checkpoint(artifact), seed=policy_seed)


# --------------------------------------------------------------------------- loading and acting
def load_policy(row: Row, seed: int, artifact: Path | None, venv, policy_seed: int) -> Any:
    """The trained policy of ``row`` / ``seed``: an SB3 model (PPO) or an object with SB3's ``predict``.

    ``policy_seed`` seeds the policy's own randomness (random items, popularity draws, tie-breaks).
    """
    from agents.baselines import make_baseline

    if row.entry in ("random", "popularity", "nearest-neighbour", "oracle"):
        return make_baseline(row.entry, venv, seed=policy_seed)
    if row.entry == "linucb":
        from agents.bandits import LinUCBPolicy

        return LinUCBPolicy.load(artifact, venv.unwrapped.catalogue.embeddings, seed=policy_seed)
    if row.entry.startswith("ppo-"):
        return load_ppo(row, artifact, venv)
    return load_supervised(artifact, policy_seed)


def reseed(policy: Any, seed: int) -> None:
    """Restart the policy's own generator (random items, popularity draws, LinUCB's tie-breaks), if it has one."""
    if isinstance(getattr(policy, "rng", None), np.random.Generator):
        policy.rng = np.random.default_rng(seed)


class SeededActor:
    """SB3's ``predict`` for a torch policy that samples from a seeded numpy generator.

    SB3's own ``predict`` samples from torch's global generator; this keeps every evaluation
    reproducible from its seed (the sampling is the attacks package's :class:`~advrec_gym.attacks.victim.VictimActor`).
    """

    def __init__(self, model: Any, seed: int):
        from advrec_gym.attacks.victim import VictimActor

        self.actor = VictimActor(model)
        self.rng = np.random.default_rng(seed)

    def predict(self, observation, state=None, episode_start=None, deterministic: bool = False):
        obs = np.asarray(observation, dtype=np.float32)
        single = obs.ndim == 1
        actions = self.actor.act(obs[None] if single else obs, self.rng, deterministic)
        return (actions[0] if single else actions), state


def actor(policy: Any, seed: int) -> Any:
    """What evaluation calls ``predict`` on: torch policies through :class:`SeededActor`, others as they are."""
    from advrec_gym.attacks.victim import torch_policy

    return SeededActor(policy, seed) if torch_policy(policy) is not None else policy


# --------------------------------------------------------------------------- attacks
def make_attack(attack: str, victim: Any, budget: Budget, seed: int, adversary: Any = None):
    """ADAPTER: the attacker for a board attack name (:data:`~benchmarks.leaderboard.protocol.BOARD_ATTACKS`:
    ``pgd-10`` = the early-stopping 10-step PGD; the suite's names are ``make_attacker``'s, with its
    frozen defaults). ``adversary``: the trained adversary of ``learned`` / ``pa-ad`` (a ``BestResponse``)."""
    from advrec_gym.attacks import make_attacker
    from benchmarks.leaderboard.protocol import BOARD_ATTACKS

    if attack not in BOARD_ATTACKS:
        raise ValueError(f"unknown board attack {attack!r}.")
    if attack in ("learned", "pa-ad"):
        return adversary.attacker(victim, seed=seed)
    name = BOARD_ATTACKS[attack]
    if name == "random":
        return make_attacker("random", budget=budget, seed=seed)
    extra = {"steps": 10} if attack == "pgd-10" else {}
    return make_attacker(name, victim, budget, seed=seed, **extra)


def rollout_steps(total_steps: int, num_envs: int) -> int:
    """PPO's ``n_steps`` per env: 2048 steps per rollout, fewer when training is shorter than that."""
    return max(8, min(2048, total_steps) // num_envs)


def adversary_settings(config: BoardConfig):
    """The learned adversary's training settings (the trainer's ``TrainConfig`` with the board's ``attacker_*`` overrides)."""
    from agents.training import TrainConfig

    overrides = {k: v for k, v in config.trainer_overrides.items() if k.startswith("attacker_")}
    return TrainConfig(**{"attacker_n_steps": rollout_steps(config.adversary_steps, config.num_envs), **overrides})


def train_adversary(victim: Any, config: BoardConfig, budget: Budget, seed: int, kind: str = "learned"):
    """ADAPTER: a learned adversary trained afresh against ``victim``: the project's one best-response
    trainer (:func:`agents.training.best_response.fit_best_response`), on training-side users.

    ``kind``: ``"learned"`` (PPO on the perturbation itself, with the white-box warm start where the
    victim is differentiable) or ``"pa-ad"`` (a PPO director realised by a gradient actor). PPO runs
    until the plateau rule stops it, at most ``config.adversary_steps`` env steps, against the victim
    acting as in the board's primary mode. Returns the :class:`~agents.training.best_response.BestResponse`
    (the adversary, its env steps, wall time and learning curve).
    """
    from agents.training.best_response import best_response_rule, fit_best_response

    settings = adversary_settings(config)
    return fit_best_response(
        victim,
        lambda: envs.make_vec(config.env, config.num_envs),
        budget,
        settings,
        seed=seed,
        kind=kind,
        rule=best_response_rule(config.adversary_steps, config.num_envs, settings.attacker_n_steps),
        device="auto",
        victim_deterministic=config.primary_mode == "greedy",
    )
