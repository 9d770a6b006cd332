"""AdvRec-v1's keyword arguments: validated once, shared by the single and the vector env."""

from __future__ import annotations

import functools
import os
from typing import Any

import numpy as np
from gymnasium import spaces

from advrec_gym import kernel as K
from advrec_gym._validation import check_int, check_type
from advrec_gym.catalogue import Catalogue
from advrec_gym.choice import LogitChoice
from advrec_gym.dynamics import Dynamics
from advrec_gym.encoder import TransformerEncoder
from advrec_gym.engine import Engine
from advrec_gym.quality import ItemKinds
from advrec_gym.users import UserModel, UserPopulation

#: the synthetic catalogue built when no catalogue is given
DEFAULT_CATALOGUE = {"num_items": 1000, "num_topics": 20, "catalogue_seed": 0}
DEFAULT_HORIZON = 100
#: the options that only shape the synthetic catalogue (an error next to ``catalogue=``)
SYNTHETIC_ONLY = ("num_items", "num_topics", "catalogue_seed", "kinds", "encoder", "cache_dir")
ENV_KWARGS = ("catalogue", *SYNTHETIC_ONLY, "user_model", "choice_model", "dynamics", "slate_size", "horizon")


def build_engine(num_users: int, autoreset: bool, **options: Any) -> Engine:
    """Validate every option (the names in :data:`ENV_KWARGS`) and build the engine.

    The catalogue is built here (or taken from the in-process memo / the embedding cache).
    """
    catalogue = options.get("catalogue")
    synthetic = {name: options.get(name) for name in SYNTHETIC_ONLY}
    encoder, cache_dir = synthetic["encoder"], synthetic["cache_dir"]
    if not (encoder is None or isinstance(encoder, (str, os.PathLike, TransformerEncoder))):
        raise TypeError(
            "encoder must be None, a model path / hub id or an advrec_gym.TransformerEncoder, "
            f"got encoder={encoder!r} ({type(encoder).__name__})."
        )
    if not (cache_dir is None or isinstance(cache_dir, (str, os.PathLike))):
        raise TypeError(f"cache_dir must be None or a path, got cache_dir={cache_dir!r} ({type(cache_dir).__name__}).")
    if catalogue is None:
        n, t, seed = (DEFAULT_CATALOGUE[k] if synthetic[k] is None else synthetic[k] for k in DEFAULT_CATALOGUE)
        catalogue = default_catalogue(
            check_int("num_items", n, low=1),
            check_int("num_topics", t, low=1),
            check_int("catalogue_seed", seed, low=0),
            check_type("kinds", synthetic["kinds"], ItemKinds),
            encoder,
            None if cache_dir is None else os.fspath(cache_dir),
        )
    elif not isinstance(catalogue, Catalogue):
        raise TypeError(f"catalogue must be an advrec_gym.Catalogue or None, got {type(catalogue).__name__}.")
    else:
        for name, value in synthetic.items():
            if value is not None:
                raise ValueError(
                    f"{name}={value!r} only shapes the synthetic catalogue, and has no effect when catalogue= is "
                    f"given ({catalogue!r}): drop {name}, or build the catalogue with it "
                    "(Catalogue.synthetic(num_items=..., num_topics=..., seed=..., kinds=..., encoder=..., cache_dir=...))."
                )
    user_model = options.get("user_model")
    if user_model is None:
        user_model = UserModel()
    elif not isinstance(user_model, (UserModel, UserPopulation)):
        raise TypeError(
            "user_model must be an advrec_gym.UserModel, an advrec_gym.UserPopulation or None, "
            f"got {type(user_model).__name__}."
        )
    choice_model = check_type("choice_model", options.get("choice_model"), LogitChoice)
    dynamics = check_type("dynamics", options.get("dynamics"), Dynamics)
    slate_size = check_int("slate_size", options.get("slate_size", 1), low=1)
    if slate_size > catalogue.num_items:
        raise ValueError(
            f"slate_size must be <= num_items, got slate_size={slate_size}, num_items={catalogue.num_items}."
        )
    horizon = options.get("horizon", DEFAULT_HORIZON)
    if horizon is not None:
        horizon = check_int("horizon", horizon, low=1)
    return Engine(catalogue, num_users, user_model, choice_model, dynamics, slate_size, horizon, autoreset)


def single_spaces(engine: Engine) -> tuple[spaces.Space, spaces.Box]:
    """(action space, observation space) of one slot."""
    n, k = engine.catalogue.num_items, engine.slate_size
    action = spaces.Discrete(n) if k == 1 else spaces.MultiDiscrete(np.full(k, n, dtype=np.int64))
    blocks = np.full(K.NUM_BLOCKS * engine.dim, -1.0)
    # last_click, click_rate_ema, episode_ctr in [0, 1]; the two satisfaction scalars in [-1, 1]; time in [0, 1]
    scalar_low = np.array([0.0, 0.0, 0.0, -1.0, -1.0, 0.0])
    low = np.concatenate([blocks, scalar_low]).astype(np.float32)
    return action, spaces.Box(low, np.ones(engine.obs_dim, dtype=np.float32), dtype=np.float32)


@functools.lru_cache(maxsize=8)
def _memo_catalogue(num_items, num_topics, seed, kinds, encoder_ref, cache_dir) -> Catalogue:
    return Catalogue.synthetic(num_items, num_topics, seed, kinds=kinds, encoder=encoder_ref, cache_dir=cache_dir)


def default_catalogue(num_items, num_topics, seed, kinds, encoder, cache_dir) -> Catalogue:
    """The synthetic catalogue with item kinds, memoised in-process when the encoder is given by name."""
    if isinstance(encoder, TransformerEncoder):
        return Catalogue.synthetic(num_items, num_topics, seed, kinds=kinds, encoder=encoder, cache_dir=cache_dir)
    ref = None if encoder is None else os.fspath(encoder)
    return _memo_catalogue(num_items, num_topics, seed, kinds, ref, cache_dir)
