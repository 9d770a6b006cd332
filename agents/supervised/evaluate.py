"""Clean and robust click-prediction metrics: AUC, accuracy and log loss, under FGSM / PGD at an eps grid.

A robust metric scores every example after the attack that raises its loss (the binary
cross-entropy of its true label): clicks are pushed down and non-clicks up. The user side attacks
each observation in its :class:`~advrec_gym.attacks.Budget`; the item side attacks each distinct
item's token embeddings once for all evaluated examples that show it (see
:mod:`agents.supervised.adversarial`).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from advrec_gym._validation import check_choice, check_float, check_int
from advrec_gym.attacks.budget import Budget
from agents.supervised.adversarial import ATTACKS, perturb
from agents.supervised.data import ClickData
from agents.supervised.model import TwoTowerClickModel

SIDES = ("user", "item")


def roc_auc(labels: np.ndarray, scores: np.ndarray) -> float:
    """Area under the ROC curve (the Mann-Whitney statistic; tied scores count one half).

    Raises:
        ValueError: the labels hold only clicks or only non-clicks.
    """
    labels = np.asarray(labels).astype(bool)
    scores = np.asarray(scores, dtype=np.float64)
    pos, neg = int(labels.sum()), int((~labels).sum())
    if pos == 0 or neg == 0:
        raise ValueError(f"AUC needs both clicks and non-clicks, got {pos} clicks and {neg} non-clicks.")
    order = np.argsort(scores, kind="mergesort")
    ranks = np.empty(len(scores))
    sorted_scores = scores[order]
    # average rank of each run of ties (1-based)
    starts = np.flatnonzero(np.concatenate([[True], sorted_scores[1:] != sorted_scores[:-1]]))
    ends = np.concatenate([starts[1:], [len(scores)]])
    ranks[order] = np.repeat((starts + ends + 1) / 2.0, ends - starts)
    return float((ranks[labels].sum() - pos * (pos + 1) / 2) / (pos * neg))


def metrics(labels: np.ndarray, logits: np.ndarray) -> dict[str, float]:
    """AUC, accuracy (threshold P = 0.5) and mean log loss of click logits."""
    labels = np.asarray(labels, dtype=np.float64)
    logits = np.asarray(logits, dtype=np.float64)
    log_loss = np.mean(np.logaddexp(0.0, logits) - labels * logits)
    return {
        "auc": roc_auc(labels, logits),
        "accuracy": float(np.mean((logits > 0) == (labels > 0.5))),
        "log_loss": float(log_loss),
    }


def _tensors(model: TwoTowerClickModel, data: ClickData, index: slice | np.ndarray):
    dev = model.device
    return (
        torch.as_tensor(data.observations[index], device=dev),
        torch.as_tensor(data.items[index], device=dev),
        torch.as_tensor(data.clicks[index], device=dev),
    )


@torch.no_grad()
def predict_logits(model: TwoTowerClickModel, data: ClickData, batch_size: int = 2048) -> np.ndarray:
    """Click logits of every example (eval mode; the item tower runs once over the catalogue)."""
    data.check_items(model.num_items)
    was_training = model.training
    model.eval()
    vectors = model.catalogue_vectors()
    out = []
    for start in range(0, len(data), batch_size):
        obs, items, _ = _tensors(model, data, slice(start, start + batch_size))
        out.append(((model.user_tower(obs) * vectors[items]).sum(-1) + model.bias).cpu().numpy())
    model.train(was_training)
    return np.concatenate(out) if out else np.zeros(0)


def clean_metrics(model: TwoTowerClickModel, data: ClickData) -> dict[str, float]:
    """AUC, accuracy and log loss on ``data`` without attack."""
    return metrics(data.clicks, predict_logits(model, data))


def robust_logits(
    model: TwoTowerClickModel,
    data: ClickData,
    *,
    side: str = "user",
    attack: str = "fgsm",
    eps: float = 0.01,
    norm: str = "inf",
    steps: int = 10,
    batch_size: int = 1024,
) -> np.ndarray:
    """Logits of every example after the attack that raises its loss.

    Args:
        side: ``"user"`` (the observation's embedding part, in a ``Budget(eps, norm)``) or ``"item"``
            (token embeddings, L2 radius ``eps`` in units of their std; ``norm`` is ignored).
        attack: ``"fgsm"`` or ``"pgd"`` (``steps`` iterations, step ``2.5 * eps / steps``).
        eps: the budget.
    """
    side = check_choice("side", side, SIDES)
    attack = check_choice("attack", attack, ATTACKS)
    eps = check_float("eps", eps, low=0.0)
    steps = check_int("steps", steps, low=1)
    data.check_items(model.num_items)
    # The item side shares one perturbation per item over all examples, so it takes them in one batch.
    size = len(data) if side == "item" else check_int("batch_size", batch_size, low=1)
    was_training = model.training
    model.eval()
    # The user side leaves the items alone: their vectors are computed once, not in every batch.
    vectors = model.catalogue_vectors() if side == "user" else None
    out = []
    for start in range(0, len(data), size):
        obs, items, clicks = _tensors(model, data, slice(start, start + size))
        kwargs = {"obs_budget": Budget(eps, norm)} if side == "user" else {"token_eps": eps}
        p = perturb(model, obs, items, clicks, attack=attack, steps=steps, item_vectors=vectors, **kwargs)
        with torch.no_grad():
            item_vec = vectors[p.items.items] if vectors is not None else model.item_vectors(p.items, p.token_delta)
            logits = model.logits_from(model.user_vectors(obs, p.obs_delta), item_vec, p.items.inverse)
        out.append(logits.cpu().numpy())
    model.train(was_training)
    return np.concatenate(out)


def evaluate_model(
    model: TwoTowerClickModel,
    data: ClickData,
    *,
    obs_eps: Sequence[float] = (0.005, 0.01, 0.02),
    obs_norm: str = "inf",
    token_eps: Sequence[float] = (),
    attacks: Sequence[str] = ATTACKS,
    steps: int = 10,
) -> list[dict]:
    """Clean metrics, then robust metrics for each attack, side and eps of the grids.

    Returns:
        Rows ``{"attack", "side", "eps", "auc", "accuracy", "log_loss"}``; the clean row has
        attack ``"none"`` and eps 0.
    """
    rows = [{"attack": "none", "side": "-", "eps": 0.0, **clean_metrics(model, data)}]
    grids = [("user", e) for e in obs_eps] + [("item", e) for e in token_eps]
    for attack in attacks:
        for side, eps in grids:
            logits = robust_logits(model, data, side=side, attack=attack, eps=eps, norm=obs_norm, steps=steps)
            rows.append({"attack": attack, "side": side, "eps": float(eps), **metrics(data.clicks, logits)})
    return rows
