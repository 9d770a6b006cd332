"""The documented configuration of ``advrec finetune`` and :func:`agents.supervised.pipeline.finetune`.

One flat dataclass, every field with its default and its help text (the CLI's ``--flags`` and the
YAML keys are the field names, ``_`` or ``-`` alike). ``advrec finetune --print-config`` prints the
defaults as a commented YAML file to start from; ``--config FILE`` reads one back, and flags given
on the command line override it.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from advrec_gym._validation import check_choice, check_float, check_int, did_you_mean

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
    encoder: str | None = _f(None, "item-tower model folder or hub id (default: the shipped all-MiniLM-L6-v2)", "model")
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
        check_choice("logging_policy", self.logging_policy, ("random", "popularity"))
        for name in ("val_fraction", "test_fraction"):
            check_float(name, getattr(self, name), low=0.0, high=1.0, low_open=True, high_open=True)
        if self.val_fraction + self.test_fraction >= 1:
            raise ValueError(
                f"val_fraction + test_fraction must be < 1, got {self.val_fraction} + {self.test_fraction}."
            )
        object.__setattr__(self, "eval_obs_eps", tuple(float(e) for e in self.eval_obs_eps))
        object.__setattr__(self, "eval_token_eps", tuple(float(e) for e in self.eval_token_eps))

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> FinetuneConfig:
        """Build from a mapping (YAML keys may use ``-``); unknown keys are errors with a suggestion."""
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
