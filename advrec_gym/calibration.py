"""Simulated users calibrated to real ratings: interests, item appeal and item quality from MovieLens.

The env's choice model clicks an item shown alone with probability (AdvRec-v1, no fatigue yet)::

    P(click | u, i) = sigmoid((<u, e_i> + appeal_i - a0) / tau)        (tau = 0.1, a0 = 0.5)

where ``e_i`` is the item's text embedding (``catalogue.user_embeddings``). :func:`fit_users` fits,
from the **training** users' ratings, one interest vector ``u`` per user and one appeal per item by
maximising this model's likelihood of the observed likes (rating >= 4) against non-likes: the user's
rated-but-not-liked items (weight 1 each) and the items they never rated, weighted so that they count
as ``negatives`` sampled non-likes per like (the expectation of uniform negative sampling, computed
exactly over the full user x item matrix, so the fit is deterministic). A user's interest is a shared
mean plus their own deviation, and the deviation is L2-regularised: a user with few ratings stays near
the population's mean taste. Full-batch Adam in torch; a few seconds for 100k ratings.

:func:`fold_in` fits new users (held-out users) with the items frozen: their interests from their own
ratings only, so a held-out user never shapes the items' appeal, quality or the popularity prior.

:func:`item_quality` maps each item's mean rating, shrunk toward the global mean for items with few
ratings, to the hidden quality in [-1, 1] that AdvRec-v1 uses (what consuming the item does to the user).

:func:`calibrate` does all of it for a by-user split of a MovieLens folder and caches the result on
disk (keyed by the data's hash and every setting; written atomically, a failed write only a
:class:`~advrec_gym.cache.CacheWriteWarning`; read without unpickling).
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import warnings
import zipfile
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from advrec_gym._io import atomic_write_bytes
from advrec_gym._validation import check_float, check_int
from advrec_gym.cache import CacheWarning, CacheWriteWarning, default_cache_dir
from advrec_gym.choice import LogitChoice
from advrec_gym.movielens import MovieLensData, split_users

_FORMAT_VERSION = 1


@dataclass(frozen=True)
class CalibrationConfig:
    """How simulated users are fitted to ratings (every field is part of the cache key).

    Attributes:
        like_threshold: the smallest rating that counts as a like (a click in the simulator).
        negatives: how many sampled non-likes each like is weighed against (the total weight of a
            user's unrated items is ``negatives`` times their likes).
        l2_user: L2 weight of a user's deviation from the mean interest, in units of one rating's weight.
        l2_item: L2 weight of an item's appeal, in the same units.
        steps: full-batch Adam steps.
        lr: Adam's learning rate.
        fold_in_steps: Adam steps of :func:`fold_in` (held-out users; the items are frozen).
        quality_prior: pseudo-ratings at the global mean added to each item's mean (shrinkage).
        quality_scale: stars above the global mean that make quality 1 (clipped to [-1, 1]).
        seed: seeds the initial deviations (a torch.Generator; the global RNG is never touched).
    """

    like_threshold: int = 4
    negatives: float = 4.0
    l2_user: float = 30.0
    l2_item: float = 1.0
    steps: int = 300
    lr: float = 0.05
    fold_in_steps: int = 200
    quality_prior: float = 10.0
    quality_scale: float = 1.0
    seed: int = 0

    def __post_init__(self):
        check_int("like_threshold", self.like_threshold, low=1, high=5)
        check_float("negatives", self.negatives, low=0.0, low_open=True)
        check_float("l2_user", self.l2_user, low=0.0)
        check_float("l2_item", self.l2_item, low=0.0)
        check_int("steps", self.steps, low=1)
        check_float("lr", self.lr, low=0.0, low_open=True)
        check_int("fold_in_steps", self.fold_in_steps, low=1)
        check_float("quality_prior", self.quality_prior, low=0.0)
        check_float("quality_scale", self.quality_scale, low=0.0, low_open=True)
        check_int("seed", self.seed, low=0)


@dataclass(frozen=True, eq=False)
class FittedUsers:
    """Interest vectors fitted to users' ratings, and the items' appeal they were fitted with.

    Attributes:
        user_ids: int64 (num_users,), the users (sorted).
        interests: float32 (num_users, dim), one interest per user (``mean_interest`` + deviation).
        mean_interest: float32 (dim,), the population's mean interest (the shrinkage target).
        appeal: float32 (num_items,), each item's click appeal (in affinity units).
        loss: the final training objective (weighted log loss plus the L2 terms, per unit weight).
    """

    user_ids: np.ndarray
    interests: np.ndarray
    mean_interest: np.ndarray
    appeal: np.ndarray
    loss: float


@dataclass(frozen=True, eq=False)
class Calibration:
    """Everything the simulator takes from a MovieLens folder for one by-user split.

    Attributes:
        train: the training users, fitted with the items (their interests draw the ``train`` split).
        test_user_ids: int64, the held-out users.
        test_interests: float32 (num_test, dim), the held-out users folded in on all their ratings
            with the items frozen (the ``test`` split's population).
        appeal: float32 (num_items,), from the training users.
        quality: float32 (num_items,) in [-1, 1], from the training users' ratings.
        key: the cache key (data hash and settings).
    """

    train: FittedUsers
    test_user_ids: np.ndarray
    test_interests: np.ndarray
    quality: np.ndarray
    key: str

    @property
    def appeal(self) -> np.ndarray:
        return self.train.appeal

    def interests(self, split: str) -> np.ndarray:
        """The fitted interests of the ``"train"`` or ``"test"`` users."""
        if split == "train":
            return self.train.interests
        if split == "test":
            if len(self.test_interests) == 0:
                raise ValueError("This calibration holds out no test users (test_fraction=0): use split='train'.")
            return self.test_interests
        raise ValueError(f"split must be 'train' or 'test', got split={split!r}.")


# ---------------------------------------------------------------------------------------------- targets
def like_matrix(data: MovieLensData, users: np.ndarray, like_threshold: int) -> tuple[np.ndarray, np.ndarray]:
    """(liked, rated): bool (len(users), num_items) matrices of the given users' ratings, rows in ``users`` order."""
    index = {int(u): k for k, u in enumerate(users)}
    keep = np.isin(data.users, users)
    r = np.array([index[int(u)] for u in data.users[keep]], dtype=np.int64)
    rated = np.zeros((len(users), data.num_items), dtype=bool)
    liked = np.zeros_like(rated)
    rated[r, data.rows[keep]] = True
    liked[r, data.rows[keep]] = data.ratings[keep] >= like_threshold
    return liked, rated


def item_quality(data: MovieLensData, users: np.ndarray, prior: float = 10.0, scale: float = 1.0) -> np.ndarray:
    """The hidden quality of each item, from ``users``' ratings (the training users).

    ``q_i = clip((m_i - g) / scale, -1, 1)`` with ``m_i = (sum of ratings_i + prior * g) / (n_i + prior)``,
    ``g`` the users' mean rating: an item rated well by many is good, one rated by few stays near 0.

    Returns:
        float32 (num_items,); 0 for an item no user in ``users`` rated.
    """
    keep = np.isin(data.users, users)
    rows, ratings = data.rows[keep], data.ratings[keep].astype(np.float64)
    if ratings.size == 0:
        return np.zeros(data.num_items, dtype=np.float32)
    g = ratings.mean()
    n = np.bincount(rows, minlength=data.num_items)
    total = np.bincount(rows, weights=ratings, minlength=data.num_items)
    shrunk = (total + prior * g) / np.maximum(n + prior, 1e-12)
    return np.clip((shrunk - g) / scale, -1.0, 1.0).astype(np.float32)


# ---------------------------------------------------------------------------------------------- fitting
def fit_users(
    liked: np.ndarray,
    rated: np.ndarray,
    embeddings: np.ndarray,
    *,
    user_ids: np.ndarray,
    config: CalibrationConfig | None = None,
    choice: LogitChoice | None = None,
) -> FittedUsers:
    """Fit interests and item appeal to users' likes (see the module docstring for the objective).

    Args:
        liked: bool (num_users, num_items), the likes.
        rated: bool (num_users, num_items), every rated item (likes included).
        embeddings: float32 (num_items, dim), what the users' tastes are defined on.
        user_ids: (num_users,) ids of the rows.
        config: the fitting settings.
        choice: the env's choice model (its temperature and no-click affinity).
    """
    return _fit(liked, rated, embeddings, user_ids, config or CalibrationConfig(), choice or LogitChoice(), None)


def fold_in(
    liked: np.ndarray,
    rated: np.ndarray,
    embeddings: np.ndarray,
    fitted: FittedUsers,
    *,
    user_ids: np.ndarray,
    config: CalibrationConfig | None = None,
    choice: LogitChoice | None = None,
) -> FittedUsers:
    """Fit new users' interests from their own ratings with the items (appeal, mean interest) frozen."""
    return _fit(liked, rated, embeddings, user_ids, config or CalibrationConfig(), choice or LogitChoice(), fitted)


def _fit(liked, rated, embeddings, user_ids, config, choice, frozen: FittedUsers | None) -> FittedUsers:
    import torch

    liked, rated = np.asarray(liked, dtype=bool), np.asarray(rated, dtype=bool)
    emb = np.asarray(embeddings, dtype=np.float32)
    n_users, n_items = liked.shape
    if rated.shape != liked.shape or emb.shape[0] != n_items or len(user_ids) != n_users:
        raise ValueError(
            f"liked {liked.shape}, rated {rated.shape}, embeddings {emb.shape} and user_ids ({len(user_ids)},) "
            "must agree on users and items."
        )
    if np.any(liked & ~rated):
        raise ValueError("every liked item must also be rated (liked implies rated).")
    tau, a0 = choice.temperature, choice.no_click_affinity
    likes = liked.sum(axis=1)
    unrated = n_items - rated.sum(axis=1)
    # Unrated items share the weight of `negatives` non-likes per like (uniform negative sampling, in expectation).
    w_unrated = np.where(unrated > 0, config.negatives * likes / np.maximum(unrated, 1), 0.0)
    weights = np.where(rated, 1.0, w_unrated[:, None]).astype(np.float32)
    total = float(weights.sum())
    gen = torch.Generator().manual_seed(config.seed)
    E = torch.from_numpy(emb.copy())
    Y = torch.from_numpy(liked.astype(np.float32))
    W = torch.from_numpy(weights)
    dev = (1e-3 * torch.randn(n_users, emb.shape[1], generator=gen)).requires_grad_(True)
    if frozen is None:
        centre = emb.mean(axis=0)
        mean = torch.from_numpy(a0 * centre / float(centre @ centre)).requires_grad_(True)  # <mean, centre> = a0
        appeal = torch.zeros(n_items, requires_grad=True)
        params, steps = [dev, mean, appeal], config.steps
    else:
        mean, appeal = torch.from_numpy(frozen.mean_interest.copy()), torch.from_numpy(frozen.appeal.copy())
        params, steps = [dev], config.fold_in_steps
    opt = torch.optim.Adam(params, lr=config.lr)
    loss = torch.zeros(())
    for _ in range(steps):
        opt.zero_grad(set_to_none=True)
        logits = ((mean + dev) @ E.T + appeal - a0) / tau
        data_loss = (W * torch.nn.functional.binary_cross_entropy_with_logits(logits, Y, reduction="none")).sum()
        loss = (data_loss + config.l2_user * dev.pow(2).sum() + config.l2_item * appeal.pow(2).sum()) / total
        loss.backward()
        opt.step()
    with torch.no_grad():
        interests = (mean + dev).numpy().astype(np.float32)
    return FittedUsers(
        user_ids=np.asarray(user_ids, dtype=np.int64),
        interests=interests,
        mean_interest=mean.detach().numpy().astype(np.float32),
        appeal=appeal.detach().numpy().astype(np.float32),
        loss=float(loss.detach()),
    )


def click_logits(interests: np.ndarray, embeddings: np.ndarray, appeal: np.ndarray, choice: LogitChoice) -> np.ndarray:
    """``(<u, e_i> + appeal_i - a0) / tau`` for every user and item: the env's first-step click logit."""
    return (np.asarray(interests) @ np.asarray(embeddings).T + appeal - choice.no_click_affinity) / choice.temperature


# ---------------------------------------------------------------------------------------------- the split
def calibrate(
    data: MovieLensData,
    embeddings: np.ndarray,
    *,
    test_fraction: float = 0.2,
    split_seed: int = 0,
    config: CalibrationConfig | None = None,
    choice: LogitChoice | None = None,
    cache_dir: str | os.PathLike | None = None,
    use_cache: bool = True,
) -> Calibration:
    """Fit the training users and the items, fold in the test users, map ratings to quality; cached.

    Args:
        data: the MovieLens data (:func:`advrec_gym.movielens.load_movielens`).
        embeddings: float32 (num_items, dim), the catalogue's ``user_embeddings`` (its rows match ``data``'s).
        test_fraction: share of users held out (:func:`advrec_gym.movielens.split_users`).
        split_seed: seed of the split.
        config: the fitting settings.
        choice: the env's choice model.
        cache_dir: where the cache file lives (default ``$ADVREC_CACHE_DIR`` or ``~/.cache/advrec``).
        use_cache: read and write the cache.
    """
    config = config or CalibrationConfig()
    choice = choice or LogitChoice()
    emb = np.ascontiguousarray(embeddings, dtype=np.float32)
    if emb.ndim != 2 or emb.shape[0] != data.num_items:
        raise ValueError(
            f"embeddings must have one row per catalogue row of the data ({data.num_items}), got shape {emb.shape}."
        )
    train_ids, test_ids = split_users(data.user_ids(), test_fraction, split_seed)
    key = calibration_key(data, emb, test_fraction, split_seed, config, choice)
    path = Path(cache_dir).expanduser() if cache_dir is not None else default_cache_dir()
    path = path / f"calibration-{key[:40]}.npz"
    if use_cache:
        cached = _load(path, key, data.num_items, emb.shape[1])
        if cached is not None:
            return cached
    liked, rated = like_matrix(data, train_ids, config.like_threshold)
    train = fit_users(liked, rated, emb, user_ids=train_ids, config=config, choice=choice)
    if len(test_ids):
        t_liked, t_rated = like_matrix(data, test_ids, config.like_threshold)
        test = fold_in(t_liked, t_rated, emb, train, user_ids=test_ids, config=config, choice=choice).interests
    else:
        test = np.zeros((0, emb.shape[1]), dtype=np.float32)
    quality = item_quality(data, train_ids, config.quality_prior, config.quality_scale)
    result = Calibration(train=train, test_user_ids=test_ids, test_interests=test, quality=quality, key=key)
    if use_cache:
        _save(path, result)
    return result


def calibration_key(data, embeddings, test_fraction, split_seed, config, choice) -> str:
    """SHA-256 over the data's files, the embeddings, the split and every setting."""
    payload = {
        "format": _FORMAT_VERSION,
        "data": data.fingerprint,
        "duplicates": data.duplicates,
        "ratings_file": data.ratings_file,
        "embeddings": hashlib.sha256(np.ascontiguousarray(embeddings, dtype=np.float32).tobytes()).hexdigest(),
        "test_fraction": float(test_fraction),
        "split_seed": int(split_seed),
        "config": asdict(config),
        "choice": [choice.temperature, choice.no_click_affinity],
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode("utf-8")).hexdigest()


_ARRAYS = ("user_ids", "interests", "mean_interest", "appeal", "test_user_ids", "test_interests", "quality")


def _save(path: Path, cal: Calibration) -> None:
    arrays = {
        "user_ids": cal.train.user_ids,
        "interests": cal.train.interests,
        "mean_interest": cal.train.mean_interest,
        "appeal": cal.train.appeal,
        "test_user_ids": cal.test_user_ids,
        "test_interests": cal.test_interests,
        "quality": cal.quality,
    }
    digest = hashlib.sha256()
    for name in _ARRAYS:
        digest.update(np.ascontiguousarray(arrays[name]).tobytes())
    meta = {"format": _FORMAT_VERSION, "key": cal.key, "loss": cal.train.loss, "sha256": digest.hexdigest()}
    buffer = io.BytesIO()
    np.savez(buffer, meta=np.frombuffer(json.dumps(meta).encode("utf-8"), dtype=np.uint8), **arrays)
    try:
        atomic_write_bytes(path, buffer.getvalue())
    except OSError as exc:  # a cache that cannot be written costs only the caching
        warnings.warn(
            f"Could not write the calibration cache {path} ({type(exc).__name__}: {exc}); going on without caching.",
            CacheWriteWarning,
            stacklevel=3,
        )


def _load(path: Path, key: str, num_items: int, dim: int) -> Calibration | None:
    """The cached calibration, or None when absent or unusable (then the file is deleted with a warning)."""
    if not path.exists():
        return None
    try:
        with open(path, "rb") as f, np.load(f, allow_pickle=False) as z:
            meta = json.loads(bytes(z["meta"]).decode("utf-8"))
            arrays = {name: np.array(z[name]) for name in _ARRAYS}
        digest = hashlib.sha256()
        for name in _ARRAYS:
            digest.update(np.ascontiguousarray(arrays[name]).tobytes())
        problem = None
        if meta.get("format") != _FORMAT_VERSION or meta.get("key") != key:
            problem = "for other data or settings (key mismatch)"
        elif digest.hexdigest() != meta.get("sha256"):
            problem = "corrupt (checksum mismatch)"
        elif arrays["appeal"].shape != (num_items,) or arrays["interests"].shape[1:] != (dim,):
            problem = "of the wrong shape"
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile, json.JSONDecodeError) as exc:
        problem = f"unreadable ({type(exc).__name__}: {exc})"
    if problem is not None:
        warnings.warn(
            f"Calibration cache file {path} is {problem}; deleting it and fitting again.", CacheWarning, stacklevel=3
        )
        path.unlink(missing_ok=True)
        return None
    train = FittedUsers(
        arrays["user_ids"], arrays["interests"], arrays["mean_interest"], arrays["appeal"], float(meta["loss"])
    )
    return Calibration(train, arrays["test_user_ids"], arrays["test_interests"], arrays["quality"], key)
