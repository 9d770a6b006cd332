"""The recommender baselines and statistics the fidelity report scores the simulator against.

Compact and seeded: popularity, item-kNN (cosine over users' likes) and BPR-MF (Rendle et al., 2009)
with a fold-in for users it was not trained on, plus the Gini coefficient, top-share, Pearson and
Spearman correlations, and the per-user AUC of a score matrix. Everything here reads matrices
(users x items); nothing reads a file.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from agents.supervised.evaluate import roc_auc


# ---------------------------------------------------------------------------------------------- statistics
def gini(counts: np.ndarray) -> float:
    """Gini coefficient of non-negative counts (0: all equal; near 1: one item holds everything).

    ``G = sum_i (2 i - n - 1) x_(i) / (n sum x)`` over the counts sorted ascending (1-based ``i``).
    """
    x = np.sort(np.asarray(counts, dtype=np.float64))
    if x.size == 0 or x.sum() <= 0:
        return float("nan")
    i = np.arange(1, x.size + 1)
    return float(((2 * i - x.size - 1) * x).sum() / (x.size * x.sum()))


def top_share(counts: np.ndarray, fraction: float = 0.1) -> float:
    """Share of the total held by the largest ``fraction`` of the items (rounded, at least one)."""
    x = np.sort(np.asarray(counts, dtype=np.float64))[::-1]
    k = max(1, int(round(fraction * x.size)))
    return float(x[:k].sum() / x.sum()) if x.sum() > 0 else float("nan")


def ranks(x: np.ndarray) -> np.ndarray:
    """1-based ranks, ties given their average rank."""
    x = np.asarray(x, dtype=np.float64)
    order = np.argsort(x, kind="mergesort")
    sorted_x = x[order]
    starts = np.flatnonzero(np.concatenate([[True], sorted_x[1:] != sorted_x[:-1]]))
    ends = np.concatenate([starts[1:], [x.size]])
    out = np.empty(x.size)
    out[order] = np.repeat((starts + ends + 1) / 2.0, ends - starts)
    return out


def pearson(x: np.ndarray, y: np.ndarray) -> float:
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    if x.std() == 0 or y.std() == 0:
        return float("nan")
    return float(np.corrcoef(x, y)[0, 1])


def spearman(x: np.ndarray, y: np.ndarray) -> float:
    """Pearson correlation of the ranks."""
    return pearson(ranks(x), ranks(y))


def per_user_auc(scores: np.ndarray, positives: np.ndarray, negatives: np.ndarray) -> tuple[float, int]:
    """Mean over users of the AUC of their positives against their negatives (users with both only).

    Args:
        scores: (num_users, num_items), higher is more likely liked.
        positives, negatives: bool masks of the same shape (disjoint).

    Returns:
        (mean AUC, number of users it averages).
    """
    aucs = []
    for s, p, n in zip(scores, positives, negatives, strict=True):
        if p.any() and n.any():
            keep = p | n
            aucs.append(roc_auc(p[keep], s[keep]))
    return (float(np.mean(aucs)) if aucs else float("nan")), len(aucs)


# ---------------------------------------------------------------------------------------------- baselines
def item_knn_scores(train_liked: np.ndarray, history: np.ndarray) -> np.ndarray:
    """Item-kNN: each item scored by its summed cosine similarity to the user's liked items.

    Similarities are cosines between items' columns of the training users' like matrix (the item
    itself excluded).

    Args:
        train_liked: bool (num_train_users, num_items), the likes the similarities come from.
        history: bool (num_users, num_items), the likes of the users to score.
    """
    x = train_liked.astype(np.float64)
    norms = np.sqrt(x.sum(axis=0))
    sim = (x.T @ x) / np.maximum(np.outer(norms, norms), 1e-12)
    np.fill_diagonal(sim, 0.0)
    return history.astype(np.float64) @ sim


@dataclass(frozen=True)
class BPRConfig:
    """BPR-MF settings: factors, L2 weight, Adam learning rate, epochs over the positives, batch size."""

    dim: int = 64
    l2: float = 1e-4
    lr: float = 0.01
    epochs: int = 40
    fold_in_epochs: int = 40
    batch_size: int = 4096
    seed: int = 0


@dataclass(frozen=True, eq=False)
class BPRModel:
    """Item factors (num_items, dim) and biases (num_items,)."""

    item_factors: np.ndarray
    item_bias: np.ndarray

    def scores(self, user_factors: np.ndarray) -> np.ndarray:
        return user_factors @ self.item_factors.T + self.item_bias


def bpr_fit(liked: np.ndarray, config: BPRConfig = BPRConfig()) -> tuple[BPRModel, np.ndarray]:
    """Train BPR-MF on ``liked`` (users x items); returns the model and the users' factors.

    Each epoch pairs every like ``(u, i)`` with an item ``j`` the user did not like, drawn uniformly
    (a seeded torch.Generator), and minimises ``-log sigmoid(x_ui - x_uj)`` plus L2 on the factors
    involved, with Adam in minibatches.
    """
    return _bpr(liked, config, None)


def bpr_fold_in(liked: np.ndarray, model: BPRModel, config: BPRConfig = BPRConfig()) -> np.ndarray:
    """Factors of new users from their likes, the items frozen (the same objective)."""
    return _bpr(liked, config, model)[1]


def _bpr(liked: np.ndarray, config: BPRConfig, frozen: BPRModel | None):
    import torch

    liked = np.asarray(liked, dtype=bool)
    n_users, n_items = liked.shape
    gen = torch.Generator().manual_seed(config.seed if frozen is None else config.seed + 1)
    users, items = np.nonzero(liked)
    P = (0.1 * torch.randn(n_users, config.dim, generator=gen)).requires_grad_(True)
    if frozen is None:
        Q = (0.1 * torch.randn(n_items, config.dim, generator=gen)).requires_grad_(True)
        b = torch.zeros(n_items, requires_grad=True)
        params, epochs = [P, Q, b], config.epochs
    else:
        Q, b = torch.from_numpy(frozen.item_factors.copy()), torch.from_numpy(frozen.item_bias.copy())
        params, epochs = [P], config.fold_in_epochs
    opt = torch.optim.Adam(params, lr=config.lr)
    liked_t = torch.from_numpy(liked)
    u_all, i_all = torch.from_numpy(users), torch.from_numpy(items)
    for _ in range(epochs if users.size else 0):
        order = torch.randperm(users.size, generator=gen)
        for start in range(0, users.size, config.batch_size):
            idx = order[start : start + config.batch_size]
            u, i = u_all[idx], i_all[idx]
            j = torch.randint(n_items, (idx.numel(),), generator=gen)
            for _ in range(10):  # redraw the negatives that the user liked
                bad = liked_t[u, j]
                if not bool(bad.any()):
                    break
                j[bad] = torch.randint(n_items, (int(bad.sum()),), generator=gen)
            x = (P[u] * (Q[i] - Q[j])).sum(-1) + b[i] - b[j]
            reg = P[u].pow(2).sum() + (Q[i].pow(2).sum() + Q[j].pow(2).sum() if frozen is None else 0.0)
            loss = -torch.nn.functional.logsigmoid(x).sum() + config.l2 * reg
            opt.zero_grad(set_to_none=True)
            (loss / idx.numel()).backward()
            opt.step()
    model = BPRModel(Q.detach().numpy().astype(np.float32), b.detach().numpy().astype(np.float32))
    return model, P.detach().numpy().astype(np.float32)
