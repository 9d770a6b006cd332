"""The feasible set of a batch's perturbations, in torch: the budget's ball, the observation bounds, the slice.

Perturbations are full-width (so ``o + d`` is one addition) and stay 0 outside the embedding slice.
Inside it, a row is feasible when ``||d||_p <= eps`` and ``o + d`` stays within the observation
bounds (``clip_range``) wherever the clean value does. Every gradient and query attack moves its
iterates through this one class, so they obey the budget the same way.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from advrec_gym.attacks.budget import Budget


class Feasible:
    """The feasible perturbations of the clean batch ``x`` (n, obs_dim) on the slice ``sl``.

    Args:
        budget: the ball.
        clip_range: the observation bounds ``(low, high)`` of the attacked coordinates, or None.
        x: the clean observations (a torch tensor on the victim's device).
        sl: the attacked slice.
    """

    def __init__(self, budget: Budget, clip_range: tuple[float, float] | None, x: torch.Tensor, sl: slice):
        self.budget, self.clip_range, self.x, self.sl = budget, clip_range, x, sl
        self.eps = budget.eps
        self.box = self._box()

    def _box(self) -> tuple[torch.Tensor, torch.Tensor] | None:
        """Per-coordinate bounds ``[lo, hi]`` (each holds 0) where the observation bounds can bind within
        the budget: 0 outside the slice, clip_range minus the clean value inside, intersected with the
        L-inf ball; ``None`` (the usual case, embedding coordinates are far from +-1) when no coordinate
        is within ``eps`` of the bounds."""
        if self.clip_range is None:
            return None
        low, high = self.clip_range
        x, sl, eps = self.x, self.sl, self.eps
        clean = x[:, sl]
        if clean.amin() >= low + eps and clean.amax() <= high - eps:
            return None
        lo, hi = torch.zeros_like(x), torch.zeros_like(x)
        ball = eps if self.budget.norm == "inf" else math.inf
        torch.clamp(low - clean, -ball, 0.0, out=lo[:, sl])
        torch.clamp(high - clean, 0.0, ball, out=hi[:, sl])
        return lo, hi

    def zeros(self) -> torch.Tensor:
        return torch.zeros_like(self.x)

    def project_(self, delta: torch.Tensor) -> torch.Tensor:
        """In place: into the box (which holds 0) or the L-inf ball, then (L2) scaled into the ball.

        Outside the slice a perturbation must already be 0 (the directions are).
        """
        eps = self.eps
        if self.box is not None:
            delta.clamp_(*self.box)
        elif self.budget.norm == "inf":
            delta.clamp_(-eps, eps)
        if self.budget.norm == "2":
            delta.mul_(eps / delta.norm(dim=1, keepdim=True).clamp_(min=eps))
        return delta

    def direction_(self, grad: torch.Tensor) -> torch.Tensor:
        """The steepest-ascent direction, in place, zero outside the slice: sign (L-inf) or unit L2 norm."""
        sl = self.sl
        if sl.start > 0:
            grad[:, : sl.start] = 0.0
        if sl.stop < grad.shape[1]:
            grad[:, sl.stop :] = 0.0
        if self.budget.norm == "inf":
            return grad.sign_()
        return grad.div_(grad.norm(dim=1, keepdim=True).clamp_(min=1e-12))

    def sample(self, rng: np.random.Generator) -> torch.Tensor:
        """A feasible random start: uniform in the ball (``Budget.sample``), then into the bounds."""
        delta = self.zeros()
        start = self.budget.sample(rng, (len(self.x), self.sl.stop - self.sl.start))
        delta[:, self.sl] = torch.as_tensor(start, device=self.x.device)
        return self.project_(delta)

    def finish(self, delta: torch.Tensor) -> np.ndarray:
        """The perturbed slice as float32 numpy (n, slice size).

        Clipping into bounds that hold the clean value only moves a coordinate toward it: this removes
        float rounding past clip_range and never grows the perturbation.
        """
        clean = self.x[:, self.sl]
        perturbed = clean + delta[:, self.sl]
        if self.clip_range is None:
            return perturbed.cpu().numpy()
        low, high = self.clip_range
        if self.box is not None:
            low, high = clean.clamp(max=low), clean.clamp(min=high)
        return torch.clamp(perturbed, low, high).cpu().numpy()
