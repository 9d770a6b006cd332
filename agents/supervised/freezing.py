"""Which parts of the item tower's transformer are fine-tuned.

| strategy | frozen | trains |
|---|---|---|
| ``none`` | nothing | everything (full fine-tuning) |
| ``embeddings`` | the input embeddings (word, position, type, their norm) | all layers |
| ``bottom-k`` | the embeddings and the lowest ``k`` layers | the upper layers |
| ``top-only`` | the embeddings and all but the top ``k`` layers | the top ``k`` layers |
| ``encoder`` | the whole transformer | only the user tower and the score head |

Parameters outside the embeddings and the layer stack (e.g. a final norm) train unless the strategy
is ``encoder``. Frozen parameters get ``requires_grad = False``, so autograd builds no graph below
the lowest trainable layer and a frozen bottom costs only its forward pass.
"""

from __future__ import annotations

from dataclasses import dataclass

from advrec_gym._validation import check_choice, check_int

FREEZE_STRATEGIES = ("none", "embeddings", "bottom-k", "top-only", "encoder")

# Where common Hugging Face architectures keep their stack of blocks (BERT, DistilBERT, GPT-2, Llama, ...).
_LAYER_PATHS = ("encoder.layer", "transformer.layer", "transformer.h", "h", "layers", "model.layers", "encoder.layers")


@dataclass(frozen=True)
class FreezeReport:
    """What :func:`apply_freeze` left trainable, counted in scalar parameters."""

    strategy: str
    layers: int
    frozen: int
    trainable: int

    @property
    def total(self) -> int:
        return self.frozen + self.trainable


def layer_stack(transformer):
    """The transformer's stack of blocks (a ``torch.nn.ModuleList``), bottom first."""
    import torch

    for path in _LAYER_PATHS:
        module = transformer
        for part in path.split("."):
            module = getattr(module, part, None)
        if isinstance(module, torch.nn.ModuleList) and len(module):
            return module
    stacks = [m for m in transformer.modules() if isinstance(m, torch.nn.ModuleList)]
    if not stacks:
        raise ValueError(f"cannot find the layer stack of {type(transformer).__name__} to freeze part of it.")
    return max(stacks, key=len)


def embedding_modules(transformer) -> list:
    """The input-embedding modules: BERT-style ``embeddings`` (word, position, type, norm) or the word
    embedding plus a learned position embedding (``wpe``) where the model has one."""
    module = getattr(transformer, "embeddings", None)
    if module is not None:
        return [module]
    found = [transformer.get_input_embeddings()]
    for name in ("wpe", "embed_positions"):
        extra = getattr(transformer, name, None) or getattr(getattr(transformer, "transformer", None), name, None)
        if extra is not None:
            found.append(extra)
    return found


def apply_freeze(transformer, strategy: str = "none", layers: int = 2) -> FreezeReport:
    """Set ``requires_grad`` on every parameter of ``transformer`` for a freezing strategy.

    Args:
        transformer: a Hugging Face model (the item tower's).
        strategy: one of :data:`FREEZE_STRATEGIES`.
        layers: ``k`` of ``bottom-k`` (layers frozen above the embeddings) and of ``top-only``
            (layers left trainable at the top), in ``[1, number of layers]``.

    Returns:
        A :class:`FreezeReport` with the frozen and trainable parameter counts.
    """
    strategy = check_choice("freeze", strategy, FREEZE_STRATEGIES)
    stack = layer_stack(transformer)
    if strategy in ("bottom-k", "top-only"):
        layers = check_int("freeze_layers", layers, low=1, high=len(stack))
    frozen_modules: list = []
    if strategy == "encoder":
        frozen_modules = [transformer]
    elif strategy != "none":
        frozen_modules = embedding_modules(transformer)
        if strategy == "bottom-k":
            frozen_modules += list(stack[:layers])
        elif strategy == "top-only":
            frozen_modules += list(stack[: len(stack) - layers])
    for p in transformer.parameters():
        p.requires_grad_(True)
    for module in frozen_modules:
        for p in module.parameters():
            p.requires_grad_(False)
    frozen = sum(p.numel() for p in transformer.parameters() if not p.requires_grad)
    trainable = sum(p.numel() for p in transformer.parameters() if p.requires_grad)
    return FreezeReport(strategy, layers, frozen, trainable)
