"""The board's statistics: medians with IQRs, percentile-bootstrap CIs, and a paired test between rows.

**The unit of replication is the training seed.** A row is a learning algorithm; what varies when
someone else runs it is the training seed, so every statistic is computed per training seed first
(its value is a mean over the same evaluation users for every row, see :mod:`.cells`) and then
summarised over seeds:

* **median and interquartile range** (25th / 75th percentiles, numpy's linear interpolation): what a
  typical seed gives and how much seeds disagree;
* **95% percentile-bootstrap CI of the median**: seeds are resampled with replacement
  (:data:`RESAMPLES` resamples from ``numpy.random.default_rng(seed)``, seed 0 unless given), the
  median of each resample taken, and the 2.5th / 97.5th percentiles of those medians reported.
  Only the seed level is resampled: each per-seed value already averages its evaluation episodes,
  so their noise is part of the between-seed spread the bootstrap sees; resampling episodes as well
  would count it twice (the "resample the top level only" rule for nested data). The evaluation
  users are a fixed, shared test population, so the CIs are conditional on them;
* **paired sign-flip permutation test** between two rows: the per-seed differences ``a_s - b_s``
  (the same training seed, scored on the same users) have a symmetric distribution around 0 when
  the rows do not differ, so flipping their signs at random gives the null distribution of their
  mean. Exact (all ``2**n`` sign patterns) for ``n <= EXACT_UP_TO`` seeds, else :data:`RESAMPLES`
  random patterns. Two-sided. With 10 seeds the smallest attainable p-value is ``2 / 1024``.

Adjacent ranks that this test does not separate at :data:`ALPHA` are shown as tied
(:func:`tied_ranks`); no multiple-comparison correction (each adjacent pair is one question).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass

import numpy as np

RESAMPLES = 10_000
CONFIDENCE = 0.95
ALPHA = 0.05
EXACT_UP_TO = 16


@dataclass(frozen=True)
class Stat:
    """Median, IQR and the bootstrap CI of the median over ``n`` training seeds (no CI when ``n < 2``)."""

    median: float
    q25: float
    q75: float
    n: int
    ci_low: float | None = None
    ci_high: float | None = None

    def to_dict(self) -> dict:
        return asdict(self)


def finite(values) -> np.ndarray:
    """The finite entries of ``values`` (``None`` and NaN dropped) as float64."""
    return np.asarray([x for x in values if x is not None and np.isfinite(x)], dtype=np.float64)


def summarize(values, seed: int = 0, resamples: int = RESAMPLES, confidence: float = CONFIDENCE) -> Stat | None:
    """Median, IQR and bootstrap CI of the finite ``values`` (``None`` when there are none)."""
    v = finite(values)
    if v.size == 0:
        return None
    q25, med, q75 = np.percentile(v, [25, 50, 75])
    ci = bootstrap_ci(v, np.random.default_rng(seed), resamples, confidence) if v.size > 1 else (None, None)
    return Stat(float(med), float(q25), float(q75), int(v.size), *ci)


def bootstrap_ci(
    values: Sequence[float] | np.ndarray,
    rng: np.random.Generator,
    resamples: int = RESAMPLES,
    confidence: float = CONFIDENCE,
    statistic: Callable = np.median,
) -> tuple[float, float]:
    """Percentile-bootstrap CI of ``statistic`` (``np.median`` or ``np.mean``, called with ``axis=1``).

    Args:
        values: one value per unit of replication (training seed).
        rng: the generator that draws the resamples.
        resamples: how many resamples (with replacement, of the same size as ``values``).
        confidence: the CI's nominal coverage, in (0, 1).
    """
    v = np.asarray(values, dtype=np.float64)
    if v.ndim != 1 or v.size < 2:
        raise ValueError(f"values must be 1-d with at least 2 entries, got shape {v.shape}.")
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}.")
    if resamples < 1:
        raise ValueError(f"resamples must be >= 1, got {resamples}.")
    stats = statistic(v[rng.integers(0, v.size, size=(resamples, v.size))], axis=1)
    tail = (1.0 - confidence) / 2.0
    low, high = np.quantile(stats, [tail, 1.0 - tail])
    return float(low), float(high)


def paired_permutation_test(
    a: Sequence[float] | np.ndarray, b: Sequence[float] | np.ndarray, seed: int = 0, resamples: int = RESAMPLES
) -> float:
    """Two-sided p-value of a paired sign-flip permutation test of ``mean(a - b) == 0``.

    ``a[s]`` and ``b[s]`` are the two rows' values for the same training seed ``s``. Exact for up to
    :data:`EXACT_UP_TO` pairs; beyond that ``resamples`` random sign patterns from
    ``default_rng(seed)``, with the observed pattern counted (``(1 + hits) / (1 + resamples)``).
    """
    d = np.asarray(a, dtype=np.float64) - np.asarray(b, dtype=np.float64)
    if d.ndim != 1 or d.size == 0 or not np.all(np.isfinite(d)):
        raise ValueError(f"a and b must be equal-length 1-d sequences of finite numbers, got {d.size} differences.")
    n = d.size
    observed = abs(d.mean())
    tol = 1e-12 * max(1.0, float(np.abs(d).max()))  # float noise must not break exact ties with the observed
    if n <= EXACT_UP_TO:
        patterns = (np.arange(2**n)[:, None] >> np.arange(n)) & 1
        means = np.abs(((1 - 2 * patterns) * d).mean(axis=1))
        return float(np.mean(means >= observed - tol))
    signs = np.random.default_rng(seed).choice([-1.0, 1.0], size=(resamples, n))
    hits = int(np.sum(np.abs((signs * d).mean(axis=1)) >= observed - tol))
    return (1 + hits) / (1 + resamples)


def tied_ranks(p_to_previous: Sequence[float | None], alpha: float = ALPHA) -> list[tuple[int, bool]]:
    """Ranks shown with ties, for rows already sorted best first.

    ``p_to_previous[i]`` is the p-value of row ``i`` against row ``i - 1`` (``None`` for the first
    row, or when the pair could not be tested). A row that is not separated from the one above it
    (``p >= alpha`` or untested) joins that row's group; every row of a group shows the group's first
    rank. Returns ``(shown rank, tied)`` per row, ``tied`` meaning the group has more than one row.

    Example: p-values ``[None, 0.01, 0.40, 0.002]`` give groups {1}, {2, 3}, {4}: ``[(1, False),
    (2, True), (2, True), (4, False)]``.
    """
    shown = []
    for i, p in enumerate(p_to_previous):
        separated = i == 0 or (p is not None and p < alpha)
        shown.append(i + 1 if separated else shown[-1])
    sizes = {r: shown.count(r) for r in shown}
    return [(r, sizes[r] > 1) for r in shown]
