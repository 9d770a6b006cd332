"""AdvRec-MovieLens-v1: AdvRec-v1 over a MovieLens catalogue, its users calibrated to the real ratings.

``gym.make("AdvRec-MovieLens-v1", path="ml-100k")`` reads the folder (:mod:`advrec_gym.movielens`),
encodes one item per film (:meth:`~advrec_gym.Catalogue.from_movielens`), splits the users by user
(``test_fraction``, ``split_seed``), fits the training users' interests and the items' appeal to the
ratings and maps the ratings to item quality (:mod:`advrec_gym.calibration`, cached on disk), and
returns AdvRec-v1 whose :class:`~advrec_gym.UserPopulation` is the fitted users of ``split``:
``"train"`` (the users the items were fitted on) or ``"test"`` (held-out users, folded in with the
items frozen). Every other keyword argument is AdvRec-v1's (``choice_model``, ``dynamics``,
``slate_size``, ``horizon``, ``render_mode``; ``num_envs`` and ``copy`` for ``gym.make_vec``).
"""

from __future__ import annotations

import dataclasses
import functools
import os
from typing import Any

from advrec_gym._validation import check_choice, check_type, reject_unknown
from advrec_gym.calibration import Calibration, CalibrationConfig, calibrate
from advrec_gym.catalogue import Catalogue
from advrec_gym.choice import LogitChoice
from advrec_gym.encoder import TransformerEncoder
from advrec_gym.env import AdvRecEnv
from advrec_gym.movielens import load_movielens, resolve_dir
from advrec_gym.users import UserPopulation
from advrec_gym.vector_env import AdvRecVectorEnv

ENV_ID = "AdvRec-MovieLens-v1"
SPLITS = ("train", "test")
#: this env's own keyword arguments (the rest go to AdvRec-v1)
MOVIELENS_KWARGS = (
    "path",
    "split",
    "duplicates",
    "test_fraction",
    "split_seed",
    "calibration",
    "encoder",
    "cache_dir",
    "budget_range",
    "drift_range",
    "fatigue_range",
)
_PASSED_ON = ("choice_model", "dynamics", "slate_size", "horizon", "render_mode")
_VECTOR_ONLY = ("num_envs", "max_episode_steps", "copy")
_BUILT_HERE = ("catalogue", "num_items", "num_topics", "catalogue_seed", "kinds", "user_model")


@dataclasses.dataclass(frozen=True, eq=False)
class MovieLensWorld:
    """What the env is built from: the calibrated catalogue, the population of a split, the fit."""

    catalogue: Catalogue
    population: UserPopulation
    calibration: Calibration


def movielens_world(
    path: str | os.PathLike,
    *,
    split: str = "train",
    duplicates: str = "merge",
    test_fraction: float = 0.2,
    split_seed: int = 0,
    calibration: CalibrationConfig | None = None,
    choice_model: LogitChoice | None = None,
    encoder: TransformerEncoder | str | os.PathLike | None = None,
    cache_dir: str | os.PathLike | None = None,
    budget_range: tuple[float, float] = (30.0, 60.0),
    drift_range: tuple[float, float] = (0.0, 0.1),
    fatigue_range: tuple[float, float] = (0.5, 1.5),
) -> MovieLensWorld:
    """The calibrated catalogue (appeal and quality set) and the fitted users of ``split``.

    Memoised in-process (keyed by the folder's files and every setting) when the encoder is given by
    name, so building several envs over one folder reads, encodes and fits once.
    """
    split = check_choice("split", split, SPLITS)
    calibration = check_type("calibration", calibration, CalibrationConfig)
    choice_model = check_type("choice_model", choice_model, LogitChoice)
    if path is None:
        raise TypeError(
            f"{ENV_ID} needs path=<an ml-100k folder> (the MovieLens 100K data set is not shipped; "
            "advrec_gym.movielens_synthetic writes a synthetic one of the same format)."
        )
    item_path, _ = resolve_dir(path)
    folder = item_path.parent.resolve()
    stamp = tuple(
        (f.name, f.stat().st_size, f.stat().st_mtime_ns) for f in (item_path, folder / "u.data") if f.exists()
    )
    args = (duplicates, float(test_fraction), int(split_seed), calibration, choice_model)
    traits = (tuple(budget_range), tuple(drift_range), tuple(fatigue_range))
    if isinstance(encoder, TransformerEncoder):
        catalogue, cal = _fit(str(folder), stamp, *args, encoder, cache_dir)
    else:
        ref = None if encoder is None else os.fspath(encoder)
        catalogue, cal = _memo_fit(str(folder), stamp, *args, ref, None if cache_dir is None else os.fspath(cache_dir))
    population = UserPopulation(
        cal.interests(split),
        budget_range=traits[0],
        drift_range=traits[1],
        fatigue_range=traits[2],
        name=f"MovieLens {split} users ({len(cal.interests(split))}) of {folder}",
    )
    return MovieLensWorld(catalogue, population, cal)


def _fit(folder, stamp, duplicates, test_fraction, split_seed, config, choice, encoder, cache_dir):
    del stamp  # part of the memo key only: edited files are read again
    data = load_movielens(folder, duplicates=duplicates)
    catalogue = Catalogue.from_movielens(
        data, test_fraction=test_fraction, split_seed=split_seed, encoder=encoder, cache_dir=cache_dir
    )
    cal = calibrate(
        data,
        catalogue.user_embeddings,
        test_fraction=test_fraction,
        split_seed=split_seed,
        config=config,
        choice=choice,
        cache_dir=cache_dir,
    )
    return dataclasses.replace(catalogue, appeal=cal.appeal, quality=cal.quality), cal


_memo_fit = functools.lru_cache(maxsize=4)(_fit)


def _split_kwargs(kwargs: dict[str, Any], allowed_env: tuple[str, ...]) -> tuple[dict, dict]:
    built = sorted(set(kwargs) & set(_BUILT_HERE))
    if built:
        raise ValueError(
            f"{ENV_ID} builds its catalogue and users from path=; drop {built[0]}={kwargs[built[0]]!r} "
            "(use gym.make('AdvRec-v1', catalogue=..., user_model=...) to choose them yourself)."
        )
    reject_unknown(
        {k: v for k, v in kwargs.items() if k not in MOVIELENS_KWARGS + allowed_env}, MOVIELENS_KWARGS + allowed_env
    )
    world = {k: v for k, v in kwargs.items() if k in MOVIELENS_KWARGS}
    env = {k: v for k, v in kwargs.items() if k in allowed_env}
    return world, env


def make_env(path: str | os.PathLike | None = None, **kwargs: Any) -> AdvRecEnv:
    """``gym.make("AdvRec-MovieLens-v1", path=..., split="train", ...)``: the single env."""
    world_kwargs, env_kwargs = _split_kwargs(kwargs, _PASSED_ON)
    world = movielens_world(path, choice_model=env_kwargs.get("choice_model"), **world_kwargs)
    return AdvRecEnv(world.catalogue, user_model=world.population, **env_kwargs)


def make_vector_env(num_envs: int = 1, path: str | os.PathLike | None = None, **kwargs: Any) -> AdvRecVectorEnv:
    """``gym.make_vec("AdvRec-MovieLens-v1", num_envs=N, vectorization_mode="vector_entry_point", path=...)``."""
    world_kwargs, env_kwargs = _split_kwargs(kwargs, _PASSED_ON + _VECTOR_ONLY)
    world = movielens_world(path, choice_model=env_kwargs.get("choice_model"), **world_kwargs)
    return AdvRecVectorEnv(num_envs, world.catalogue, user_model=world.population, **env_kwargs)
