"""Fine-tuning the click model with adversarial examples mixed in at a ratio rho.

One epoch: shuffle the training examples (seeded), and for each batch replace its first
``round(rho * batch_size)`` examples by adversarial versions made on the fly (FGSM or PGD-K on the
observation and on the item's token embeddings, :mod:`agents.supervised.adversarial`), then take one
optimiser step on the binary cross-entropy of the mixed batch. After each epoch the validation AUC
decides early stopping (``patience`` epochs without improvement) and the best weights are restored
at the end. A non-finite loss stops training with :class:`TrainingDiverged`, the model restored to
its last good weights and the checkpoint file (written at each improvement) left as it was. When
training ends without an improvement the checkpoint is written once with the starting weights
(``epoch=0``), so a finished run always leaves its best weights on disk.

All randomness comes from ``seed``: the shuffles (numpy), dropout (torch's generator, forked so the
caller's global state is untouched) and PGD's random starts (a torch generator).
"""

from __future__ import annotations

import os
import time
from dataclasses import asdict, dataclass, field

import numpy as np
import torch
from torch import nn

from advrec_gym._validation import check_choice, check_float, check_int
from agents.supervised.adversarial import AdversarialConfig, perturb_with
from agents.supervised.checkpoint import save_checkpoint
from agents.supervised.data import ClickData
from agents.supervised.evaluate import clean_metrics
from agents.supervised.model import TwoTowerClickModel

OPTIMIZERS = ("adamw", "sgd")


@dataclass(frozen=True)
class OptimizationConfig:
    """Optimisation settings of :func:`train` (the fine-tuning loop; ``advrec finetune`` fills them from
    :class:`~agents.supervised.config.FinetuneConfig`, the supervised route's one user-facing config).

    Attributes:
        optimizer: ``"adamw"`` or ``"sgd"`` (with momentum).
        lr: learning rate of the user tower and the score bias.
        encoder_lr: learning rate of the transformer's trainable layers.
        batch_size: examples per step.
        epochs: most passes over the training data.
        weight_decay: decoupled (AdamW) or L2 (SGD) weight decay.
        momentum: SGD momentum.
        patience: epochs without a better validation AUC before stopping.
        min_delta: smallest AUC gain that counts as better.
        max_grad_norm: gradient-norm clip (``None``: no clipping).
        seed: seeds shuffling, dropout and random starts.
        progress: show a tqdm progress bar.
    """

    optimizer: str = "adamw"
    lr: float = 1e-3
    encoder_lr: float = 5e-5
    batch_size: int = 256
    epochs: int = 4
    weight_decay: float = 0.01
    momentum: float = 0.9
    patience: int = 2
    min_delta: float = 0.0
    max_grad_norm: float | None = 1.0
    seed: int = 0
    progress: bool = True

    def __post_init__(self):
        check_choice("optimizer", self.optimizer, OPTIMIZERS)
        check_float("lr", self.lr, low=0.0, low_open=True)
        if isinstance(self.encoder_lr, (int, float)) and self.encoder_lr == 0:
            raise ValueError(
                "encoder_lr must be > 0, got encoder_lr=0; to keep the transformer fixed use freeze='encoder'."
            )
        check_float("encoder_lr", self.encoder_lr, low=0.0, low_open=True)
        check_int("batch_size", self.batch_size, low=1)
        check_int("epochs", self.epochs, low=1)
        check_float("weight_decay", self.weight_decay, low=0.0)
        check_float("momentum", self.momentum, low=0.0, high=1.0, high_open=True)
        check_int("patience", self.patience, low=1)
        check_float("min_delta", self.min_delta, low=0.0)
        if self.max_grad_norm is not None:
            check_float("max_grad_norm", self.max_grad_norm, low=0.0, low_open=True)
        check_int("seed", self.seed)


