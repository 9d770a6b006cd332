"""The catalogue: item ids, texts, topics, a popularity prior and language-model embeddings."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

import numpy as np

from advrec_gym._validation import check_float, check_int
from advrec_gym.encoder import TransformerEncoder
from advrec_gym.quality import ItemKinds

if TYPE_CHECKING:
    from advrec_gym.movielens import MovieLensData


@dataclass(frozen=True, eq=False)
class Catalogue:
    """A fixed set of items that the recommender chooses from.

    Attributes:
        ids: item ids, int64, shape (num_items,).
        texts: one text per item (what the encoder read).
        topics: one topic label per item.
        popularity: a prior over items (float64, sums to 1), used by the popularity baseline.
        embeddings: float32, shape (num_items, dim), unit L2 norm per row: what the **recommender**
            sees (the observation's history blocks, the item-embedding policy's head).
        encoder_identity: the identity of the encoder that produced ``embeddings`` (empty if given).
        quality: float32 (num_items,) in [-1, 1], the **hidden** quality of each item: what consuming
            it does to a user of AdvRec-v1 (good items extend the visit, low-quality ones cut it
            short). Zero by default; AdvRec-v0 ignores it.
        appeal: float32 (num_items,), the click appeal added to a user's affinity in AdvRec-v1's choice
            model (clickbait wins clicks its quality does not deserve). Zero by default.
        user_embeddings: float32 (num_items, dim), unit rows: what the simulated users' tastes are
            defined on. The same array as ``embeddings`` unless the texts were edited
            (:meth:`replace_texts`): an edited text changes what the recommender sees, not what the
            item is to a user.
        kinds: one label per item (``"clickbait"``, ``"quality"``, ``"regular"``) for catalogues
            built with item kinds, else ``None``.

    Build one with :meth:`synthetic`, :meth:`from_texts` or :meth:`from_movielens`; the constructor
    validates everything and freezes the arrays.
    """

    ids: np.ndarray
    texts: tuple[str, ...]
    topics: tuple[str, ...]
    popularity: np.ndarray
    embeddings: np.ndarray
    encoder_identity: str = ""
    quality: np.ndarray | None = None
    appeal: np.ndarray | None = None
    user_embeddings: np.ndarray | None = None
    kinds: tuple[str, ...] | None = None
    topic_names: tuple[str, ...] = field(init=False)
    topic_index: np.ndarray = field(init=False)

    def __post_init__(self):
        ids = np.asarray(self.ids, dtype=np.int64)
        texts, topics = tuple(self.texts), tuple(str(t) for t in self.topics)
        n = len(texts)
        if n == 0:
            raise ValueError("A catalogue needs at least one item, got 0 texts.")
        _check_texts(texts)
        emb = np.asarray(self.embeddings, dtype=np.float32)
        pop = np.asarray(self.popularity, dtype=np.float64)
        for name, arr, shape in (("ids", ids, (n,)), ("popularity", pop, (n,))):
            if arr.shape != shape:
                raise ValueError(f"{name} must have shape {shape} (one per text), got {arr.shape}.")
        if len(topics) != n:
            raise ValueError(f"topics must have one label per item ({n}), got {len(topics)}.")
        if len(np.unique(ids)) != n:
            raise ValueError("ids must be unique.")
        if emb.ndim != 2 or emb.shape[0] != n:
            raise ValueError(f"embeddings must have shape ({n}, dim), got {emb.shape}.")
        if not np.all(np.isfinite(emb)) or not np.allclose(np.linalg.norm(emb, axis=1), 1.0, atol=1e-3):
            raise ValueError("embeddings must be finite with unit L2 norm per row (normalise them first).")
        if not np.all(np.isfinite(pop)) or np.any(pop < 0) or pop.sum() <= 0:
            raise ValueError("popularity must be finite, non-negative and not all zero.")
        pop = pop / pop.sum()
        quality = _item_array("quality", self.quality, n, low=-1.0, high=1.0)
        appeal = _item_array("appeal", self.appeal, n)
        if self.user_embeddings is None or self.user_embeddings is self.embeddings:
            user_emb = emb
        else:
            user_emb = np.asarray(self.user_embeddings, dtype=np.float32)
            if user_emb.shape != emb.shape:
                raise ValueError(
                    f"user_embeddings must have the shape of embeddings {emb.shape}, got {user_emb.shape}."
                )
            if not np.all(np.isfinite(user_emb)) or not np.allclose(np.linalg.norm(user_emb, axis=1), 1.0, atol=1e-3):
                raise ValueError("user_embeddings must be finite with unit L2 norm per row.")
            user_emb = emb if np.array_equal(user_emb, emb) else user_emb
        kinds = None
        if self.kinds is not None:
            kinds = tuple(str(k) for k in self.kinds)
            if len(kinds) != n:
                raise ValueError(f"kinds must have one label per item ({n}), got {len(kinds)}.")
        names, index = np.unique(np.asarray(topics, dtype=object).astype(str), return_inverse=True)
        for arr in (ids, emb, pop, index, quality, appeal, user_emb):
            arr.setflags(write=False)
        values = dict(ids=ids, texts=texts, topics=topics, popularity=pop, embeddings=emb, quality=quality)
        values.update(appeal=appeal, user_embeddings=user_emb, kinds=kinds)
        for key, value in values.items():
            object.__setattr__(self, key, value)
        object.__setattr__(self, "topic_names", tuple(str(t) for t in names))
        object.__setattr__(self, "topic_index", index.astype(np.int64))

    @property
    def num_items(self) -> int:
        return len(self.texts)

    @property
    def dim(self) -> int:
        return int(self.embeddings.shape[1])

    @property
    def num_topics(self) -> int:
        return len(self.topic_names)

    @property
    def low_quality(self) -> np.ndarray:
        """Bool mask of the items whose hidden quality is negative (what information filtering should keep out)."""
        return self.quality < 0.0

    @property
    def texts_edited(self) -> bool:
        """Whether the recommender's embeddings differ from the users' (some texts were edited)."""
        return self.user_embeddings is not self.embeddings

    def topic_centroids(self) -> np.ndarray:
        """Unit-norm mean embedding of each topic, shape (num_topics, dim), in ``topic_names`` order."""
        sums = np.zeros((self.num_topics, self.dim), dtype=np.float64)
        np.add.at(sums, self.topic_index, self.embeddings)
        return (sums / np.linalg.norm(sums, axis=1, keepdims=True)).astype(np.float32)

    def __len__(self) -> int:
        return self.num_items

    def __repr__(self) -> str:
        return f"Catalogue(num_items={self.num_items}, num_topics={self.num_topics}, dim={self.dim})"

    def replace_texts(
        self,
        edits: dict[int, str],
        *,
        encoder: TransformerEncoder | str | os.PathLike | None = None,
        cache_dir: str | os.PathLike | None = None,
        use_cache: bool = True,
    ) -> Catalogue:
        """A copy whose items ``edits`` (row -> new text) read differently to the recommender.

        Only the edited texts are encoded (and cached); ``embeddings`` changes in those rows alone. The
        items stay what they are to a user: ids, topics, popularity, quality, appeal and
        ``user_embeddings`` (the original texts' embeddings) are unchanged.

        Args:
            edits: catalogue row -> its new text (non-empty, and unique in the edited catalogue).
            encoder: the catalogue's encoder (a :class:`TransformerEncoder`, a model path, or ``None``
                for the default); its identity must match ``encoder_identity`` when that is recorded.
            cache_dir: the embedding cache directory (default ``$ADVREC_CACHE_DIR`` or ``~/.cache/advrec``).
            use_cache: read and write the embedding cache.

        Raises:
            ValueError: a row out of range, an empty text, a text equal to another item's, or an
                encoder other than the one that encoded this catalogue.
        """
        if not isinstance(edits, dict):
            raise TypeError(f"edits must be a dict of catalogue row -> new text, got {type(edits).__name__}.")
        texts = list(self.texts)
        for row, text in edits.items():
            check_int("edits row", row, low=0, high=self.num_items - 1)
            if not isinstance(text, str) or not text.strip():
                raise ValueError(f"edits[{row}] must be a non-empty string, got {text!r}.")
            texts[int(row)] = text
        seen: dict[str, int] = {}
        for i, text in enumerate(texts):
            if text in seen:
                j = seen[text]
                edited = i if i in edits else j
                other = j if edited == i else i
                raise ValueError(
                    f"The edited text of item {edited} ({text[:60]!r}) is the text of item {other}: "
                    "edited texts must stay unique."
                )
            seen[text] = i
        if not edits:
            return self
        if not isinstance(encoder, TransformerEncoder):
            encoder = TransformerEncoder(encoder)
        if self.encoder_identity and encoder.identity != self.encoder_identity:
            raise ValueError(
                "replace_texts needs the encoder that encoded this catalogue; got one with identity "
                f"{encoder.identity}, the catalogue's is {self.encoder_identity}."
            )
        rows = sorted(int(r) for r in edits)
        new = [texts[r] for r in rows]
        emb = encoder.encode_cached(new, cache_dir) if use_cache else encoder.encode(new)
        embeddings = np.array(self.embeddings, copy=True)
        embeddings[rows] = emb
        return replace(self, texts=tuple(texts), embeddings=embeddings, user_embeddings=self.user_embeddings)

    # ------------------------------------------------------------------ builders
    @classmethod
    def from_texts(
        cls,
        texts: Sequence[str],
        *,
        topics: Sequence[str] | None = None,
        popularity: Sequence[float] | None = None,
        ids: Sequence[int] | None = None,
        encoder: TransformerEncoder | str | os.PathLike | None = None,
        cache_dir: str | os.PathLike | None = None,
        use_cache: bool = True,
        num_topics: int | None = None,
        seed: int = 0,
    ) -> Catalogue:
        """Encode ``texts`` into a catalogue.

        Args:
            texts: one non-empty, unique text per item.
            topics: one label per item; ``None`` clusters the embeddings into ``num_topics`` groups
                (seeded k-means), default ``min(20, num_items)``.
            popularity: a prior over items; ``None`` is uniform.
            ids: item ids; ``None`` is ``0..num_items-1``.
            encoder: a :class:`TransformerEncoder`, a model path / hub id, or ``None`` for the default.
            cache_dir: the embedding cache directory (default ``$ADVREC_CACHE_DIR`` or ``~/.cache/advrec``).
            use_cache: read and write the embedding cache.
            num_topics: clusters when ``topics`` is ``None``.
            seed: seed of that clustering.
        """
        texts = tuple(texts)
        if not texts:
            raise ValueError("texts must hold at least one item text, got an empty sequence.")
        _check_texts(texts)
        if not isinstance(encoder, TransformerEncoder):
            encoder = TransformerEncoder(encoder)
        emb = encoder.encode_cached(texts, cache_dir) if use_cache else encoder.encode(texts)
        n = len(texts)
        if topics is None:
            k = check_int("num_topics", num_topics if num_topics is not None else min(20, n), low=1, high=n)
            topics = [f"cluster {c}" for c in _kmeans(emb, k, np.random.default_rng(seed))]
        return cls(
            ids=np.arange(n) if ids is None else np.asarray(ids),
            texts=texts,
            topics=tuple(topics),
            popularity=np.full(n, 1.0 / n) if popularity is None else np.asarray(popularity, dtype=np.float64),
            embeddings=emb,
            encoder_identity=encoder.identity,
        )

    @classmethod
    def synthetic(
        cls,
        num_items: int = 1000,
        num_topics: int = 20,
        seed: int = 0,
        *,
        popularity_exponent: float = 1.0,
        kinds: ItemKinds | None = None,
        encoder: TransformerEncoder | str | os.PathLike | None = None,
        cache_dir: str | os.PathLike | None = None,
        use_cache: bool = True,
    ) -> Catalogue:
        """A seeded catalogue of readable one-sentence items over ``num_topics`` topics.

        The texts come from :mod:`advrec_gym.synthetic_text`. Popularity is Zipf-like at two levels:
        topics are ranked in a seeded random order with weight ``rank ** -popularity_exponent``, and
        items within a topic likewise, so some topics (and items) are broadly popular.

        With ``kinds`` (AdvRec-v1's catalogue, :class:`~advrec_gym.quality.ItemKinds`) every item is
        clickbait, high-quality or regular, with hidden quality and click appeal drawn for its kind and
        its text written in its kind's style; without, the catalogue is exactly AdvRec-v0's (quality
        and appeal zero).
        """
        from advrec_gym.synthetic_text import generate_items

        num_items = check_int("num_items", num_items, low=1)
        num_topics = check_int("num_topics", num_topics, low=1)
        seed = check_int("seed", seed, low=0)
        alpha = check_float("popularity_exponent", popularity_exponent, low=0.0)
        if kinds is not None and not isinstance(kinds, ItemKinds):
            raise TypeError(f"kinds must be an advrec_gym.quality.ItemKinds or None, got {type(kinds).__name__}.")
        rng = np.random.default_rng(seed)
        labels = quality = appeal = None
        if kinds is not None:  # a stream of its own, so the texts' and popularity's draws keep their order
            labels, quality, appeal = kinds.draw(num_items, np.random.default_rng([seed, 0x4B1D]))
        _titles, texts, topics = generate_items(num_items, num_topics, rng, labels)
        names = sorted(set(topics))
        topic_weight = dict(zip(names, (rng.permutation(len(names)) + 1.0) ** -alpha, strict=True))
        popularity = np.empty(num_items)
        for name in names:
            members = np.flatnonzero(np.asarray(topics) == name)
            within = (rng.permutation(len(members)) + 1.0) ** -alpha
            popularity[members] = topic_weight[name] * within / within.sum()
        catalogue = cls.from_texts(
            texts, topics=topics, popularity=popularity, encoder=encoder, cache_dir=cache_dir, use_cache=use_cache
        )
        if kinds is None:
            return catalogue
        return replace(catalogue, quality=quality, appeal=appeal, kinds=tuple(labels))

    @classmethod
    def from_movielens(
        cls,
        path: str | os.PathLike | MovieLensData,
        *,
        duplicates: str = "merge",
        test_fraction: float = 0.2,
        split_seed: int = 0,
        encoder: TransformerEncoder | str | os.PathLike | None = None,
        cache_dir: str | os.PathLike | None = None,
        use_cache: bool = True,
    ) -> Catalogue:
        """A catalogue from an ml-100k folder (the data set is not shipped: pass your own copy).

        One item per film (:func:`advrec_gym.movielens.load_movielens`: a film listed twice is merged
        by default, the placeholder movie dropped); ``ids`` are movie ids (a merged film's first).
        Item text is ``"Genre A, Genre B. Title (year)."`` with every genre and the title's year
        (:meth:`~advrec_gym.movielens.MovieLensItems.texts`); the topic is the first genre. The popularity prior is the number of ratings by the **training**
        users of the by-user split (:func:`advrec_gym.movielens.split_users` with ``test_fraction``
        and ``split_seed``) plus one, so no held-out user shapes what a recommender is told is popular.

        Args:
            path: the ml-100k folder (holding ``u.item`` and ``u.data``) or its ``u.item`` file, or
                the folder already read (a :class:`~advrec_gym.movielens.MovieLensData`).
            duplicates: ``"merge"`` (default) or ``"keep"`` (two items with distinguishable texts);
                ignored when ``path`` is already read.
            test_fraction: share of users held out of the popularity prior (0: all users count).
            split_seed: seed of the by-user split.
        """
        from advrec_gym import movielens

        data = (
            path if isinstance(path, movielens.MovieLensData) else movielens.load_movielens(path, duplicates=duplicates)
        )
        train_users, _ = movielens.split_users(data.user_ids(), test_fraction, split_seed)
        return cls.from_texts(
            data.texts,
            topics=data.topics,
            popularity=data.popularity(train_users),
            ids=data.ids,
            encoder=encoder,
            cache_dir=cache_dir,
            use_cache=use_cache,
        )

    @classmethod
    def from_embeddings(
        cls,
        embeddings: np.ndarray,
        *,
        topics: Sequence[str],
        texts: Sequence[str] | None = None,
        popularity: Sequence[float] | None = None,
    ) -> Catalogue:
        """A catalogue from precomputed embeddings (rows are normalised here); for tests and custom encoders."""
        emb = np.asarray(embeddings, dtype=np.float64)
        if emb.ndim != 2 or emb.shape[0] == 0:
            raise ValueError(f"embeddings must be a non-empty 2-D array, got shape {emb.shape}.")
        norms = np.linalg.norm(emb, axis=1, keepdims=True)
        if np.any(norms == 0) or not np.all(np.isfinite(norms)):
            raise ValueError("embeddings must be finite and have no all-zero row.")
        n = emb.shape[0]
        return cls(
            ids=np.arange(n),
            texts=tuple(texts) if texts is not None else tuple(f"item {i}" for i in range(n)),
            topics=tuple(topics),
            popularity=np.full(n, 1.0 / n) if popularity is None else np.asarray(popularity, dtype=np.float64),
            embeddings=(emb / norms).astype(np.float32),
        )


def _item_array(name: str, value, n: int, *, low: float | None = None, high: float | None = None) -> np.ndarray:
    """A float32 per-item array (zeros for ``None``), finite and within [low, high]."""
    if value is None:
        return np.zeros(n, dtype=np.float32)
    arr = np.asarray(value, dtype=np.float32)
    if arr.shape != (n,):
        raise ValueError(f"{name} must have shape ({n},) (one per item), got {arr.shape}.")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be finite.")
    if (low is not None and arr.min() < low) or (high is not None and arr.max() > high):
        raise ValueError(f"{name} must lie in [{low}, {high}], got values in [{arr.min():.3g}, {arr.max():.3g}].")
    return arr


def _check_texts(texts: Sequence[str]) -> None:
    empty = [i for i, t in enumerate(texts) if not isinstance(t, str) or not t.strip()]
    if empty:
        raise ValueError(f"Item texts must be non-empty strings; empty at index {empty[:5]}.")
    seen: dict[str, int] = {}
    for i, t in enumerate(texts):
        if t in seen:
            raise ValueError(f"Item texts must be unique; items {seen[t]} and {i} are both {t[:60]!r}.")
        seen[t] = i


def _kmeans(x: np.ndarray, k: int, rng: np.random.Generator, iters: int = 25) -> np.ndarray:
    """Spherical k-means labels (cosine); small and seeded, for catalogues given without topics."""
    centres = x[rng.choice(len(x), size=k, replace=False)].copy()
    labels = np.zeros(len(x), dtype=np.int64)
    for _ in range(iters):
        labels = np.argmax(x @ centres.T, axis=1)
        for c in range(k):
            members = x[labels == c]
            if len(members):
                v = members.sum(0)
                centres[c] = v / max(np.linalg.norm(v), 1e-12)
    return labels
