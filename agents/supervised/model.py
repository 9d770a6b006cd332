"""The two-tower click model: P(click | observation, item) = sigmoid(<user(obs), item(text)> + b).

* **Item tower**: the text encoder (a ``transformers`` model, by default the shipped
  all-MiniLM-L6-v2), fine-tunable, over the item's text; pooled as the encoder pools (mean for
  MiniLM) and L2-normalised, so before fine-tuning it gives the catalogue's own embeddings.
* **User tower**: a small MLP over AdvRec-v0's observation (clicked / skipped / shown averages of
  item embeddings and three scalars), the same features the RL recommender sees. The embedding part
  is scaled by ``sqrt(dim)`` first, so its coordinates are of order one.

The item tower starts from :meth:`advrec_gym.TransformerEncoder.load` (its tokenizer and model) and
its pooling, and fine-tunes its own copy, so the encoder's cached embeddings never change.
Its identity (model files, pooling, max_length) goes into every checkpoint.
"""

from __future__ import annotations

import copy
import json
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import nn

from advrec_gym._validation import check_float, check_int
from advrec_gym.device import resolve_device
from advrec_gym.encoder import DEFAULT_MODEL_NAME, TransformerEncoder, pool, tokenize_texts
from advrec_gym.v0.engine import NUM_SCALARS
from agents.supervised.freezing import FreezeReport, apply_freeze


def tower_identity(encoder: TransformerEncoder, max_length: int) -> str:
    """The identity of an item tower: the encoder's (model files, pooling) with the tower's max_length."""
    identity = json.loads(encoder.identity)
    identity["max_length"] = max_length
    return json.dumps(identity, sort_keys=True)


@dataclass(frozen=True)
class ItemBatch:
    """The distinct items of a batch of examples, tokenised.

    ``ids``/``mask`` (U, L) hold the U distinct items (trimmed to their longest text) and
    ``inverse`` (B,) maps each example to its row.
    """

    items: torch.Tensor
    ids: torch.Tensor
    mask: torch.Tensor
    inverse: torch.Tensor


