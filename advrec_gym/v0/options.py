"""Validation of the environment's keyword arguments, shared by the single and the vector env."""

from __future__ import annotations

import functools
import os

import numpy as np
from gymnasium import spaces

from advrec_gym._validation import check_choice, check_float, check_int, check_type
from advrec_gym.catalogue import Catalogue
from advrec_gym.choice import LogitChoice
from advrec_gym.encoder import TransformerEncoder
from advrec_gym.users import UserModel
from advrec_gym.v0.engine import NUM_SCALARS, REWARDS, Engine, HistoryRates

# The synthetic catalogue built when no catalogue is given (Catalogue.synthetic's defaults).
DEFAULT_CATALOGUE = {"num_items": 1000, "num_topics": 20, "catalogue_seed": 0}

ENV_KWARGS = (
    "catalogue",
    "num_items",
    "num_topics",
    "catalogue_seed",
    "encoder",
    "cache_dir",
    "user_model",
    "choice_model",
    "slate_size",
    "reward",
    "skip_cost",
    "history_rates",
)


def build_engine(
    num_users: int,
    *,
    catalogue: Catalogue | None,
    num_items: int | None,
    num_topics: int | None,
    catalogue_seed: int | None,
    encoder: TransformerEncoder | str | os.PathLike | None,
    cache_dir: str | os.PathLike | None,
    user_model: UserModel | None,
    choice_model: LogitChoice | None,
    slate_size: int,
    reward: str,
    skip_cost: float,
    history_rates: HistoryRates | None,
    max_episode_steps: int | None,
) -> Engine:
    """Validate every option and build the engine (the catalogue is built, or loaded from cache, here)."""
    if not (encoder is None or isinstance(encoder, (str, os.PathLike, TransformerEncoder))):
        raise TypeError(
            "encoder must be None, a model path / hub id or an advrec_gym.TransformerEncoder, "
            f"got encoder={encoder!r} ({type(encoder).__name__})."
        )
    if not (cache_dir is None or isinstance(cache_dir, (str, os.PathLike))):
        raise TypeError(f"cache_dir must be None or a path, got cache_dir={cache_dir!r} ({type(cache_dir).__name__}).")
    synthetic_only = {"num_items": num_items, "num_topics": num_topics, "catalogue_seed": catalogue_seed}
    if catalogue is None:
        n, t, seed = (DEFAULT_CATALOGUE[k] if v is None else v for k, v in synthetic_only.items())
        catalogue = default_catalogue(
            check_int("num_items", n, low=1),
            check_int("num_topics", t, low=1),
            check_int("catalogue_seed", seed, low=0),
            encoder,
            None if cache_dir is None else os.fspath(cache_dir),
        )
    elif not isinstance(catalogue, Catalogue):
        raise TypeError(f"catalogue must be an advrec_gym.Catalogue or None, got {type(catalogue).__name__}.")
    else:
        for name, value in {**synthetic_only, "encoder": encoder, "cache_dir": cache_dir}.items():
            if value is not None:
                raise ValueError(
                    f"{name}={value!r} only shapes the synthetic catalogue, and has no effect when catalogue= is "
                    f"given ({catalogue!r}): drop {name}, or build the catalogue with it "
                    "(e.g. Catalogue.synthetic(num_items=..., num_topics=..., seed=..., encoder=..., cache_dir=...))."
                )
    user_model = check_type("user_model", user_model, UserModel)
    choice_model = check_type("choice_model", choice_model, LogitChoice)
    history_rates = check_type("history_rates", history_rates, HistoryRates)
    for field in ("clicked", "skipped", "shown", "click_rate"):
        check_float(f"history_rates.{field}", getattr(history_rates, field), low=0.0, high=1.0, low_open=True)
    slate_size = check_int("slate_size", slate_size, low=1)
    if slate_size > catalogue.num_items:
        raise ValueError(
            f"slate_size must be <= num_items, got slate_size={slate_size}, num_items={catalogue.num_items}."
        )
    if max_episode_steps is not None:
        max_episode_steps = check_int("max_episode_steps", max_episode_steps, low=1)
    return Engine(
        catalogue,
        num_users,
        user_model,
        choice_model,
        slate_size,
        check_choice("reward", reward, REWARDS),
        check_float("skip_cost", skip_cost, low=0.0),
        history_rates,
        max_episode_steps,
    )


def single_spaces(engine: Engine) -> tuple[spaces.Space, spaces.Box]:
    """(action space, observation space) of one slot."""
    n, k = engine.catalogue.num_items, engine.slate_size
    action = spaces.Discrete(n) if k == 1 else spaces.MultiDiscrete(np.full(k, n, dtype=np.int64))
    low = np.concatenate([np.full(engine.obs_dim - NUM_SCALARS, -1.0), np.zeros(NUM_SCALARS)]).astype(np.float32)
    high = np.ones(engine.obs_dim, dtype=np.float32)
    return action, spaces.Box(low, high, dtype=np.float32)


@functools.lru_cache(maxsize=8)
def _cached_default_catalogue(num_items, num_topics, seed, encoder_ref, cache_dir) -> Catalogue:
    return Catalogue.synthetic(num_items, num_topics, seed, encoder=encoder_ref, cache_dir=cache_dir)


def default_catalogue(num_items, num_topics, seed, encoder, cache_dir) -> Catalogue:
    """The synthetic catalogue, memoised in-process when the encoder is given by name."""
    if isinstance(encoder, TransformerEncoder):
        return Catalogue.synthetic(num_items, num_topics, seed, encoder=encoder, cache_dir=cache_dir)
    ref = None if encoder is None else os.fspath(encoder)
    return _cached_default_catalogue(num_items, num_topics, seed, ref, cache_dir)
