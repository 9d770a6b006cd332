"""Medians with IQR and percentile-bootstrap CIs over training seeds: the board's statistics, as dicts.

The training seed is the unit of replication (see :mod:`benchmarks.leaderboard.stats`); this module
only turns its :class:`~benchmarks.leaderboard.stats.Stat` into the dict the text track's JSON holds
and formats it for the tables.
"""

from __future__ import annotations

from benchmarks.leaderboard.stats import RESAMPLES
from benchmarks.leaderboard.stats import summarize as _summarize


def summarize(values, seed: int = 0, resamples: int = RESAMPLES, confidence: float = 0.95) -> dict | None:
    """Median, 25th/75th percentiles and the bootstrap CI of the median of the finite ``values``."""
    stat = _summarize(values, seed=seed, resamples=resamples, confidence=confidence)
    return None if stat is None else stat.to_dict()


def fmt(stat: dict | None, digits: int = 2) -> str:
    """``median [ci_low, ci_high]`` (just the median for one seed)."""
    if stat is None:
        return "-"
    if stat["ci_low"] is None:
        return f"{stat['median']:.{digits}f}"
    return f"{stat['median']:.{digits}f} [{stat['ci_low']:.{digits}f}, {stat['ci_high']:.{digits}f}]"