class ItemTower(nn.Module):
    """The transformer over item texts: token embeddings -> unit vectors.

    Args:
        encoder: the :class:`~advrec_gym.TransformerEncoder` to start from (its model is copied).
        max_length: tokens kept per item text.
    """

    def __init__(self, encoder: TransformerEncoder, max_length: int):
        super().__init__()
        self.tokenizer, model = encoder.load()
        self.transformer = copy.deepcopy(model).float()  # fine-tuned here; the encoder's own copy never changes
        if getattr(self.transformer, "pooler", None) is not None:
            self.transformer.pooler = None  # unused by mean / cls / last pooling: no dead parameters
        self.pooling = encoder.pooling
        self.max_length = max_length
        self.dim = int(self.transformer.config.hidden_size)
        # Miyato et al. (2017) perturb normalised word embeddings; we keep the pretrained ones and
        # state the budget in units of their spread instead.
        self.embedding_scale = float(self.transformer.get_input_embeddings().weight.detach().float().std())

    def tokenize(self, texts: Sequence[str]) -> tuple[torch.Tensor, torch.Tensor]:
        """Token ids and attention mask, shape (len(texts), L) with L <= max_length."""
        tok = tokenize_texts(self.tokenizer, texts, self.max_length)
        return tok["input_ids"], tok["attention_mask"]

    def embed(self, ids: torch.Tensor) -> torch.Tensor:
        """The input (word) embeddings of ``ids``, shape (U, L, hidden)."""
        return self.transformer.get_input_embeddings()(ids)

    def forward(self, embeds: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Unit item vectors (U, dim) from input embeddings (U, L, hidden) and the attention mask."""
        hidden = self.transformer(inputs_embeds=embeds, attention_mask=mask).last_hidden_state
        return nn.functional.normalize(pool(hidden, mask, self.pooling).float(), dim=-1)


class UserTower(nn.Module):
    """MLP over the observation: scaled obs -> hidden -> GELU -> dropout -> item-space vector."""

    def __init__(self, obs_dim: int, out_dim: int, hidden: int, dropout: float):
        super().__init__()
        emb = obs_dim - NUM_SCALARS
        scale = torch.ones(obs_dim)
        scale[:emb] = math.sqrt(emb / 3)
        self.register_buffer("obs_scale", scale, persistent=False)
        self.net = nn.Sequential(nn.Linear(obs_dim, hidden), nn.GELU(), nn.Dropout(dropout), nn.Linear(hidden, out_dim))

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        return self.net(obs * self.obs_scale)


class TwoTowerClickModel(nn.Module):
    """P(click | observation, item): ``sigmoid(<user_tower(obs), item_tower(text)> + bias)``.

    Args:
        obs_dim: size of the observation (``3 * dim + 3`` for AdvRec-v0; the last 3 are scalars).
        texts: the catalogue's item texts, tokenised once (``items`` index into them).
        encoder: a :class:`~advrec_gym.TransformerEncoder` (its model is copied, not changed), a
            model path / hub id, or ``None`` for the shipped all-MiniLM-L6-v2.
        max_length: tokens kept per item text.
        hidden: width of the user tower.
        dropout: dropout of the user tower and of every dropout layer in the transformer.
        freeze: freezing strategy (see :mod:`agents.supervised.freezing`).
        freeze_layers: ``k`` of ``bottom-k`` / ``top-only``.
        seed: seeds the user tower's initialisation (global torch RNG untouched).
        device: ``"auto"`` (cuda when present), ``"cpu"``, ``"cuda"``, ...
    """

    def __init__(
        self,
        obs_dim: int,
        texts: Sequence[str],
        *,
        encoder: TransformerEncoder | str | os.PathLike | None = None,
        max_length: int = 32,
        hidden: int = 256,
        dropout: float = 0.1,
        freeze: str = "top-only",
        freeze_layers: int = 2,
        seed: int = 0,
        device: str = "auto",
    ):
        super().__init__()
        obs_dim = check_int("obs_dim", obs_dim, low=NUM_SCALARS + 3)
        if (obs_dim - NUM_SCALARS) % 3:
            raise ValueError(f"obs_dim must be 3 * dim + {NUM_SCALARS} (AdvRec-v0's layout), got obs_dim={obs_dim}.")
        max_length = check_int("max_length", max_length, low=2)
        hidden = check_int("hidden", hidden, low=1)
        dropout = check_float("dropout", dropout, low=0.0, high=1.0, high_open=True)
        if not isinstance(encoder, TransformerEncoder):
            encoder = TransformerEncoder(encoder, max_length=max_length)
        self.encoder_identity = tower_identity(encoder, max_length)
        self.config = {
            "obs_dim": obs_dim,
            # None stands for the shipped default, wherever it is installed
            "encoder": None if encoder.model_name == DEFAULT_MODEL_NAME else encoder.model_ref,
            "pooling": encoder.pooling,
            "max_length": max_length,
            "hidden": hidden,
            "dropout": dropout,
            "freeze": freeze,
            "freeze_layers": freeze_layers,
            "seed": seed,
        }
        self.embedding_slice = slice(0, obs_dim - NUM_SCALARS)
        self.item_tower = ItemTower(encoder, max_length)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(check_int("seed", seed))
            self.user_tower = UserTower(obs_dim, self.item_tower.dim, hidden, dropout)
        for module in self.item_tower.transformer.modules():
            if isinstance(module, nn.Dropout):
                module.p = dropout
        self.bias = nn.Parameter(torch.zeros(()))
        self.freeze_report: FreezeReport = apply_freeze(self.item_tower.transformer, freeze, freeze_layers)
        self.set_catalogue(texts)
        self.to(resolve_device(device))

    @classmethod
    def for_catalogue(cls, catalogue, **kwargs) -> TwoTowerClickModel:
        """A model over ``catalogue``'s texts and AdvRec-v0's observation for its embedding size."""
        return cls(3 * catalogue.dim + NUM_SCALARS, catalogue.texts, **kwargs)

    @property
    def device(self) -> torch.device:
        return self.bias.device

    @property
    def obs_dim(self) -> int:
        return int(self.config["obs_dim"])

    @property
    def num_items(self) -> int:
        return int(self.item_ids.shape[0])

    def set_catalogue(self, texts: Sequence[str]) -> None:
        """Tokenise a catalogue's texts; ``items`` passed to the model index into them."""
        texts = list(texts)
        if not texts:
            raise ValueError("texts must hold at least one item text, got none.")
        ids, mask = self.item_tower.tokenize(texts)
        self.texts = tuple(texts)
        self._frozen_vectors = None
        device = self.bias.device if hasattr(self, "bias") else None
        self.register_buffer("item_ids", ids.to(device), persistent=False)
        self.register_buffer("item_mask", mask.to(device), persistent=False)

    # ------------------------------------------------------------------ pieces (used by the attacks)
    def item_batch(self, items: torch.Tensor) -> ItemBatch:
        """Distinct items of ``items`` (B,), tokenised and trimmed to their longest text."""
        uniq, inverse = torch.unique(items, return_inverse=True)
        mask = self.item_mask[uniq]
        length = int(mask.sum(1).max())
        return ItemBatch(uniq, self.item_ids[uniq, :length], mask[:, :length], inverse)

    def item_vectors(self, batch: ItemBatch, token_delta: torch.Tensor | None = None) -> torch.Tensor:
        """Unit vectors (U, dim) of the batch's items; ``token_delta`` (U, L, hidden) is added to
        their input embeddings (the item-side attack surface). Without a ``token_delta`` a frozen
        tower's vectors come from :meth:`frozen_item_vectors` (the tower is not run again)."""
        if token_delta is None and self.item_tower_frozen:
            return self.frozen_item_vectors()[batch.items]
        embeds = self.item_tower.embed(batch.ids)
        if token_delta is not None:
            embeds = embeds + token_delta
        return self.item_tower(embeds, batch.mask)

    def user_vectors(self, obs: torch.Tensor, obs_delta: torch.Tensor | None = None) -> torch.Tensor:
        """User vectors (B, dim); ``obs_delta`` (B, 3 * dim) is added to the embedding part of ``obs``."""
        if obs_delta is not None:
            obs = torch.cat([obs[:, self.embedding_slice] + obs_delta, obs[:, self.embedding_slice.stop :]], dim=1)
        return self.user_tower(obs)

    def logits_from(self, users: torch.Tensor, items: torch.Tensor, inverse: torch.Tensor) -> torch.Tensor:
        """Click logits (B,) from user vectors (B, dim), item vectors (U, dim) and the example -> item map."""
        return (users * items[inverse]).sum(-1) + self.bias

    def forward(self, obs: torch.Tensor, items: torch.Tensor) -> torch.Tensor:
        """Click logits (B,) for observations (B, obs_dim) and catalogue rows ``items`` (B,).

        With the whole transformer frozen (``freeze="encoder"``) the item vectors are those of
        :meth:`frozen_item_vectors`, encoded once, not on every batch.
        """
        if self.item_tower_frozen:
            return (self.user_vectors(obs) * self.frozen_item_vectors()[items]).sum(-1) + self.bias
        self._frozen_vectors = None  # the tower trains: a kept copy would go stale
        batch = self.item_batch(items)
        return self.logits_from(self.user_vectors(obs), self.item_vectors(batch), batch.inverse)

    @property
    def item_tower_frozen(self) -> bool:
        """Whether no parameter of the item tower trains (its outputs are then fixed features)."""
        return not any(p.requires_grad for p in self.item_tower.parameters())

    def frozen_item_vectors(self) -> torch.Tensor:
        """The catalogue's item vectors (num_items, dim) from the frozen tower, computed once and kept.

        Encoded in eval mode (the frozen transformer's dropout off: fixed features), without a graph.
        The copy is dropped when the catalogue or the weights change (:meth:`set_catalogue`,
        :meth:`load_state_dict`), when the tower is unfrozen, and recomputed on another device.
        """
        cached = getattr(self, "_frozen_vectors", None)
        if cached is None or cached.device != self.device:
            cached = self.catalogue_vectors()
            self._frozen_vectors = cached
        return cached

    def load_state_dict(self, state_dict, strict: bool = True, assign: bool = False):
        self._frozen_vectors = None
        return super().load_state_dict(state_dict, strict=strict, assign=assign)

    @torch.no_grad()
    def catalogue_vectors(self, batch_size: int = 64) -> torch.Tensor:
        """Item vectors (num_items, dim) of the whole catalogue, in eval mode (no dropout)."""
        was_training = self.training
        self.eval()
        out = []
        for start in range(0, self.num_items, batch_size):
            rows = torch.arange(start, min(start + batch_size, self.num_items), device=self.device)
            batch = self.item_batch(rows)
            out.append(self.item_tower(self.item_tower.embed(batch.ids), batch.mask)[batch.inverse])
        self.train(was_training)
        return torch.cat(out)

    def trainable_parameters(self) -> tuple[list[nn.Parameter], list[nn.Parameter]]:
        """(transformer parameters that train, all other parameters): two optimiser groups."""
        encoder = [p for p in self.item_tower.parameters() if p.requires_grad]
        others = list(self.user_tower.parameters()) + [self.bias]
        return encoder, others
