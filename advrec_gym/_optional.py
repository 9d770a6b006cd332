"""Optional dependencies: which extra of ``advrec-gym`` installs what, and the error when it is missing.

The env library needs only its core dependencies (``pip install advrec-gym``). Training agents needs
``[train]`` (stable-baselines3, TensorBoard), the leaderboard's plot ``[plots]`` (matplotlib);
``[all]`` is both. A missing one is an ``ImportError`` that names the one command that installs it.
"""

from __future__ import annotations

import importlib
import typing
from types import ModuleType

PACKAGE = "advrec-gym"
#: top-level module -> (extra, PyPI name)
EXTRAS = {
    "stable_baselines3": ("train", "stable-baselines3"),
    "tensorboard": ("train", "tensorboard"),
    "matplotlib": ("plots", "matplotlib"),
}


class MissingExtraError(ModuleNotFoundError):
    """An optional dependency is not installed; the message says which extra installs it."""


def install_hint(module: str) -> str | None:
    """The install command for a missing top-level ``module`` of an extra, or ``None`` if it is not one."""
    top = module.split(".")[0]
    if top not in EXTRAS:
        return None
    extra, dist = EXTRAS[top]
    return f"pip install '{PACKAGE}[{extra}]' (or just {dist})"


def missing_extra_message(module: str, purpose: str) -> str | None:
    """The message for a missing ``module``, or ``None`` when no extra provides it."""
    hint = install_hint(module)
    if hint is None:
        return None
    return f"{purpose} needs {EXTRAS[module.split('.')[0]][1]}, which is not installed: {hint}."


def raise_missing_extra(exc: ModuleNotFoundError, purpose: str) -> typing.NoReturn:
    """Re-raise ``exc`` as a :class:`MissingExtraError` naming the extra (or as it is, if no extra provides it).

    Example:
        >>> try:                                                    # doctest: +SKIP
        ...     from stable_baselines3 import PPO
        ... except ModuleNotFoundError as exc:
        ...     raise_missing_extra(exc, "advrec_gym.sb3_adapter")
    """
    message = missing_extra_message(exc.name or "", purpose)
    if message is None:
        raise exc
    raise MissingExtraError(message, name=exc.name) from exc


def import_optional(module: str, purpose: str) -> ModuleType:
    """Import ``module`` from an extra, or raise :class:`MissingExtraError` naming the install command.

    Args:
        module: e.g. ``"matplotlib.pyplot"``.
        purpose: what needs it, for the message (e.g. ``"The leaderboard's plot"``).
    """
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as exc:
        raise_missing_extra(exc, purpose)
