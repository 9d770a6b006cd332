"""Encoding candidate texts for a text attack: batched, memoised, counted.

A text attack proposes many candidate rewrites of a few items; :class:`CandidateEncoder` encodes
only texts it has not seen (in batches), memoises every embedding by its text, and counts the
encoder calls and the texts it encoded, so that a test can check that no other item is ever
re-encoded and a benchmark can report encodings per second. :meth:`CandidateEncoder.save` /
:meth:`load` keep the memo in one ``.npz`` file (texts as a unicode array, loaded without pickle,
written atomically) so repeated runs over one catalogue re-encode nothing.

The encoder is the recommender's own: a :class:`~advrec_gym.TransformerEncoder` (what the catalogue
was encoded with), or any module with the item tower's interface (``tokenizer``, ``transformer``,
``pooling``, ``max_length``), e.g. a fine-tuned click model's. White-box attacks reach its token
embeddings through :class:`EncoderView`.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np


class EncoderView:
    """The pieces of a text encoder that attacks need: tokenizer, transformer, pooling, max length, device.

    Args:
        encoder: a :class:`~advrec_gym.TransformerEncoder`, or an item tower (an object with
            ``tokenizer``, ``transformer``, ``pooling`` and ``max_length``).
    """

    def __init__(self, encoder: Any):
        if hasattr(encoder, "transformer") and hasattr(encoder, "tokenizer"):
            self.tokenizer, self.transformer = encoder.tokenizer, encoder.transformer
            self.pooling, self.max_length = encoder.pooling, int(encoder.max_length)
            self.identity = getattr(encoder, "identity", f"item-tower:{id(encoder)}")
            self.source = None
        elif callable(getattr(encoder, "load", None)):
            self.tokenizer, self.transformer = encoder.load()  # a TransformerEncoder loads lazily
            self.pooling, self.max_length = encoder.pooling, int(encoder.max_length)
            self.identity = encoder.identity
            self.source = encoder  # what Catalogue.replace_texts re-encodes the edited rows with
        else:
            raise TypeError(
                "encoder must be an advrec_gym.TransformerEncoder or an item tower with tokenizer, transformer, "
                f"pooling and max_length, got {type(encoder).__name__}."
            )

    @property
    def device(self):
        return next(self.transformer.parameters()).device

    def tokenize(self, texts: Sequence[str]):
        tok = self.tokenizer(
            list(texts), padding=True, truncation=True, max_length=self.max_length, return_tensors="pt"
        )
        return tok["input_ids"].to(self.device), tok["attention_mask"].to(self.device)

    def embed_tokens(self, ids):
        """Input (word) embeddings of token ids, (m, L, hidden)."""
        return self.transformer.get_input_embeddings()(ids)

    def forward_embeds(self, embeds, mask):
        """Unit text vectors (m, dim) from input embeddings: the encoder's own pooling and normalisation."""
        import torch

        from advrec_gym.encoder import pool

        hidden = self.transformer(inputs_embeds=embeds, attention_mask=mask).last_hidden_state
        return torch.nn.functional.normalize(pool(hidden, mask, self.pooling).float(), dim=-1)

    def encode(self, texts: Sequence[str], batch_size: int = 64) -> np.ndarray:
        """Unit vectors (len(texts), dim), float32, in eval mode without gradients."""
        import torch

        was_training = self.transformer.training
        self.transformer.eval()
        out = []
        try:
            with torch.inference_mode():
                for start in range(0, len(texts), batch_size):
                    ids, mask = self.tokenize(texts[start : start + batch_size])
                    out.append(self.forward_embeds(self.embed_tokens(ids), mask).cpu().numpy())
        finally:
            self.transformer.train(was_training)
        return np.concatenate(out).astype(np.float32, copy=False)


class _PlainView:
    """A black-box encoder (anything with ``encode(texts)`` and ``identity``): no token access."""

    def __init__(self, encoder: Any):
        self.source, self.identity = encoder, str(getattr(encoder, "identity", type(encoder).__name__))
        self._encoder = encoder

    def encode(self, texts: Sequence[str], batch_size: int = 64) -> np.ndarray:
        return np.asarray(self._encoder.encode(list(texts)), dtype=np.float32)


