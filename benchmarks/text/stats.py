"""Medians with IQR and percentile-bootstrap CIs over training seeds (a minimal local stand-in).

The board's statistics module (benchmarks/leaderboard/stats.py, on its way) defines
``summarize(values, seed=0, resamples=10_000, confidence=0.95)`` with these semantics: the training
seed is the unit of replication, each per-seed value already averages its evaluation episodes, the
seeds are resampled with replacement and the median of each resample taken. When it lands this file
becomes ``from benchmarks.leaderboard.stats import summarize``.
"""

from __future__ import annotations

import numpy as np

RESAMPLES = 10_000


def summarize(values, seed: int = 0, resamples: int = RESAMPLES, confidence: float = 0.95) -> dict | None:
    """Median, 25th/75th percentiles and the bootstrap CI of the median of the finite ``values``."""
    v = np.asarray([x for x in values if x is not None and np.isfinite(x)], dtype=np.float64)
    if v.size == 0:
        return None
    q25, med, q75 = np.percentile(v, [25, 50, 75])
    out = {
        "median": float(med),
        "q25": float(q25),
        "q75": float(q75),
        "n": int(v.size),
        "ci_low": None,
        "ci_high": None,
    }
    if v.size > 1:
        rng = np.random.default_rng(seed)
        meds = np.median(v[rng.integers(0, v.size, size=(resamples, v.size))], axis=1)
        alpha = (1 - confidence) / 2
        out["ci_low"], out["ci_high"] = (float(x) for x in np.percentile(meds, [100 * alpha, 100 * (1 - alpha)]))
    return out


def fmt(stat: dict | None, digits: int = 2) -> str:
    """``median [ci_low, ci_high]`` (just the median for one seed)."""
    if stat is None:
        return "-"
    if stat["ci_low"] is None:
        return f"{stat['median']:.{digits}f}"
    return f"{stat['median']:.{digits}f} [{stat['ci_low']:.{digits}f}, {stat['ci_high']:.{digits}f}]"
