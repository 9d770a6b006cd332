"""What an observation attack maximises: per-row scores of the victim's output at ``o + d``.

A sampled recommender is scored by the return of the items it *samples*, so the objectives that
matter are about its action distribution, not only its greedy item (all per row, summed over slate
positions ``p``; ``pi`` the victim's distribution, ``pi_0`` the clean one, ``e_j`` item ``j``'s embedding):

* ``"action"``: ``-log pi(a | o + d)`` of the clean action ``a``: the greedy one, or (``action_target=
  "sampled"``) the mean over ``eot_samples`` actions drawn from ``pi_0`` (expectation over
  transformation, Athalye et al. 2018: the attacker does not know which item the victim will sample).
* ``"topk"``: ``-log sum_{j in K} pi(j | o + d)``, ``K`` the clean top-``k`` items: take the probability
  mass off everything the clean policy would likely show.
* ``"semantic"``: ``-<E_pi[e], E_pi0[e] / |E_pi0[e]|>``: move the expected embedding of what the policy
  shows away from the clean one (the user's clicks depend on the shown item's embedding). Its gradient
  is not zero at ``d = 0`` (a cosine's would be).
* ``"kl"``: ``KL(pi_0 || pi)`` (Zhang et al. 2020's MAD objective). Zero with zero gradient at ``d = 0``:
  random starts are needed.
* ``"direction"``: ``<E_pi[e], u>`` for a direction ``u`` per row chosen by someone else (PA-AD's director,
  Sun et al. 2022: the actor realises the director's policy-space direction).
* ``"critic"``: ``-V(o + d)``, the victim critic's value (Zhang et al. 2020).
* ``"target"``: ``log pi(target | o + d)``, averaged over positions: promote one item.

Every objective is evaluated from one forward pass of the victim (``Victim.log_probs`` or ``.values``),
so a best iterate can be kept per row at no extra cost. Expectations over the victim's sampling are
exact (sums over the catalogue) for every objective but ``"action"`` with sampled targets.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from advrec_gym._validation import check_choice, check_int
from advrec_gym.attacks.victim import log_probs, policy_device

OBJECTIVES = ("action", "topk", "semantic", "kl", "direction", "critic", "target")
#: objectives whose gradient vanishes at the clean observation (they need a random start)
FLAT_AT_CLEAN = ("kl",)
#: objectives that need the catalogue's item embeddings
NEEDS_EMBEDDINGS = ("semantic", "direction")
ACTION_TARGETS = ("greedy", "sampled")


class Victim:
    """A torch victim as the objectives see it: log-probabilities, values, item embeddings, one device.

    Args:
        policy: a torch module with SB3's ``get_distribution`` (and ``predict_values`` for ``"critic"``).
        item_embeddings: (num_items, dim) array or tensor, for the objectives that need it.
    """

    def __init__(self, policy: torch.nn.Module | None, item_embeddings: Any = None):
        self.policy = policy  # None: scores only (the query-only attack), never a forward pass here
        self.device = policy_device(policy) if policy is not None else torch.device("cpu")
        self.item_embeddings = None
        if item_embeddings is not None:
            self.item_embeddings = torch.tensor(np.asarray(item_embeddings, dtype=np.float32), device=self.device)

    def log_probs(self, x: torch.Tensor) -> torch.Tensor:
        """(n, positions, num_items) log-probabilities at ``x``."""
        return log_probs(self.policy.get_distribution(x))

    def values(self, x: torch.Tensor) -> torch.Tensor:
        return self.policy.predict_values(x).reshape(-1)

    def expected_embedding(self, logp: torch.Tensor) -> torch.Tensor:
        """(n, positions, dim): the expected embedding of the shown item under ``exp(logp)``."""
        emb = self.item_embeddings
        if emb is None or emb.shape[0] != logp.shape[-1]:
            have = "none" if emb is None else f"{emb.shape[0]} rows"
            raise ValueError(
                f"This objective needs the catalogue's item embeddings, one row per item ({logp.shape[-1]}), "
                f"got {have}: pass item_embeddings=... or bind the attacker to an AdvRec env."
            )
        return logp.exp() @ emb


class Objective:
    """A score to maximise, per row: :meth:`clean` remembers what it needs from the clean pass,
    :meth:`score` evaluates it at perturbed observations (differentiably).

    Args:
        name: one of :data:`OBJECTIVES`.
        k: size of the clean top-k set (``"topk"``).
        action_target: ``"greedy"`` or ``"sampled"`` (``"action"``).
        eot_samples: clean actions drawn per row when ``action_target="sampled"``.
        target: the promoted item (``"target"``).
    """

    def __init__(
        self,
        name: str,
        *,
        k: int = 10,
        action_target: str = "greedy",
        eot_samples: int = 8,
        target: int | None = None,
    ):
        self.name = check_choice("objective", name, OBJECTIVES)
        self.k = check_int("k", k, low=1)
        self.action_target = check_choice("action_target", action_target, ACTION_TARGETS)
        self.eot_samples = check_int("eot_samples", eot_samples, low=1)
        self.target = target

    @property
    def needs(self) -> str:
        """The victim surface it reads: ``"values"`` for the critic, else ``"distribution"``."""
        return "values" if self.name == "critic" else "distribution"

    def __repr__(self) -> str:
        extra = {"topk": f", k={self.k}", "action": f", action_target={self.action_target!r}"}.get(self.name, "")
        return f"Objective({self.name!r}{extra})"

    # ------------------------------------------------------------------ the victim's output
    def forward(self, victim: Victim, xa: torch.Tensor) -> torch.Tensor:
        """What the objective reads at ``xa``: values (n,) for ``"critic"``, else log-probabilities (n, P, N)."""
        return victim.values(xa) if self.name == "critic" else victim.log_probs(xa)

    def clean(
        self,
        out: torch.Tensor,
        victim: Victim,
        rng: np.random.Generator,
        directions: torch.Tensor | None = None,
    ) -> dict[str, Any]:
        """What :meth:`score` needs, from the victim's (detached) output ``out`` at the clean observations.

        ``directions`` (n, positions, dim): the per-row directions of ``"direction"``.
        """
        out = out.detach()
        state: dict[str, Any] = {}
        if self.name == "critic":
            return state
        if self.name == "direction":
            if directions is None:
                raise ValueError("objective='direction' needs directions (n, positions, dim) for each call.")
            state["u"] = directions
            return state
        logp = out
        state["logp"] = logp
        if self.name == "action":
            if self.action_target == "greedy":
                state["actions"] = logp.argmax(dim=2, keepdim=True)  # (n, P, 1)
            else:
                state["actions"] = _sample(logp, self.eot_samples, rng)  # (n, P, S)
        elif self.name == "topk":
            k = max(1, min(self.k, logp.shape[-1] - 1))
            top = logp.topk(k, dim=2).indices
            state["mask"] = torch.zeros_like(logp, dtype=torch.bool).scatter_(2, top, True)
        elif self.name == "semantic":
            mean = victim.expected_embedding(logp)
            state["u"] = mean / mean.norm(dim=2, keepdim=True).clamp(min=1e-12)
        elif self.name == "target":
            state["target"] = torch.full((len(logp), logp.shape[1], 1), int(self.target), device=logp.device)
        return state

    def score(self, out: torch.Tensor, state: dict[str, Any], victim: Victim | None = None) -> torch.Tensor:
        """Per-row score (n,) (to maximise) from the victim's output ``out`` (:meth:`forward`) at ``o + d``."""
        name = self.name
        if name == "critic":
            return -out
        logp = out
        if name == "action":
            return -logp.gather(2, state["actions"]).mean(dim=2).sum(dim=1)
        if name == "topk":
            masked = logp.masked_fill(~state["mask"], -torch.inf)
            return -torch.logsumexp(masked, dim=2).sum(dim=1)
        if name == "kl":
            p0 = state["logp"]
            return (p0.softmax(dim=2) * (p0 - logp)).sum(dim=2).sum(dim=1)  # probabilities as torch computes them
        if name in ("semantic", "direction"):
            sign = -1.0 if name == "semantic" else 1.0
            return sign * (victim.expected_embedding(logp) * state["u"]).sum(dim=(1, 2))
        return logp.gather(2, state["target"]).mean(dim=(1, 2))  # "target"

    def success(self, out: torch.Tensor, state: dict[str, Any]) -> torch.Tensor | None:
        """Per row, whether the attack has succeeded at the output ``out``: ``"action"`` (greedy target): some
        other item now beats the clean greedy item in some position; ``"target"``: the target is a greedy
        item; None for the others (no success criterion)."""
        if self.name == "target":
            logp = out.detach()
            return (logp.gather(2, state["target"])[..., 0] >= logp.amax(dim=2)).any(dim=1)
        if self.name == "action" and self.action_target == "greedy":
            logp = out.detach()
            return (logp.gather(2, state["actions"])[..., 0] < logp.amax(dim=2)).any(dim=1)
        return None

    def evaluate(
        self, victim: Victim, clean: torch.Tensor, perturbed: torch.Tensor, rng: np.random.Generator, **kwargs: Any
    ) -> torch.Tensor:
        """The score (n,) of ``perturbed`` relative to ``clean`` observations (no gradients): for tests and reports."""
        with torch.no_grad():
            state = self.clean(self.forward(victim, clean), victim, rng, **kwargs)
            return self.score(self.forward(victim, perturbed), state, victim)


def _sample(logp: torch.Tensor, samples: int, rng: np.random.Generator) -> torch.Tensor:
    """``samples`` actions per row and position from ``exp(logp)``, drawn with the numpy generator ``rng``."""
    probs = logp.exp().double().cpu().numpy()  # (n, P, N)
    cdf = np.cumsum(probs, axis=2)
    u = rng.random((*probs.shape[:2], samples)) * cdf[..., -1:]
    idx = np.minimum((cdf[:, :, None, :] <= u[..., None]).sum(axis=3), probs.shape[2] - 1)
    return torch.as_tensor(idx, dtype=torch.int64, device=logp.device)
