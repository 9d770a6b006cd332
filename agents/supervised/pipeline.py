"""One fine-tuning run from a :class:`FinetuneConfig`: catalogue -> click data -> split -> model ->
adversarial fine-tuning -> clean and robust test metrics (the Python API behind ``advrec finetune``)."""

from __future__ import annotations

from dataclasses import dataclass

from advrec_gym._io import atomic_write_json
from advrec_gym.catalogue import Catalogue
from advrec_gym.device import resolve_device
from advrec_gym.encoder import TransformerEncoder
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
from agents.supervised.train import TrainResult, train


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
    encoder = TransformerEncoder(config.encoder, device=config.device, allow_download=config.allow_download)
    if config.source == "movielens":
        return Catalogue.from_movielens(config.movielens_dir, encoder=encoder)
    return Catalogue.synthetic(config.num_items, config.num_topics, config.catalogue_seed, encoder=encoder)


def build_data(config: FinetuneConfig, catalogue: Catalogue) -> ClickData:
    """The config's click examples (env logs or MovieLens ratings)."""
    if config.source == "movielens":
        return from_movielens_ratings(config.movielens_dir, catalogue, negatives=config.negatives, seed=config.seed)
    venv = make_log_env(catalogue, config.num_envs)
    return collect_env_logs(venv, steps=config.log_steps, policy=config.logging_policy, seed=config.seed)


def model_from_config(config: FinetuneConfig, catalogue: Catalogue, encoder: TransformerEncoder | None = None):
    """A fresh click model over ``catalogue`` with the config's architecture and freezing."""
    encoder = encoder or TransformerEncoder(
        config.encoder, max_length=config.max_length, device=config.device, allow_download=config.allow_download
    )
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


def finetune(config: FinetuneConfig | None = None) -> FinetuneResult:
    """Run the whole supervised route for ``config`` (default: the small CPU setting)."""
    config = config or FinetuneConfig()  # every setting was checked when the config was made
    resolve_device(config.device)  # and the device must exist, before any work
    catalogue = build_catalogue(config)
    data = build_data(config, catalogue)
    fractions = (1 - config.val_fraction - config.test_fraction, config.val_fraction, config.test_fraction)
    splits = split_by_user(data, fractions, seed=config.seed)
    model = model_from_config(config, catalogue)
    result = train(
        model,
        splits.train,
        splits.validation,
        config.optimization(),
        config.adversarial(),
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
        atomic_write_json(config.metrics_json, {"config": config.to_dict(), **out.summary()}, default=float)
    return out