@dataclass
class TrainResult:
    """What happened during training.

    Attributes:
        history: one dict per epoch (``epoch``, ``train_loss``, ``val_auc``, ``val_accuracy``,
            ``seconds``).
        best_epoch: the epoch whose weights the model holds (0: none improved on the start).
        best_val_auc: its validation AUC.
        examples_per_second: training examples (clean + adversarial) per second of training steps,
            validation excluded.
        stopped_early: patience ran out before ``epochs``.
        checkpoint: the checkpoint file, if one was written.
    """

    history: list[dict] = field(default_factory=list)
    best_epoch: int = 0
    best_val_auc: float = float("nan")
    examples_per_second: float = float("nan")
    stopped_early: bool = False
    checkpoint: str | None = None

    def to_dict(self) -> dict:
        return asdict(self)


class TrainingDiverged(RuntimeError):
    """The loss became NaN or infinite; ``result`` holds the history up to that point."""

    def __init__(self, message: str, result: TrainResult):
        super().__init__(message)
        self.result = result


def _optimizer(model: TwoTowerClickModel, config: OptimizationConfig) -> torch.optim.Optimizer:
    encoder, others = model.trainable_parameters()
    groups = [{"params": others, "lr": config.lr}]
    if encoder:
        groups.append({"params": encoder, "lr": config.encoder_lr})
    if config.optimizer == "adamw":
        return torch.optim.AdamW(groups, weight_decay=config.weight_decay)
    return torch.optim.SGD(groups, momentum=config.momentum, weight_decay=config.weight_decay)


