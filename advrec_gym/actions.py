"""Checks of recommender actions: every bad action is an error, raised before the state changes."""

from __future__ import annotations

import numbers

import numpy as np


def check_single_action(action, num_items: int, slate_size: int, out: np.ndarray) -> None:
    """Validate one env's action and write it into ``out`` (shape (1, slate_size), int64)."""
    if slate_size == 1:
        if isinstance(action, (numbers.Integral, np.integer)) and not isinstance(action, (bool, np.bool_)):
            value = int(action)
        else:
            arr = np.asarray(action)
            if arr.size != 1 or not np.issubdtype(arr.dtype, np.integer):
                raise TypeError(
                    f"action must be an integer item index in [0, {num_items}), got {action!r} "
                    f"(type {type(action).__name__}, dtype {getattr(arr, 'dtype', None)})."
                )
            value = int(arr.reshape(()))
        if not 0 <= value < num_items:
            raise ValueError(f"action must be an item index in [0, {num_items}), got action={value}.")
        out[0, 0] = value
        return
    arr = np.asarray(action)
    if arr.shape != (slate_size,) or not np.issubdtype(arr.dtype, np.integer):
        raise TypeError(
            f"action must be an integer array of shape ({slate_size},) (a slate of item indices), "
            f"got shape {arr.shape} and dtype {arr.dtype}."
        )
    _check_range(arr, num_items)
    out[0] = arr


def check_batch_actions(actions, num_envs: int, num_items: int, slate_size: int) -> np.ndarray:
    """Validate a vector env's actions and return them as int64 (num_envs, slate_size)."""
    arr = np.asarray(actions)
    expected = (num_envs,) if slate_size == 1 else (num_envs, slate_size)
    if arr.shape != expected and not (slate_size == 1 and arr.shape == (num_envs, 1)):
        raise ValueError(f"actions must have shape {expected}, got shape {arr.shape}.")
    if not np.issubdtype(arr.dtype, np.integer):
        raise TypeError(f"actions must be integer item indices, got dtype {arr.dtype}.")
    _check_range(arr, num_items)
    return arr.astype(np.int64, copy=False).reshape(num_envs, slate_size)


def _check_range(arr: np.ndarray, num_items: int) -> None:
    if arr.size and (arr.min() < 0 or arr.max() >= num_items):
        bad = arr[(arr < 0) | (arr >= num_items)].ravel()[:5].tolist()
        raise ValueError(f"actions must be item indices in [0, {num_items}), got out-of-range value(s) {bad}.")
