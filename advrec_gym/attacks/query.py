"""A query-only attack for every entry: it needs only the victim's action scores, never its gradients.

The victim is queried through :class:`~advrec_gym.attacks.victim.ScoredPolicy` (``action_scores(obs)``:
LinUCB, the click model, the baselines) or, for SB3 models, its action log-probabilities. The attack
estimates the objective's gradient from antithetic finite differences (NES / SPSA, Ilyas et al.
2018, Uesato et al. 2018): per iteration ``samples`` random directions ``u`` (by default random
combinations of the item embeddings per history block, a prior as in Ilyas et al. 2019's "bandits
with priors": a recommender's item scores vary along the item embeddings; else Rademacher signs for
L-inf, Gaussian for L2), the victim queried at ``d +- sigma u`` (projected into the feasible set, so
every query is itself a feasible perturbation and a candidate), then one signed (L-inf) or normalised
(L2) step on the estimate. The step is halved, and the row sent back to its best point, after
``patience`` iterations without a new best. The best of all queried points is kept per row.

The **query budget** is per observation row and counts every row the victim scores: one clean query,
then ``2 * samples + 1`` per iteration, as many iterations as fit. A victim whose scores do not depend
on the observation (random, popularity) is never moved: no query beats the clean point.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from advrec_gym._validation import check_choice, check_float, check_int
from advrec_gym.attacks.base import Attacker
from advrec_gym.attacks.budget import Budget
from advrec_gym.attacks.feasible import Feasible
from advrec_gym.attacks.objectives import NEEDS_EMBEDDINGS, Objective, Victim
from advrec_gym.attacks.victim import item_embeddings_of, resolve_scores

#: the objectives a query attack can score from action scores alone
QUERY_OBJECTIVES = ("topk", "action", "semantic", "kl")
#: where its random directions come from: the catalogue's embeddings (a prior), or i.i.d. coordinates
DIRECTIONS = ("catalogue", "iid")


class QueryAttack(Attacker):
    """Score-based black-box attack (NES / SPSA gradient estimates, step halving, best point per row).

    Args:
        victim: anything with ``action_scores(obs)`` (see :class:`~advrec_gym.attacks.victim.ScoredPolicy`),
            or an SB3 model / torch policy (its log-probabilities are the scores).
        budget: the ball (or give ``eps`` and ``norm``).
        objective: ``"semantic"`` (default; needs the item embeddings), ``"topk"``, ``"action"`` or ``"kl"``,
            as in :mod:`advrec_gym.attacks.objectives` (computed from ``log_softmax(scores)``).
        queries: the query budget per observation row (>= 2 * samples + 2).
        samples: random directions per iteration (each costs two queries).
        sigma: finite-difference radius, in the budget's norm (default ``eps / 2``).
        patience: iterations without a new best before the step halves.
        directions: ``"catalogue"`` (default): random combinations of the item embeddings per embedding
            block, the directions the victim's item scores vary in (falls back to ``"iid"`` without item
            embeddings); ``"iid"``: Rademacher signs (L-inf) or Gaussian directions (L2).
        k: size of the clean top-k set (``"topk"``).
        item_embeddings: for ``"semantic"`` (default: the bound env's catalogue, or the victim's own).
        embedding_slice, clip_range, seed: as in :class:`~advrec_gym.attacks.Attacker`.

    Attributes:
        queries_used: rows scored by the victim since construction (every call adds ``n * queries per row``).
        last_queries_per_row: queries per row of the last call.
    """

    name = "query"
    white_box = False

    def __init__(
        self,
        victim: Any,
        budget: Budget | None = None,
        *,
        eps: float | None = None,
        norm: str = "inf",
        objective: str = "semantic",
        queries: int = 1000,
        samples: int = 16,
        sigma: float | None = None,
        patience: int = 2,
        directions: str = "catalogue",
        k: int = 10,
        item_embeddings: Any = None,
        embedding_slice: slice | None = None,
        clip_range: tuple[float, float] | None = (-1.0, 1.0),
        seed: int | None = None,
    ):
        self.query_fn = resolve_scores(victim, type(self).__name__)
        self.victim = victim
        check_choice("objective", objective, QUERY_OBJECTIVES)
        self.objective = Objective(objective, k=k)
        super().__init__(budget, eps=eps, norm=norm, embedding_slice=embedding_slice, clip_range=clip_range, seed=seed)
        self.samples = check_int("samples", samples, low=1)
        self.queries = check_int("queries", queries, low=2 * self.samples + 2)
        self.sigma = check_float("sigma", self.budget.eps / 2 if sigma is None else sigma, low=0.0)
        self.patience = check_int("patience", patience, low=1)
        self.direction_prior = check_choice("directions", directions, DIRECTIONS)
        if item_embeddings is not None:
            self.item_embeddings, self._embeddings_given = np.asarray(item_embeddings, dtype=np.float32), True
        else:
            self.item_embeddings = item_embeddings_of(victim)
        self.queries_used = 0
        self.last_queries_per_row = 0

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(eps={self.budget.eps}, norm={self.budget.norm!r}, "
            f"objective={self.objective.name!r}, queries={self.queries}, samples={self.samples})"
        )

    @property
    def iterations(self) -> int:
        """Gradient-estimate iterations that fit the query budget: ``(queries - 1) // (2 * samples + 1)``."""
        return (self.queries - 1) // (2 * self.samples + 1)

    def _obs_dim(self) -> int | None:
        space = getattr(getattr(self.victim, "policy", self.victim), "observation_space", None)
        shape = getattr(space, "shape", None)
        return int(shape[0]) if shape is not None and len(shape) == 1 else None

    # ------------------------------------------------------------------ directions
    def _catalogue_basis(self, width: int) -> torch.Tensor | None:
        """``B`` (rank, dim) with ``B^T B = E^T E / num_items`` (``E`` the item embeddings), when
        ``directions="catalogue"`` and the slice is whole embedding blocks: ``z @ B`` with ``z ~ N(0, I)``
        is distributed as ``z' @ E / sqrt(num_items)``, at the cost of a rank-sized product."""
        emb = self.item_embeddings
        if self.direction_prior != "catalogue" or emb is None or width % emb.shape[1]:
            return None
        cached = getattr(self, "_basis", None)
        if cached is None or cached[0] is not emb:  # one SVD per catalogue, not per call
            _, singular, vt = np.linalg.svd(np.asarray(emb, dtype=np.float64), full_matrices=False)
            self._basis = (emb, torch.tensor(singular[:, None] * vt / np.sqrt(emb.shape[0]), dtype=torch.float32))
        return self._basis[1]

    def _directions(self, gen: np.random.Generator, n: int, S: int, width: int, basis) -> torch.Tensor:
        """``S`` random directions per row (n, S, width): L-inf ones with coordinates of size about 1, L2 ones of norm 1.

        ``basis`` (the catalogue prior): each embedding block's direction is a random combination of the
        item embeddings, ``z @ E`` with ``z ~ N(0, I)``: the directions the victim's item scores vary in
        (a recommender scores items by products with their embeddings), far fewer than the block's
        coordinates. Otherwise Rademacher signs (L-inf) or Gaussian directions (L2).
        """
        if basis is not None:
            blocks = width // basis.shape[1]
            z = torch.as_tensor(gen.standard_normal((n, S, blocks, basis.shape[0]), dtype=np.float32))
            u = (z @ basis).reshape(n, S, width)
        elif self.budget.norm == "inf":
            return torch.as_tensor(gen.integers(0, 2, (n, S, width), dtype=np.int8) * 2 - 1, dtype=torch.float32)
        else:
            u = torch.as_tensor(gen.standard_normal((n, S, width), dtype=np.float32))
        if self.budget.norm == "inf":  # unit RMS coordinate, as a sign vector has
            return u / u.pow(2).mean(dim=2, keepdim=True).sqrt().clamp(min=1e-12)
        return u / u.norm(dim=2, keepdim=True).clamp(min=1e-12)

    # ------------------------------------------------------------------ queries
    def _scores(self, x: torch.Tensor, deltas: torch.Tensor, state: dict | None, scorer: Victim):
        """Scores (rows,) of ``x + deltas`` (rows of ``x`` repeated to match), one query per row; with
        ``state=None`` (the clean pass) return the objective's state instead."""
        reps = len(deltas) // len(x)
        obs = (x.repeat(reps, 1) if reps > 1 else x) + deltas
        logp = torch.log_softmax(torch.as_tensor(self.query_fn(obs.numpy()), dtype=torch.float32), dim=-1)
        self._count += len(obs)
        if state is None:
            return self.objective.clean(logp, scorer, self.rng)
        if reps > 1:  # the clean state of row i serves rows i, n + i, 2n + i, ...
            state = {key: value.repeat(reps, *([1] * (value.ndim - 1))) for key, value in state.items()}
        return self.objective.score(logp, state, scorer)

    def _perturb_slice(self, obs: np.ndarray, sl: slice) -> np.ndarray:
        x = torch.as_tensor(obs, dtype=torch.float32)
        n, S = len(x), self.samples
        emb = self.item_embeddings if self.objective.name in NEEDS_EMBEDDINGS else None
        scorer = Victim(None, emb)
        ball = Feasible(self.budget, self.clip_range, x, sl)
        self._count = 0
        state = self._scores(x, ball.zeros(), None, scorer)
        best_score = self.objective.score(state["logp"], state, scorer)  # the clean point, from the clean query
        best_delta, delta = ball.zeros(), ball.zeros()
        eta = torch.full((n, 1), self.budget.eps, dtype=x.dtype)
        stall = torch.zeros(n, dtype=torch.int64)
        width = sl.stop - sl.start
        gen = self.rng
        basis = self._catalogue_basis(width)
        for _ in range(self.iterations):
            u = self._directions(gen, n, S, width, basis)
            full = torch.zeros(n, S, x.shape[1], dtype=x.dtype)
            full[:, :, sl] = u
            plus = (delta[:, None, :] + self.sigma * full).transpose(0, 1).reshape(S * n, -1)
            minus = (delta[:, None, :] - self.sigma * full).transpose(0, 1).reshape(S * n, -1)
            candidates = torch.cat([ball_project(ball, plus, S), ball_project(ball, minus, S)])
            scores = self._scores(x, candidates, state, scorer).reshape(2, S, n)
            # antithetic estimate of the gradient, from the actual (projected) query points
            diff = (scores[0] - scores[1]).T.to(x.dtype)  # (n, S)
            grad = torch.einsum("ns,nsd->nd", diff, full)
            step = ball.project_(delta + eta * ball.direction_(grad))
            step_score = self._scores(x, step, state, scorer)
            # the best of every queried point
            all_scores = torch.cat([scores.reshape(2 * S, n), step_score[None]], dim=0)  # (2S + 1, n)
            all_points = torch.cat([candidates.reshape(2 * S, n, -1), step[None]], dim=0)
            top, where = all_scores.max(dim=0)
            better = top > best_score
            stall = torch.where(better, torch.zeros_like(stall), stall + 1)
            if better.any():
                rows = torch.nonzero(better)[:, 0]
                best_score = torch.where(better, top, best_score)
                best_delta[rows] = all_points[where[rows], rows]
            delta = step
            tired = stall >= self.patience
            if tired.any():
                eta[tired] *= 0.5
                delta[tired] = best_delta[tired]
                stall[tired] = 0
        self.last_queries_per_row = self._count // n
        self.queries_used += self._count
        return ball.finish(best_delta)


def ball_project(ball: Feasible, deltas: torch.Tensor, reps: int) -> torch.Tensor:
    """Project ``reps`` stacked copies (reps * n, obs_dim) of a batch's perturbations into its feasible set."""
    n = len(ball.x)
    out = deltas.reshape(reps, n, -1)
    for r in range(reps):
        ball.project_(out[r])
    return out.reshape(reps * n, -1)
