"""The two-player game's configuration: one typed dataclass, a docstring per field, YAML/JSON files.

Precedence: the defaults below, then a config file (``TrainConfig.from_file``), then explicit
overrides (the command line's flags). Every field is validated in ``__post_init__`` with an error
that names the field, what was expected and what was given. ``advrec train``'s flags are made from
the fields by :mod:`agents.cli_options` (the docstring under a field is its ``--help``).
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from advrec_gym._io import atomic_write_json, atomic_write_text, read_config_file
from advrec_gym._validation import check_choice, check_float, check_int, did_you_mean
from advrec_gym.device import check_device_name

MOVIELENS_ENV_ID = "AdvRec-MovieLens-v1"
ENV_IDS = ("AdvRec-v1", "AdvRec-v0", MOVIELENS_ENV_ID)


def resolve_env_id(env_id: str, movielens: str | os.PathLike | None) -> tuple[str, str | None]:
    """The env id and MovieLens folder a config runs: ``movielens`` turns AdvRec-v1 into its MovieLens env.

    Raises ``TypeError`` / ``ValueError`` naming the argument for an unknown id, a folder that is not a
    path, a folder with another env (AdvRec-v0), or the MovieLens id without a folder.
    """
    check_choice("env_id", env_id, ENV_IDS)
    if movielens is not None:
        if not isinstance(movielens, (str, os.PathLike)) or not str(movielens):
            raise TypeError(f"movielens must be an ml-100k folder or None, got movielens={movielens!r}.")
        if env_id not in ("AdvRec-v1", MOVIELENS_ENV_ID):
            raise ValueError(f"movielens={movielens!r} runs {MOVIELENS_ENV_ID}, but env_id={env_id!r}: drop one.")
        return MOVIELENS_ENV_ID, os.fspath(movielens)
    if env_id == MOVIELENS_ENV_ID:
        raise ValueError(f"env_id={MOVIELENS_ENV_ID!r} needs movielens=<an ml-100k folder>, got None.")
    return env_id, None


POLICIES = ("item_embedding", "mlp")
DEFENCES = ("none", "noise", "pgd", "atla", "sa")
NORMS = ("inf", "2")
#: attacks of the evaluation table: the suite's (advrec_gym.attacks.SUITE, PA-AD aside) and the training PGD
EVAL_ATTACKS = (
    "random",
    "fgsm",
    "pgd",
    "critic",
    "learned",
    "pgd-action",
    "pgd-topk",
    "pgd-semantic",
    "pgd-kl",
    "pgd-eot",
    "mad",
    "query",
)
#: default share of attacked recommender steps, per defence (``rho=None``)
DEFAULT_RHO = {"none": 0.0, "noise": 1.0, "pgd": 0.2, "atla": 1.0, "sa": 0.0}


@dataclass
class TrainConfig:
    """Everything a two-player training run needs; ``--help`` of ``advrec train`` lists it."""

    # ------------------------------------------------------------------ environment
    env_id: str = "AdvRec-v1"
    """The environment: "AdvRec-v1" (hidden item quality, the default), "AdvRec-v0" (frozen, the v0 results) or "AdvRec-MovieLens-v1" (set by movielens)."""
    movielens: str | None = None
    """An ml-100k folder: the env is AdvRec-MovieLens-v1 over it (users fitted to its ratings), trained on its training users and evaluated on its held-out users; the synthetic catalogue's settings are then unused."""
    num_items: int = 1000
    """Items in the env's synthetic catalogue."""
    num_topics: int = 20
    """Topics of the synthetic catalogue."""
    catalogue_seed: int = 0
    """Seed of the synthetic catalogue (the same for both players and for evaluation)."""
    num_envs: int = 16
    """Users simulated together in one batched env while training."""
    max_episode_steps: int = 100
    """Time limit of an episode (AdvRec-v1's horizon; AdvRec-v0's registered limit)."""
    cache_dir: str | None = None
    """Embedding cache directory (None: $ADVREC_CACHE_DIR or ~/.cache/advrec)."""

    # ------------------------------------------------------------------ recommender (PPO)
    policy: str = "item_embedding"
    """Recommender policy: "item_embedding" (logits scored against the item embeddings) or "mlp" (SB3's MlpPolicy)."""
    net_arch: list[int] = field(default_factory=lambda: [256])
    """Hidden layers of the recommender's actor and critic."""
    temperature: float = 0.1
    """Temperature of the item-embedding policy's logits."""
    learning_rate: float = 3e-4
    """Recommender's Adam learning rate."""
    n_steps: int = 256
    """Recommender's rollout length per env (a rollout is n_steps * num_envs steps)."""
    batch_size: int = 512
    """Recommender's minibatch size (at most a rollout: n_steps * num_envs)."""
    n_epochs: int = 4
    """Recommender's passes over each rollout."""
    gamma: float = 0.99
    """Discount factor of the recommender. On AdvRec-v1 what a click costs shows up many steps later (the user leaves sooner, within a 100-step horizon), so the recommender must look ahead: 0.99 (tuned on training users against 0.95: benchmarks/v1_dynamics.py); AdvRec-v0's results used 0.5 (clicks paid at once there)."""
    ent_coef: float = 0.003
    """Recommender's entropy bonus (0.003 on AdvRec-v1, tuned on training users against 0.01; AdvRec-v0's results used 0.001)."""

    # ------------------------------------------------------------------ the game
    defence: str = "atla"
    """How the recommender is trained: "none", "noise" (random noise in the budget), "pgd" (PGD adversarial training), "atla" (the game against the learned adversary) or "sa" (SA-PPO's smoothness regulariser)."""
    rounds: int = 2
    """Rounds of the game; a round is a recommender phase, then (atla) an attacker phase."""
    recommender_steps: int = 50_000
    """Environment steps of each recommender phase."""
    attacker_steps: int = 20_000
    """Environment steps of each attacker phase (atla; and the best-response adversary at evaluation)."""
    warmup_steps: int = 0
    """Clean recommender steps before round 0 (a phase of its own): the adversary then faces a policy that already works."""
    rho: float | None = None
    """Share of recommender training steps that are attacked, in [0, 1]; None: the defence's default (noise 1.0, pgd 0.2, atla 1.0)."""
    eps: float = 0.02
    """Attack budget, in raw units of the observation's embedding slice (coordinates spread about 0.05)."""
    norm: str = "inf"
    """Norm of the budget: "inf" or "2"."""
    pgd_steps: int = 10
    """Gradient steps of the PGD attack (training with defence "pgd", and evaluation)."""
    sa_kappa: float = 0.1
    """Weight of SA-PPO's regulariser KL(pi(o) || pi(o + d)) (defence "sa")."""
    sa_steps: int = 3
    """PGD steps that find the regulariser's d (defence "sa")."""
    clean_critic: bool = False
    """Let the recommender's critic see the clean observation while the actor sees the attacked one (the defender knows the true state in training)."""

    # ------------------------------------------------------------------ attacker (PPO on AttackerEnv)
    attacker_net_arch: list[int] = field(default_factory=lambda: [64, 64])
    """Hidden layers of the learned adversary."""
    attacker_learning_rate: float = 3e-5
    """Adversary's Adam learning rate (3e-4 took PPO's updates of the 1,152-d Gaussian to an exact KL of 1.2-4.1 per update, approx_kl 1.1-12; 3e-5 with attacker_target_kl 0.02 keeps them near 0.03: docs/attacks.md)."""
    attacker_director_learning_rate: float = 3e-4
    """Learning rate of PA-AD's director (a 384-d Gaussian whose updates moved the exact KL by 2e-4 at 3e-5: too slow to learn; docs/attacks.md)."""
    attacker_target_kl: float | None = 0.02
    """SB3's target_kl for the adversary: an update's epochs stop once approx_kl exceeds 1.5 times it (None: no limit)."""
    attacker_n_steps: int = 256
    """Adversary's rollout length per env."""
    attacker_ent_coef: float = 0.0
    """Adversary's entropy bonus."""
    attacker_log_std_init: float = -0.5
    """Initial log standard deviation of the adversary's Gaussian actions."""
    attacker_fit_epochs: int = 5
    """Epochs of the adversary's white-box warm start at the start of each adversary phase: its mean action is fit by backprop through the frozen recommender (agents/training/adversary_fit.py); 0: black-box PPO only, ATLA as published."""
    attacker_fit_states: int = 8192
    """Recommender states the warm start trains on (from the recommender's own rollouts)."""

    # ------------------------------------------------------------------ run
    seed: int = 0
    """Seed of everything: networks, environments, attacks (evaluation uses seed + 10000)."""
    device: str = "auto"
    """Torch device: "auto" (cuda where present), "cpu", "cuda" or "cuda:N"."""
    output_dir: str = "runs/advrec"
    """Directory for the config, the checkpoints, the TensorBoard logs and the evaluation."""
    eval_episodes: int = 50
    """Episodes per cell of the final evaluation table."""
    phase_eval_episodes: int = 20
    """Episodes of the quick evaluation logged after every phase (0: none)."""
    curve_every: int = 0
    """Record the recommender's learning curve: evaluate it clean every this many of its env steps (0: never); saved as curve.json."""
    curve_episodes: int = 100
    """Episodes of each learning-curve evaluation (on the evaluation users, seed + 10000)."""
    eval_attacks: list[str] = field(default_factory=lambda: ["random", "pgd", "learned"])
    """Attacks of the final evaluation table ("learned": the game's adversary, or for other defences a fresh best response)."""
    keep_checkpoints: int = 2
    """Phase checkpoints kept on disk (the newest ones); at least 1."""
    progress_bar: bool = field(default=True, metadata={"flag": "progress"})
    """Show a progress bar over the game's phases (flag: --progress / --no-progress)."""
    tensorboard: bool = True
    """Write TensorBoard logs for both players under output_dir/tb."""

    def __post_init__(self) -> None:
        for name in ("num_items", "num_topics", "num_envs", "max_episode_steps", "rounds", "n_steps", "batch_size"):
            check_int(name, getattr(self, name), low=1)
        for name in (
            "n_epochs",
            "pgd_steps",
            "sa_steps",
            "attacker_n_steps",
            "eval_episodes",
            "keep_checkpoints",
            "curve_episodes",
        ):
            check_int(name, getattr(self, name), low=1)
        check_int("attacker_fit_states", self.attacker_fit_states, low=1)
        for name in (
            "recommender_steps",
            "attacker_steps",
            "warmup_steps",
            "phase_eval_episodes",
            "attacker_fit_epochs",
            "curve_every",
        ):
            check_int(name, getattr(self, name), low=0)
        check_int("catalogue_seed", self.catalogue_seed, low=0)
        check_int("seed", self.seed, low=0)
        self.env_id, self.movielens = resolve_env_id(self.env_id, self.movielens)
        check_choice("policy", self.policy, POLICIES)
        check_choice("defence", self.defence, DEFENCES)
        check_choice("norm", self.norm, NORMS)
        check_device_name("device", self.device)
        for name in ("temperature", "learning_rate", "attacker_learning_rate", "attacker_director_learning_rate"):
            check_float(name, getattr(self, name), low=0.0, low_open=True)
        check_float("gamma", self.gamma, low=0.0, high=1.0)
        check_float("ent_coef", self.ent_coef, low=0.0)
        check_float("attacker_ent_coef", self.attacker_ent_coef, low=0.0)
        check_float("attacker_log_std_init", self.attacker_log_std_init)
        if self.attacker_target_kl is not None:
            check_float("attacker_target_kl", self.attacker_target_kl, low=0.0, low_open=True)
        check_float("eps", self.eps, low=0.0)
        check_float("sa_kappa", self.sa_kappa, low=0.0)
        if self.rho is not None:
            check_float("rho", self.rho, low=0.0, high=1.0)
        self.net_arch = _int_list("net_arch", self.net_arch)
        self.attacker_net_arch = _int_list("attacker_net_arch", self.attacker_net_arch)
        if not isinstance(self.eval_attacks, (list, tuple)):
            raise TypeError(f"eval_attacks must be a list of attack names, got eval_attacks={self.eval_attacks!r}.")
        self.eval_attacks = [check_choice("eval_attacks", a, EVAL_ATTACKS) for a in self.eval_attacks]
        if not isinstance(self.output_dir, (str, os.PathLike)) or not str(self.output_dir):
            raise TypeError(f"output_dir must be a non-empty path, got output_dir={self.output_dir!r}.")
        self.output_dir = os.fspath(self.output_dir)
        if self.cache_dir is not None:
            if not isinstance(self.cache_dir, (str, os.PathLike)):
                raise TypeError(f"cache_dir must be a path or None, got cache_dir={self.cache_dir!r}.")
            self.cache_dir = os.fspath(self.cache_dir)
        for name in ("clean_critic", "progress_bar", "tensorboard"):
            if not isinstance(getattr(self, name), bool):
                raise TypeError(f"{name} must be true or false, got {name}={getattr(self, name)!r}.")
        if self.defence in ("none", "sa") and self.rho not in (None, 0.0):
            raise ValueError(
                f"rho is the share of attacked steps and defence={self.defence!r} attacks none, got rho={self.rho}."
            )
        if (
            self.attacker_steps == 0
            and self.attacker_fit_epochs == 0
            and (self.defence == "atla" or "learned" in self.eval_attacks)
        ):
            raise ValueError(
                "The learned adversary needs attacker_steps > 0 or attacker_fit_epochs > 0 "
                f"(defence={self.defence!r}, eval_attacks={self.eval_attacks}), got both 0."
            )
        if self.recommender_steps == 0 and self.warmup_steps == 0:
            raise ValueError("recommender_steps must be > 0 (or warmup_steps > 0), got recommender_steps=0.")
        if self.batch_size > self.n_steps * self.num_envs:
            raise ValueError(
                f"batch_size must be <= n_steps * num_envs (a minibatch is part of one rollout), got "
                f"batch_size={self.batch_size} > n_steps * num_envs = {self.n_steps} * {self.num_envs} = "
                f"{self.n_steps * self.num_envs}."
            )

    # ------------------------------------------------------------------ derived
    @property
    def train_rho(self) -> float:
        """The share of attacked recommender steps actually used (``rho`` or the defence's default)."""
        return DEFAULT_RHO[self.defence] if self.rho is None else float(self.rho)

    @property
    def env_kwargs(self) -> dict[str, Any]:
        """Keyword arguments of ``gym.make_vec(env_id, ...)`` (besides ``num_envs``): the training users."""
        if self.movielens is not None:
            return {"path": self.movielens, "split": "train", **self._common_env_kwargs}
        return {
            "num_items": self.num_items,
            "num_topics": self.num_topics,
            "catalogue_seed": self.catalogue_seed,
            **self._common_env_kwargs,
        }

    @property
    def eval_env_kwargs(self) -> dict[str, Any]:
        """The env of every evaluation: MovieLens's held-out users; otherwise the training env (other seeds)."""
        if self.movielens is not None:
            return {**self.env_kwargs, "split": "test"}
        return self.env_kwargs

    @property
    def _common_env_kwargs(self) -> dict[str, Any]:
        return {"max_episode_steps": self.max_episode_steps, "cache_dir": self.cache_dir}

    # ------------------------------------------------------------------ files
    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def replace(self, **overrides: Any) -> TrainConfig:
        """A validated copy with some fields changed (unknown names get a "did you mean")."""
        _check_keys(overrides, "override")
        return dataclasses.replace(self, **overrides)

    @classmethod
    def from_dict(cls, data: dict[str, Any], *, source: str = "config") -> TrainConfig:
        if not isinstance(data, dict):
            raise TypeError(f"A {source} must hold a mapping of field names to values, got {type(data).__name__}.")
        _check_keys(data, source)
        return cls(**data)

    @classmethod
    def from_file(cls, path: str | os.PathLike) -> TrainConfig:
        """Read a YAML (``.yaml``/``.yml``) or JSON (``.json``) config file; missing fields keep their defaults.

        Raises:
            FileNotFoundError: no such file.
            advrec_gym._io.ConfigFileError: malformed YAML/JSON (the message names the file and line).
            ValueError, TypeError: an unknown field or a bad value (named).
        """
        return cls.from_dict(read_config_file(path), source=f"config file {path}")

    def save(self, path: str | os.PathLike) -> None:
        """Write the config atomically as JSON (or YAML for a ``.yaml``/``.yml`` path)."""
        path = Path(path)
        if path.suffix in (".yaml", ".yml"):
            import yaml

            atomic_write_text(path, yaml.safe_dump(self.to_dict(), sort_keys=False))
        else:
            atomic_write_json(path, self.to_dict())


def _check_keys(data: dict[str, Any], source: str) -> None:
    names = [f.name for f in dataclasses.fields(TrainConfig)]
    for key in data:
        if key not in names:
            raise ValueError(f"Unknown field {key!r} in the {source}.{did_you_mean(key, names)}")


def _int_list(name: str, value: Any) -> list[int]:
    if isinstance(value, (str, bytes)) or not isinstance(value, (list, tuple)):
        raise TypeError(f"{name} must be a list of layer sizes, got {name}={value!r}.")
    if not value:  # SB3 would silently build a linear policy
        raise ValueError(f"{name} must list at least one hidden layer size (e.g. [256]), got {name}=[].")
    return [check_int(f"{name}[{i}]", v, low=1) for i, v in enumerate(value)]
