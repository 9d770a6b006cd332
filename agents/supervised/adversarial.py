"""Adversarial examples for the click model: FGSM and PGD-K on both of its inputs.

* **Item side** (Miyato et al. 2017, "Adversarial Training Methods for Semi-Supervised Text
  Classification"): a perturbation ``r`` of the item text's input token embeddings,
  ``r = eps * g / ||g||_2`` with ``g`` the gradient of the loss and the norm over the whole token
  sequence. Miyato et al. normalise the embeddings first; we keep the pretrained ones and state
  ``token_eps`` in units of the word-embedding matrix's standard deviation (``||r||_2 <= token_eps *
  std``). As in APR (He et al. 2018, adversarial perturbations on item embeddings), one perturbation
  per distinct item of a batch maximises the loss summed over the examples that show it.
* **User side**: a perturbation of the embedding part of the observation, per example, inside an
  :class:`advrec_gym.attacks.Budget` (L-inf or L2, raw observation units): the env's threat model.

FGSM is one step of size ``eps`` from zero (L-inf: ``eps * sign(g)``; L2: ``eps * g / ||g||``).
PGD-K takes ``steps`` such steps of size ``step_size`` (default ``2.5 * eps / steps``, Madry et al.
2018), projecting into the ball after each, from zero or a random start. Attacks run in eval mode
(no dropout) and never change the model's parameters; ``eps = 0`` gives exactly zero perturbations.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from advrec_gym._validation import check_choice, check_float, check_int
from advrec_gym.attacks.budget import Budget
from agents.supervised.model import ItemBatch, TwoTowerClickModel

ATTACKS = ("fgsm", "pgd")


@dataclass(frozen=True)
class AdversarialConfig:
    """Adversarial examples mixed into training.

    Attributes:
        rho: share of each batch replaced by its adversarial version, in [0, 1]. The original design
            keeps it at most 0.2 so that the data distribution does not shift; 1.0 is Madry-style.
        attack: ``"fgsm"`` or ``"pgd"``.
        steps: PGD iterations (ignored by FGSM).
        obs_eps: user-side budget (raw observation units); 0 turns the user side off.
        obs_norm: ``"inf"`` or ``"2"``.
        token_eps: item-side L2 budget per item text, in units of the word embeddings' std; 0 turns
            the item side off.
        random_start: start PGD from a random point of the ball.
    """

    rho: float = 0.2
    attack: str = "fgsm"
    steps: int = 3
    obs_eps: float = 0.002
    obs_norm: str = "inf"
    token_eps: float = 0.5
    random_start: bool = False

    def __post_init__(self):
        if isinstance(self.rho, (int, float)) and not isinstance(self.rho, bool) and not 0.0 <= self.rho <= 1.0:
            raise ValueError(
                f"rho must be in [0, 1] (the share of each batch replaced by adversarial examples), got rho={self.rho}."
            )
        check_float("rho", self.rho, low=0.0, high=1.0)
        check_choice("attack", self.attack, ATTACKS)
        check_int("steps", self.steps, low=1)
        check_float("token_eps", self.token_eps, low=0.0)
        Budget(self.obs_eps, self.obs_norm)  # validates obs_eps and obs_norm

    @property
    def obs_budget(self) -> Budget:
        return Budget(self.obs_eps, self.obs_norm)

    def num_adversarial(self, batch_size: int) -> int:
        """How many examples of a batch of ``batch_size`` are replaced by adversarial ones."""
        return int(round(self.rho * batch_size))


@dataclass(frozen=True)
class Perturbation:
    """An attack's result: ``obs_delta`` (B, 3 * dim) or None, ``token_delta`` (U, L, hidden) or None,
    and the ``items`` batch the token perturbation belongs to."""

    obs_delta: torch.Tensor | None
    token_delta: torch.Tensor | None
    items: ItemBatch


def perturb(
    model: TwoTowerClickModel,
    obs: torch.Tensor,
    items: torch.Tensor,
    clicks: torch.Tensor,
    *,
    attack: str = "fgsm",
    steps: int = 3,
    obs_budget: Budget | None = None,
    token_eps: float | None = None,
    step_size: float | None = None,
    random_start: bool = False,
    generator: torch.Generator | None = None,
    item_vectors: torch.Tensor | None = None,
) -> Perturbation:
    """Perturbations that raise the binary cross-entropy of ``clicks`` (B,) on ``(obs, items)``.

    Args:
        model: the click model (left in the training mode it had; its parameters never change).
        obs: observations (B, obs_dim).
        items: catalogue rows (B,).
        clicks: labels (B,), 0 or 1.
        attack: ``"fgsm"`` or ``"pgd"``.
        steps: PGD iterations.
        obs_budget: user-side ball; ``None`` leaves the observation alone.
        token_eps: item-side L2 radius per item text in units of the word embeddings' std; ``None``
            leaves the item texts alone.
        step_size: PGD step as a fraction of each side's eps (default ``2.5 / steps``).
        random_start: PGD starts at a uniform point of each ball (drawn with ``generator``).
        generator: torch generator for the random start.
        item_vectors: (num_items, dim) eval-mode vectors of the whole catalogue, used when the item
            side is not attacked (an evaluation computes them once for all its batches); default:
            the model's own (:meth:`~agents.supervised.model.TwoTowerClickModel.item_vectors`).
    """
    attack = check_choice("attack", attack, ATTACKS)
    steps = 1 if attack == "fgsm" else check_int("steps", steps, low=1)
    rel_step = (
        1.0
        if attack == "fgsm"
        else (2.5 / steps if step_size is None else check_float("step_size", step_size, low=0.0))
    )
    use_obs, use_tok = obs_budget is not None, token_eps is not None
    if not (use_obs or use_tok):
        raise ValueError("perturb needs obs_budget or token_eps (or both): nothing to attack.")
    batch = model.item_batch(items)
    if use_tok:
        token_eps = check_float("token_eps", token_eps, low=0.0)
        token_budget = Budget(token_eps * model.item_tower.embedding_scale, "2")
    was_training = model.training
    model.eval()
    try:
        with torch.enable_grad():
            embeds = model.item_tower.embed(batch.ids).detach()
            d_obs = torch.zeros(obs.shape[0], model.embedding_slice.stop, device=obs.device) if use_obs else None
            d_tok = torch.zeros_like(embeds) if use_tok else None
            if attack == "pgd" and random_start:
                d_obs = _random_start(d_obs, obs_budget, generator) if use_obs else None
                if use_tok:
                    flat = _random_start(d_tok.flatten(1), token_budget, generator)
                    d_tok = flat.view_as(d_tok) * batch.mask[..., None]
            fixed_items = None
            if not use_tok:
                with torch.no_grad():
                    fixed_items = item_vectors[batch.items] if item_vectors is not None else model.item_vectors(batch)
            for _ in range(steps):
                wrt = [d for d in (d_obs, d_tok) if d is not None]
                for d in wrt:
                    d.requires_grad_(True)
                items_vec = fixed_items if d_tok is None else model.item_tower(embeds + d_tok, batch.mask)
                logits = model.logits_from(model.user_vectors(obs, d_obs), items_vec, batch.inverse)
                loss = nn.functional.binary_cross_entropy_with_logits(logits, clicks, reduction="sum")
                grads = iter(torch.autograd.grad(loss, wrt))
                if d_obs is not None:
                    d_obs = _step(d_obs.detach(), next(grads), obs_budget, rel_step)
                if d_tok is not None:
                    g = next(grads) * batch.mask[..., None]
                    d_tok = _step(d_tok.detach().flatten(1), g.flatten(1), token_budget, rel_step).view_as(embeds)
    finally:
        model.train(was_training)
    return Perturbation(None if d_obs is None else d_obs.detach(), None if d_tok is None else d_tok.detach(), batch)


def _step(delta: torch.Tensor, grad: torch.Tensor, budget: Budget, rel_step: float) -> torch.Tensor:
    """One ascent step of size ``rel_step * eps`` in the budget's norm, then projection (rows)."""
    alpha = rel_step * budget.eps
    if budget.norm == "inf":
        direction = grad.sign()
    else:
        direction = grad / grad.norm(dim=-1, keepdim=True).clamp(min=1e-12)
    return budget.project(delta + alpha * direction)