def _view(encoder: Any):
    from advrec_gym.encoder import TransformerEncoder

    if isinstance(encoder, (EncoderView, _PlainView)):
        return encoder
    if hasattr(encoder, "transformer") and hasattr(encoder, "tokenizer"):
        return EncoderView(encoder)
    # a TransformerEncoder whose encode() is its own reads a Hugging Face model; a subclass that
    # overrides encode() (a test double, a remote service) is treated as a black box
    if isinstance(encoder, TransformerEncoder) and type(encoder).encode is TransformerEncoder.encode:
        return EncoderView(encoder)
    if callable(getattr(encoder, "encode", None)):
        return _PlainView(encoder)
    raise TypeError(
        "encoder must be an advrec_gym.TransformerEncoder, an item tower, or any object with encode(texts), "
        f"got {type(encoder).__name__}."
    )


class CandidateEncoder:
    """Encode candidate texts once each, in batches, counting what was encoded.

    Args:
        encoder: the recommender's encoder: a :class:`~advrec_gym.TransformerEncoder` or item tower
            (white-box attacks reach its tokens, see :class:`EncoderView`), or any object with
            ``encode(texts)`` and ``identity`` (black-box attacks only).
        batch_size: texts per forward pass.

    Attributes:
        calls: encoder forward batches run.
        encoded: texts actually encoded (memo misses).
        seconds: time spent encoding.
    """

    def __init__(self, encoder: Any, batch_size: int = 64):
        self.view = _view(encoder)
        self.batch_size = int(batch_size)
        self.memo: dict[str, np.ndarray] = {}
        self.calls = self.encoded = 0
        self.seconds = 0.0

    @property
    def identity(self) -> str:
        return self.view.identity

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Embeddings (len(texts), dim) of ``texts``; only unseen texts reach the encoder."""
        texts = list(texts)
        missing = list(dict.fromkeys(t for t in texts if t not in self.memo))
        if missing:
            start = time.perf_counter()
            for i in range(0, len(missing), self.batch_size):
                chunk = missing[i : i + self.batch_size]
                for text, vec in zip(chunk, self.view.encode(chunk, self.batch_size), strict=True):
                    self.memo[text] = vec
                self.calls += 1
            self.encoded += len(missing)
            self.seconds += time.perf_counter() - start
        return np.stack([self.memo[t] for t in texts]) if texts else np.zeros((0, 0), np.float32)

    @property
    def rate(self) -> float:
        """Texts encoded per second of encoding (NaN before any)."""
        return self.encoded / self.seconds if self.seconds > 0 else float("nan")

    def stats(self) -> dict[str, float]:
        return {"encoder_calls": self.calls, "texts_encoded": self.encoded, "encode_seconds": self.seconds,
                "encodings_per_second": self.rate}  # fmt: skip

    # ------------------------------------------------------------------ persistence
    def save(self, path: str | os.PathLike) -> Path:
        """Write the memo to ``path`` (``.npz``) atomically."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        texts = list(self.memo)
        emb = np.stack([self.memo[t] for t in texts]) if texts else np.zeros((0, 1), np.float32)
        meta = np.frombuffer(json.dumps({"identity": self.identity}).encode(), dtype=np.uint8)
        fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
        try:
            with os.fdopen(fd, "wb") as f:
                np.savez(f, texts=np.array(texts, dtype=np.str_), embeddings=emb, meta=meta)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return path

    def load(self, path: str | os.PathLike) -> int:
        """Add a saved memo of the same encoder (returns the texts added; 0 if absent or for another encoder)."""
        path = Path(path)
        if not path.is_file():
            return 0
        with np.load(path, allow_pickle=False) as data:
            meta = json.loads(bytes(data["meta"]).decode())
            if meta.get("identity") != self.identity:
                return 0
            texts, emb = [str(t) for t in data["texts"]], np.array(data["embeddings"], dtype=np.float32)
        for text, vec in zip(texts, emb, strict=True):
            self.memo.setdefault(text, vec)
        return len(texts)
