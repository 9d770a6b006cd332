"""Checkpoints of the click model that record which encoder they fine-tuned.

A checkpoint holds the model's configuration, its weights, the catalogue texts it was built over and
the item tower's encoder identity (model files, pooling, max_length; see
:attr:`advrec_gym.TransformerEncoder.identity`). Loading it into a model of another encoder is an
error, never a silent mix of weights. Files are written atomically (:mod:`advrec_gym._io`), so an
interrupted or failed run never leaves a half-written checkpoint behind.

Reading never unpickles code: the payload is dicts, strings, numbers and tensors, and it is read
with ``torch.load(weights_only=True)``, which refuses anything else. A crafted ``.pt`` whose pickle
would run code when loaded is an error, not an execution.
"""

from __future__ import annotations

import os
import pickle
from pathlib import Path
from typing import Any

import torch

from advrec_gym._io import atomic_writer
from advrec_gym.encoder import TransformerEncoder
from agents.supervised.model import TwoTowerClickModel, tower_identity

FORMAT = "advrec-supervised-click-model/1"


def save_checkpoint(path: str | os.PathLike, model: TwoTowerClickModel, **extra: Any) -> Path:
    """Write ``model`` (weights, config, encoder identity, catalogue texts) and ``extra`` metadata."""
    path = Path(path)
    payload = {
        "format": FORMAT,
        "encoder_identity": model.encoder_identity,
        "config": dict(model.config),
        "texts": model.texts,
        "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()},
        "extra": extra,
    }
    with atomic_writer(path) as f:
        torch.save(payload, f)
    return path


def read_checkpoint(path: str | os.PathLike) -> dict[str, Any]:
    """The checkpoint's contents (weights on the cpu), after checking its format."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint {path} does not exist.")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        raise ValueError(
            f"{path} was refused: it holds Python objects other than tensors and plain data, which loading "
            f"would have to execute (a crafted or foreign file; click-model checkpoints never do). {exc}"
        ) from None
    except (RuntimeError, EOFError, OSError) as exc:  # truncated, not a torch file, ...
        raise ValueError(f"{path} is not a readable click-model checkpoint ({type(exc).__name__}: {exc}).") from None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise ValueError(f"{path} is not a click-model checkpoint (expected format {FORMAT!r}).")
    return payload


def check_encoder(payload: dict[str, Any], identity: str, where: str = "this model") -> None:
    """Raise ``ValueError`` unless the checkpoint's encoder identity equals ``identity``."""
    if payload["encoder_identity"] != identity:
        raise ValueError(
            "the checkpoint was fine-tuned from a different encoder than "
            f"{where}:\n  checkpoint: {payload['encoder_identity']}\n  given:      {identity}\n"
            "Load it with the encoder (model, pooling, max_length) it was trained with."
        )


def load_weights(model: TwoTowerClickModel, path: str | os.PathLike) -> dict[str, Any]:
    """Load a checkpoint's weights into ``model`` (same encoder required); returns its ``extra``."""
    payload = read_checkpoint(path)
    check_encoder(payload, model.encoder_identity)
    model.load_state_dict(payload["state_dict"])
    return payload["extra"]


def load_checkpoint(
    path: str | os.PathLike,
    *,
    texts=None,
    encoder: TransformerEncoder | str | os.PathLike | None = None,
    device: str = "auto",
) -> TwoTowerClickModel:
    """Rebuild a click model from a checkpoint.

    Args:
        path: the checkpoint file.
        texts: item texts to score (default: the catalogue the model was trained over).
        encoder: the encoder to build the item tower from (default: the one the checkpoint names);
            it must have the checkpoint's identity.
        device: where the model goes.
    """
    payload = read_checkpoint(path)
    cfg = dict(payload["config"])
    if not isinstance(encoder, TransformerEncoder):
        encoder = TransformerEncoder(encoder or cfg["encoder"], pooling=cfg["pooling"], max_length=cfg["max_length"])
    check_encoder(payload, tower_identity(encoder, cfg["max_length"]), where="the encoder given")
    model_cfg = {k: cfg[k] for k in ("max_length", "hidden", "dropout", "freeze", "freeze_layers", "seed")}
    model = TwoTowerClickModel(cfg["obs_dim"], payload["texts"], encoder=encoder, device=device, **model_cfg)
    model.load_state_dict(payload["state_dict"])
    if texts is not None:
        model.set_catalogue(texts)
    return model