def _snapshot(model: nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def train(
    model: TwoTowerClickModel,
    train_data: ClickData,
    validation_data: ClickData,
    config: OptimizationConfig | None = None,
    adversarial: AdversarialConfig | None = None,
    *,
    checkpoint: str | os.PathLike | None = None,
) -> TrainResult:
    """Fine-tune ``model`` in place on ``train_data``, early-stopping on ``validation_data``'s AUC.

    Args:
        model: the click model (its freezing strategy decides what trains).
        train_data: training examples.
        validation_data: validation examples (both clicks and non-clicks needed for the AUC).
        config: optimisation settings (default :class:`OptimizationConfig`).
        adversarial: adversarial examples (default: none, ``rho = 0``): token / observation
            perturbations (:class:`AdversarialConfig`) or edited item texts
            (:class:`~agents.supervised.text_adversarial.TextAdversarialConfig`).
        checkpoint: write the best weights here at every improvement (and at the end, with the
            starting weights, if no epoch improved on them).

    Returns:
        A :class:`TrainResult`; the model holds the best epoch's weights.

    Raises:
        TrainingDiverged: the loss became NaN or infinite (the model holds the last good weights).
    """
    config = config or OptimizationConfig()
    adversarial = adversarial or AdversarialConfig(rho=0.0)
    for name, data in (("train_data", train_data), ("validation_data", validation_data)):
        if len(data) == 0:
            raise ValueError(
                f"{name} is empty: there is nothing to {'train on' if name == 'train_data' else 'validate'}."
            )
        if data.obs_dim != model.obs_dim:
            raise ValueError(f"{name} has observations of size {data.obs_dim}, the model expects {model.obs_dim}.")
        data.check_items(model.num_items)
    device = model.device
    result = TrainResult()
    rng = np.random.default_rng(config.seed)
    attack_gen = torch.Generator(device=device).manual_seed(config.seed + 1)
    optimizer = _optimizer(model, config)
    trainable = [p for g in optimizer.param_groups for p in g["params"]]
    best_state = _snapshot(model)
    result.best_val_auc = clean_metrics(model, validation_data)["auc"]
    bad_epochs, train_seconds, seen = 0, 0.0, 0
    fork_devices = [device.index or 0] if device.type == "cuda" else []
    with torch.random.fork_rng(devices=fork_devices):
        torch.manual_seed(config.seed)
        for epoch in range(1, config.epochs + 1):
            start = time.perf_counter()
            loss_sum, n_batches = _run_epoch(
                model, train_data, config, adversarial, rng, attack_gen, optimizer, trainable, epoch, result, best_state
            )
            seen += len(train_data)
            train_seconds += time.perf_counter() - start
            val = clean_metrics(model, validation_data)
            result.history.append(
                {
                    "epoch": epoch,
                    "train_loss": loss_sum / n_batches,
                    "val_auc": val["auc"],
                    "val_accuracy": val["accuracy"],
                    "seconds": time.perf_counter() - start,
                }
            )
            if val["auc"] > result.best_val_auc + config.min_delta:
                result.best_epoch, result.best_val_auc, bad_epochs = epoch, val["auc"], 0
                best_state = _snapshot(model)
                if checkpoint is not None:
                    result.checkpoint = str(save_checkpoint(checkpoint, model, epoch=epoch, val_auc=val["auc"]))
            else:
                bad_epochs += 1
                if bad_epochs >= config.patience:
                    result.stopped_early = epoch < config.epochs
                    break
    model.load_state_dict(best_state)
    if checkpoint is not None and result.checkpoint is None:  # no epoch beat the start: keep the start
        result.checkpoint = str(save_checkpoint(checkpoint, model, epoch=0, val_auc=result.best_val_auc))
    result.examples_per_second = seen / max(train_seconds, 1e-9)
    return result


def _run_epoch(model, data, config, adversarial, rng, attack_gen, optimizer, trainable, epoch, result, best_state):
    from tqdm.auto import tqdm

    device = model.device
    model.train()
    order = rng.permutation(len(data))
    batches = range(0, len(data), config.batch_size)
    bar = tqdm(batches, desc=f"epoch {epoch}/{config.epochs}", unit="batch", disable=not config.progress, leave=False)
    loss_sum, n = 0.0, 0
    for start in bar:
        idx = order[start : start + config.batch_size]
        obs = torch.as_tensor(data.observations[idx], device=device)
        items = torch.as_tensor(data.items[idx], device=device)
        clicks = torch.as_tensor(data.clicks[idx], device=device)
        k = adversarial.num_adversarial(len(idx)) if adversarial.rho > 0 else 0
        extra = 0.0
        if k and hasattr(adversarial, "batch_logits"):  # edited item texts (agents.supervised.text_adversarial)
            logits, extra = adversarial.batch_logits(model, obs, items, clicks, attack_gen)
        else:
            parts = []
            if k:  # the batch is shuffled, so its first k examples are a random share rho of it
                p = perturb_with(model, obs[:k], items[:k], clicks[:k], adversarial, attack_gen)
                item_vec = model.item_vectors(p.items, p.token_delta)
                parts.append(model.logits_from(model.user_vectors(obs[:k], p.obs_delta), item_vec, p.items.inverse))
            if k < len(idx):
                parts.append(model(obs[k:], items[k:]))
            logits = torch.cat(parts)
        loss = nn.functional.binary_cross_entropy_with_logits(logits, clicks) + extra
        if not torch.isfinite(loss):
            model.load_state_dict(best_state)
            raise TrainingDiverged(
                f"training diverged: the loss became {loss.item()} at epoch {epoch}, batch {start // config.batch_size + 1} "
                f"(lr={config.lr}, encoder_lr={config.encoder_lr}; try a lower learning rate or max_grad_norm). "
                f"The model holds the weights of epoch {result.best_epoch} (0 = as it started)"
                + (f", also saved in {result.checkpoint}." if result.checkpoint else "."),
                result,
            )
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if config.max_grad_norm is not None:
            nn.utils.clip_grad_norm_(trainable, config.max_grad_norm)
        optimizer.step()
        loss_sum, n = loss_sum + float(loss.detach()), n + 1
        bar.set_postfix(loss=f"{loss_sum / n:.4f}")
    return loss_sum, n
