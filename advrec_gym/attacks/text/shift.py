"""Linking the two threat models: what a realisable text edit is in the eps-ball's units.

An edit moves item ``i``'s embedding by ``d_i = e_i' - e_i`` (reported in L-inf and L2). The
observation's history blocks are exponential averages of item embeddings (AdvRec-v1: liked,
regretted, skipped at rate 0.3, shown at rate 0.5), so when the edited item enters a block once, the
block moves by ``rate * d_i``, and by at most ``d_i`` however often it entered (the weights of one
item in an average sum to at most 1). :func:`observation_shift` measures the actual movement: it
replays logged (item, click, satisfaction) events of v1 rollouts through the engine's own
observation update (:func:`advrec_gym.engine.replay_observations`) twice, with the clean and with
the edited embeddings, so the users' behaviour is held fixed and only what the recommender sees
differs; the difference on the embedding slice is the observation perturbation the edit causes, in
exactly the units of the eps-ball attacks (:class:`~advrec_gym.attacks.Budget`).
"""

from __future__ import annotations

import numpy as np

from advrec_gym.engine import replay_observations


def embedding_shift(clean: np.ndarray, edited: np.ndarray, rows) -> dict[str, np.ndarray]:
    """Per edited row: the L-inf and L2 norms of its embedding's shift."""
    rows = np.asarray(rows, dtype=np.int64)
    d = edited[rows].astype(np.float64) - clean[rows].astype(np.float64)
    return {"linf": np.abs(d).max(axis=1), "l2": np.linalg.norm(d, axis=1)}


def block_norms(observations: np.ndarray, dim: int, num_blocks: int = 4) -> np.ndarray:
    """Mean L2 norm of each history block over the observations where the block is non-zero, (num_blocks,)."""
    blocks = observations[:, : num_blocks * dim].reshape(len(observations), num_blocks, dim)
    norms = np.linalg.norm(blocks, axis=2)
    out = np.full(num_blocks, np.nan)
    for b in range(num_blocks):
        live = norms[:, b] > 0
        if live.any():
            out[b] = norms[live, b].mean()
    return out


def observation_shift(
    clean: np.ndarray,
    edited: np.ndarray,
    items: np.ndarray,
    clicks: np.ndarray,
    satisfaction: np.ndarray,
    starts: np.ndarray,
    dim: int,
    num_blocks: int = 4,
) -> dict[str, np.ndarray]:
    """Per logged event: the L-inf and L2 norms of the observation's change on the embedding slice.

    Args:
        clean, edited: the recommender's catalogue embeddings before and after the edits.
        items, clicks, satisfaction, starts: logged events (see :func:`~advrec_gym.engine.replay_observations`).
        dim: embedding size.
        num_blocks: history blocks in the observation (4 in AdvRec-v1).
    """
    a = replay_observations(clean, items, clicks, satisfaction, starts)
    b = replay_observations(edited, items, clicks, satisfaction, starts)
    d = (b - a)[:, : num_blocks * dim].astype(np.float64)
    return {"linf": np.abs(d).max(axis=1), "l2": np.linalg.norm(d, axis=1), "clean_obs": a}


def share_within(values: np.ndarray, eps_grid) -> dict[str, float]:
    """Share of ``values`` at most each eps of the grid (how often an eps-ball of that radius contains the edit)."""
    values = np.asarray(values)
    return {f"{eps:g}": float((values <= eps + 1e-9).mean()) if values.size else float("nan") for eps in eps_grid}
