"""One fine-tuning run from a :class:`FinetuneConfig`: catalogue -> click data -> split -> model ->
adversarial fine-tuning -> clean and robust test metrics (the Python API behind ``advrec finetune``)."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from advrec_gym.catalogue import Catalogue
from advrec_gym.encoder import TransformerEncoder
from agents.supervised.adversarial import AdversarialConfig
from agents.supervised.config import FinetuneConfig
from agents.supervised.data import (
    ClickData,
    Splits,
    collect_env_logs,
    from_movielens_ratings,
    make_log_env,
    split_by_user,
)
from agents.supervised.evaluate import evaluate_model
from agents.supervised.model import TwoTowerClickModel
from agents.supervised.train import TrainConfig, TrainResult, train


@dataclass
class FinetuneResult:
    """The fine-tuned model and everything measured on the way."""

    model: TwoTowerClickModel
    catalogue: Catalogue
    splits: Splits
    training: TrainResult
    test_metrics: list[dict]

    def summary(self) -> dict:
        return {
            "examples": {name: len(getattr(self.splits, name)) for name in ("train", "validation", "test")},
            "freeze": self.model.freeze_report.__dict__,
            "training": self.training.to_dict(),
            "test_metrics": self.test_metrics,
        }


def build_catalogue(config: FinetuneConfig) -> Catalogue:
    """The config's catalogue: synthetic (source 'env') or from the MovieLens folder."""
    if config.source == "movielens":
        return Catalogue.from_movielens(config.movielens_dir, encoder=config.encoder)
    return Catalogue.synthetic(config.num_items, config.num_topics, config.catalogue_seed, encoder=config.encoder)


def build_data(config: FinetuneConfig, catalogue: Catalogue) -> ClickData:
    """The config's click examples (env logs or MovieLens ratings)."""
    if config.source == "movielens":
        return from_movielens_ratings(config.movielens_dir, catalogue, negatives=config.negatives, seed=config.seed)
    venv = make_log_env(catalogue, config.num_envs)
    return collect_env_logs(venv, steps=config.log_steps, policy=config.logging_policy, seed=config.seed)


def model_from_config(config: FinetuneConfig, catalogue: Catalogue, encoder: TransformerEncoder | None = None):
    """A fresh click model over ``catalogue`` with the config's architecture and freezing."""
    encoder = encoder or TransformerEncoder(config.encoder, max_length=config.max_length)
    return TwoTowerClickModel.for_catalogue(
        catalogue,
        encoder=encoder,
        max_length=config.max_length,
        hidden=config.hidden,
        dropout=config.dropout,
        freeze=config.freeze,
        freeze_layers=config.freeze_layers,
        seed=config.seed,
        device=config.device,
    )


def train_config(config: FinetuneConfig) -> TrainConfig:
    return TrainConfig(
        optimizer=config.optimizer,
        lr=config.lr,
        encoder_lr=config.encoder_lr,
        batch_size=config.batch_size,
        epochs=config.epochs,
        weight_decay=config.weight_decay,
        patience=config.patience,
        max_grad_norm=config.max_grad_norm,
        seed=config.seed,
        progress=config.progress,
    )


def adversarial_config(config: FinetuneConfig) -> AdversarialConfig:
    return AdversarialConfig(
        rho=config.rho,
        attack=config.attack,
        steps=config.attack_steps,
        obs_eps=config.obs_eps,
        obs_norm=config.obs_norm,
        token_eps=config.token_eps,
    )


def finetune(config: FinetuneConfig | None = None) -> FinetuneResult:
    """Run the whole supervised route for ``config`` (default: the small CPU setting)."""
    config = config or FinetuneConfig()
    catalogue = build_catalogue(config)
    data = build_data(config, catalogue)
    fractions = (1 - config.val_fraction - config.test_fraction, config.val_fraction, config.test_fraction)
    splits = split_by_user(data, fractions, seed=config.seed)
    model = model_from_config(config, catalogue)
    result = train(
        model,
        splits.train,
        splits.validation,
        train_config(config),
        adversarial_config(config),
        checkpoint=config.output,
    )
    metrics = evaluate_model(
        model,
        splits.test,
        obs_eps=config.eval_obs_eps,
        obs_norm=config.obs_norm,
        token_eps=config.eval_token_eps,
        steps=config.eval_steps,
    )
    out = FinetuneResult(model, catalogue, splits, result, metrics)
    if config.metrics_json:
        write_json(config.metrics_json, {"config": config.to_dict(), **out.summary()})
    return out


def write_json(path: str | os.PathLike, payload: dict) -> None:
    """Write JSON atomically (temporary file, then rename)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(payload, indent=2, default=float) + "\n")
    os.replace(tmp, path)
