"""The attacker's budget: a ball ``||d||_p <= eps`` that every perturbation is projected into.

``eps`` is in the raw units of the observation's embedding slice. Its natural scale (see the
Observation Space table of :class:`~advrec_gym.AdvRecEnv`): each embedding block is an average of unit
vectors, so its L2 norm is at most 1, and its coordinates spread about ``1 / sqrt(dim)`` (0.05 for
384-d). For 384-d embeddings the interesting range is L-inf 0.005-0.02 and L2 0.1-0.5 (a prototype's
calibration); :meth:`Budget.scaled` converts from units of that natural scale.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from advrec_gym._validation import check_choice, check_float

NORMS = ("inf", "2")


@dataclass(frozen=True)
class Budget:
    """An L-inf or L2 ball of radius ``eps`` (per observation row, over the attacked coordinates).

    Args:
        eps: radius, >= 0 (0 makes every attack the identity).
        norm: ``"inf"`` or ``"2"`` (``float('inf')``, ``2`` and ``"linf"``/``"l2"`` are accepted too).
    """

    eps: float
    norm: str = "inf"

    def __post_init__(self):
        if isinstance(self.eps, (int, float, np.floating, np.integer)) and math.isnan(float(self.eps)):
            raise ValueError(f"eps must be a finite number >= 0, got eps={self.eps}.")
        object.__setattr__(self, "eps", check_float("eps", self.eps, low=0.0))
        object.__setattr__(self, "norm", check_choice("norm", _norm_name(self.norm), NORMS))

    @classmethod
    def scaled(cls, eps: float, norm: str, dim: int) -> Budget:
        """A budget in units of the natural scale: L-inf in units of ``1/sqrt(dim)``, L2 as is."""
        budget = cls(eps, norm)
        return cls(budget.eps / math.sqrt(dim), budget.norm) if budget.norm == "inf" else budget

    def project(self, delta):
        """Project a batch of perturbations (numpy or torch, shape (batch, d)) into the ball."""
        if self.norm == "inf":
            return _clip(delta, self.eps)
        norms = _row_norm(delta)
        scale = self.eps / _maximum(norms, 1e-12)
        return delta * _minimum(scale, 1.0)

    def norm_of(self, delta):
        """Per-row norm of ``delta`` in this budget's norm."""
        if self.norm == "inf":
            return abs(delta).max(-1)[0] if _is_torch(delta) else np.abs(delta).max(axis=-1)
        return _row_norm(delta)[..., 0]

    def sample(self, rng: np.random.Generator, shape: tuple[int, int]) -> np.ndarray:
        """Draw float32 perturbations of ``shape`` (batch, d) uniformly from the ball.

        L-inf: each coordinate uniform in [-eps, eps]. L2: a Gaussian direction on the sphere with
        radius ``eps * U^(1/d)`` (in high dimension almost every draw lies near the sphere).
        """
        n, d = shape
        if self.norm == "inf":
            delta = rng.random((n, d), dtype=np.float32)
            delta *= np.float32(2.0 * self.eps)
            delta -= np.float32(self.eps)
        else:
            delta = rng.standard_normal((n, d), dtype=np.float32)
            radius = self.eps * rng.random((n, 1)) ** (1.0 / max(d, 1))
            delta *= (radius / np.maximum(np.linalg.norm(delta, axis=1, keepdims=True), 1e-12)).astype(np.float32)
        return self.project(delta)

    def from_unit(self, direction):
        """Map a direction in [-1, 1]^d (e.g. a learned adversary's action) into the ball.

        L-inf: ``eps * direction`` (the box maps onto the box). L2: ``eps * direction / sqrt(d)``,
        then projected, so the corner of the box lands on the sphere.
        """
        d = direction.shape[-1]
        if self.norm == "inf":
            return self.project(direction * self.eps)
        return self.project(direction * (self.eps / math.sqrt(d)))


def _norm_name(norm) -> str:
    if isinstance(norm, (int, float)) and not isinstance(norm, bool):
        return "inf" if math.isinf(norm) else str(int(norm)) if float(norm).is_integer() else str(norm)
    if isinstance(norm, str):
        return {"linf": "inf", "l_inf": "inf", "l2": "2", "infinity": "inf"}.get(norm.lower(), norm.lower())
    return norm


def _is_torch(x) -> bool:
    return type(x).__module__.startswith("torch")


def _clip(x, eps):
    return x.clamp(-eps, eps) if _is_torch(x) else np.clip(x, -eps, eps)


def _row_norm(x):
    if _is_torch(x):
        return x.norm(dim=-1, keepdim=True)
    return np.linalg.norm(x, axis=-1, keepdims=True)


def _maximum(x, v):
    return x.clamp(min=v) if _is_torch(x) else np.maximum(x, v)


def _minimum(x, v):
    return x.clamp(max=v) if _is_torch(x) else np.minimum(x, v)