def _random_start(delta: torch.Tensor, budget: Budget, generator: torch.Generator | None) -> torch.Tensor:
    """A uniform point of the ball (L-inf: uniform box; L2: uniform direction, radius eps * U^(1/d))."""
    shape, device = delta.shape, delta.device
    if budget.norm == "inf":
        u = torch.rand(shape, generator=generator, device=device)
        return (2 * u - 1) * budget.eps
    z = torch.randn(shape, generator=generator, device=device)
    z = z / z.norm(dim=-1, keepdim=True).clamp(min=1e-12)
    r = torch.rand(shape[0], 1, generator=generator, device=device) ** (1.0 / shape[1])
    return z * r * budget.eps


def perturb_with(
    model: TwoTowerClickModel, obs, items, clicks, config: AdversarialConfig, generator=None
) -> Perturbation:
    """:func:`perturb` with an :class:`AdversarialConfig`: a side is attacked when its eps is > 0.

    With both eps at 0 both sides are attacked with radius zero, so the perturbations are exactly
    zero and the adversarial examples equal the clean ones (eps = 0 is clean training).
    """
    both_zero = config.obs_eps == 0 and config.token_eps == 0
    return perturb(
        model,
        obs,
        items,
        clicks,
        attack=config.attack,
        steps=config.steps,
        obs_budget=config.obs_budget if config.obs_eps > 0 or both_zero else None,
        token_eps=config.token_eps if config.token_eps > 0 or both_zero else None,
        random_start=config.random_start,
        generator=generator,
    )
