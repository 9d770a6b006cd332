"""The documented configuration of ``advrec finetune`` and :func:`agents.supervised.pipeline.finetune`.

One flat dataclass, every field with its default and its help text (the CLI's ``--flags``, made by
:mod:`agents.cli_options`, and the YAML keys are the field names, ``_`` or ``-`` alike). ``advrec
finetune --print-config`` prints the defaults as a commented YAML file to start from; ``--config
FILE`` reads one back, and flags given on the command line override it.

Every field is checked when the config is made, before any work (the optimisation and adversarial
settings by building :class:`~agents.supervised.train.OptimizationConfig` and
:class:`~agents.supervised.adversarial.AdversarialConfig` from it), so a bad value never costs a
training run.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from advrec_gym._io import read_config_file
from advrec_gym._validation import check_choice, check_float, check_int, did_you_mean
from advrec_gym.attacks.budget import NORMS
from advrec_gym.device import check_device_name

SOURCES = ("env", "movielens")


def _f(default, help_text: str, section: str):
    return field(default=default, metadata={"help": help_text, "section": section})


@dataclass(frozen=True)
class FinetuneConfig:
    """Everything one fine-tuning run needs (see the ``help`` metadata of each field)."""

    # data
    source: str = _f("env", "where the click examples come from: 'env' (AdvRec-v0 logs) or 'movielens'", "data")
    movielens_dir: str | None = _f(None, "ml-100k-format folder (u.item + u.data) for source 'movielens'", "data")
    num_items: int = _f(100, "items of the synthetic catalogue (source 'env')", "data")
    num_topics: int = _f(10, "topics of the synthetic catalogue (source 'env')", "data")
    catalogue_seed: int = _f(0, "seed of the synthetic catalogue", "data")
    log_steps: int = _f(3000, "interactions logged from AdvRec-v0 (source 'env')", "data")
    logging_policy: str = _f("random", "logging policy: 'random' or 'popularity' (propensities recorded)", "data")
    num_envs: int = _f(16, "users logged together", "data")
    negatives: int = _f(4, "unrated items sampled per rating as non-clicks (source 'movielens')", "data")
    val_fraction: float = _f(0.1, "share of users in the validation split", "data")
    test_fraction: float = _f(0.1, "share of users in the test split", "data")
    # model
    encoder: str | None = _f(None, "item-tower model folder or hub id (none: the shipped all-MiniLM-L6-v2)", "model")
    allow_download: bool = _f(
        False, "let a hub id download from the Hugging Face hub (off: offline, the local cache only)", "model"
    )
    max_length: int = _f(32, "tokens kept per item text", "model")
    hidden: int = _f(256, "width of the user tower", "model")
    dropout: float = _f(0.1, "dropout of the user tower and the transformer", "model")
    freeze: str = _f("top-only", "none / embeddings / bottom-k / top-only / encoder", "model")
    freeze_layers: int = _f(2, "k of bottom-k (layers frozen) and top-only (layers trained)", "model")
    # adversarial examples
    rho: float = _f(0.2, "share of each batch replaced by adversarial examples, in [0, 1]", "adversarial")
    attack: str = _f("fgsm", "how adversarial examples are made: 'fgsm' or 'pgd'", "adversarial")
    attack_steps: int = _f(3, "PGD iterations", "adversarial")
    obs_eps: float = _f(
        0.005, "user-side budget on the observation's embedding part (raw units; 0: off)", "adversarial"
    )
    obs_norm: str = _f("inf", "user-side norm: 'inf' or '2'", "adversarial")
    token_eps: float = _f(0.5, "item-side L2 budget per item text, in word-embedding std units (0: off)", "adversarial")
    # optimisation
    optimizer: str = _f("adamw", "'adamw' or 'sgd'", "train")
    lr: float = _f(1e-3, "learning rate of the user tower and bias", "train")
    encoder_lr: float = _f(1e-4, "learning rate of the transformer's trainable layers", "train")
    batch_size: int = _f(256, "examples per step", "train")
    epochs: int = _f(4, "most epochs", "train")
    weight_decay: float = _f(0.01, "weight decay", "train")
    patience: int = _f(2, "epochs without a better validation AUC before stopping", "train")
    max_grad_norm: float | None = _f(1.0, "gradient-norm clip (null: none)", "train")
    seed: int = _f(0, "seeds logging, splitting, initialisation, shuffling and dropout", "train")
    device: str = _f("auto", "'auto' (cuda when present), 'cpu', 'cuda', ...", "train")
    progress: bool = _f(True, "show a progress bar", "train")
    # evaluation and output
    eval_obs_eps: tuple[float, ...] = _f((0.001, 0.002, 0.005), "user-side eps grid of the robust evaluation", "eval")
    eval_token_eps: tuple[float, ...] = _f((1.0,), "item-side eps grid of the robust evaluation", "eval")
    eval_steps: int = _f(10, "PGD iterations of the robust evaluation", "eval")
    output: str | None = _f(None, "checkpoint file to write (best weights)", "eval")
    metrics_json: str | None = _f(None, "write the history and the metrics to this JSON file", "eval")

    def __post_init__(self):
        check_choice("source", self.source, SOURCES)
        if self.source == "movielens" and not self.movielens_dir:
            raise ValueError("source='movielens' needs movielens_dir (an ml-100k-format folder), got None.")
        for name in ("movielens_dir", "encoder", "output", "metrics_json"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, (str, os.PathLike)) or not os.fspath(value)):
                raise TypeError(f"{name} must be a path or None, got {name}={value!r}.")
        if self.source == "movielens" and not Path(self.movielens_dir).exists():
            raise FileNotFoundError(f"movielens_dir={self.movielens_dir!r} does not exist (an ml-100k-format folder).")
        for name in ("output", "metrics_json"):
            if getattr(self, name) is not None and Path(getattr(self, name)).is_dir():
                raise ValueError(f"{name} must be a file path, got {name}={getattr(self, name)!r}, which is a folder.")
        for name in (
            "num_items",
            "num_topics",
            "log_steps",
            "num_envs",
            "max_length",
            "hidden",
            "attack_steps",
            "batch_size",
            "epochs",
            "patience",
            "eval_steps",
        ):
            check_int(name, getattr(self, name), low=1)
        check_int("negatives", self.negatives, low=0)
        check_int("catalogue_seed", self.catalogue_seed, low=0)
        check_int("seed", self.seed, low=0)
        check_int("freeze_layers", self.freeze_layers, low=0)
        check_choice("logging_policy", self.logging_policy, ("random", "popularity"))
        from agents.supervised.freezing import FREEZE_STRATEGIES

        check_choice("freeze", self.freeze, FREEZE_STRATEGIES)
        check_float("dropout", self.dropout, low=0.0, high=1.0, high_open=True)
        check_device_name("device", self.device)
        for name in ("progress", "allow_download"):
            if not isinstance(getattr(self, name), bool):
                raise TypeError(f"{name} must be true or false, got {name}={getattr(self, name)!r}.")
        for name in ("val_fraction", "test_fraction"):
            check_float(name, getattr(self, name), low=0.0, high=1.0, low_open=True, high_open=True)
        if self.val_fraction + self.test_fraction >= 1:
            raise ValueError(
                f"val_fraction + test_fraction must be < 1, got {self.val_fraction} + {self.test_fraction}."
            )
        check_float("obs_eps", self.obs_eps, low=0.0)
        if isinstance(self.obs_norm, int) and not isinstance(self.obs_norm, bool):  # YAML reads `2` as a number
            object.__setattr__(self, "obs_norm", str(self.obs_norm))
        check_choice("obs_norm", self.obs_norm, NORMS)
        check_float("token_eps", self.token_eps, low=0.0)
        for name in ("eval_obs_eps", "eval_token_eps"):
            object.__setattr__(self, name, _eps_grid(name, getattr(self, name)))
        self.optimization()  # builds, so checks, the optimisation and adversarial settings now
        self.adversarial()

    def optimization(self):
        """The :class:`~agents.supervised.train.OptimizationConfig` of these settings."""
        from agents.supervised.train import OptimizationConfig

        return OptimizationConfig(
            optimizer=self.optimizer,
            lr=self.lr,
            encoder_lr=self.encoder_lr,
            batch_size=self.batch_size,
            epochs=self.epochs,
            weight_decay=self.weight_decay,
            patience=self.patience,
            max_grad_norm=self.max_grad_norm,
            seed=self.seed,
            progress=self.progress,
        )

    def adversarial(self):
        """The :class:`~agents.supervised.adversarial.AdversarialConfig` of these settings."""
        from agents.supervised.adversarial import AdversarialConfig

        return AdversarialConfig(
            rho=self.rho,
            attack=self.attack,
            steps=self.attack_steps,
            obs_eps=self.obs_eps,
            obs_norm=self.obs_norm,
            token_eps=self.token_eps,
        )

    @classmethod
    def from_file(cls, path: str | os.PathLike, **overrides: Any) -> FinetuneConfig:
        """Read a YAML or JSON file of fields (malformed files are errors naming the file and line)."""
        return cls.from_dict({**read_config_file(path, what="config file"), **overrides})

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> FinetuneConfig:
        """Build from a mapping (YAML keys may use ``-``); unknown keys are errors with a suggestion."""
        if not isinstance(values, dict):
            raise TypeError(
                f"a FinetuneConfig is made from a mapping of field names to values, got {type(values).__name__}."
            )
        names = [f.name for f in dataclasses.fields(cls)]
        clean = {}
        for key, value in values.items():
            name = str(key).replace("-", "_")
            if name not in names:
                raise ValueError(f"unknown config key {key!r}.{did_you_mean(name, names)}")
            clean[name] = tuple(value) if isinstance(value, list) else value
        return cls(**clean)

    def to_dict(self) -> dict[str, Any]:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(self).items()}

    def to_yaml(self) -> str:
        """The configuration as YAML, each key preceded by its help text and grouped by section."""
        import yaml

        lines, section = [], None
        for f in dataclasses.fields(self):
            if f.metadata["section"] != section:
                section = f.metadata["section"]
                lines.append(f"{'' if not lines else chr(10)}# --- {section}")
            value = getattr(self, f.name)
            value = list(value) if isinstance(value, tuple) else value
            lines.append(f"# {f.metadata['help']}")
            lines.append(yaml.safe_dump({f.name: value}, default_flow_style=True, width=200).strip().strip("{}"))
        return "\n".join(lines) + "\n"


def _eps_grid(name: str, value: Any) -> tuple[float, ...]:
    if isinstance(value, (str, bytes)) or not isinstance(value, (list, tuple)):
        raise TypeError(f"{name} must be a list of budgets (numbers >= 0), got {name}={value!r}.")
    return tuple(check_float(f"{name}[{i}]", e, low=0.0) for i, e in enumerate(value))
