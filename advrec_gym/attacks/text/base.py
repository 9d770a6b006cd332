"""The search loop every text attack shares: propose edits, keep the admissible ones, encode, keep the best.

Each target item is rewritten greedily, one word edit per round, for at most ``budget.max_edits``
rounds: a subclass proposes candidate edits of the target's current text (:meth:`TextAttack.propose`);
every candidate is checked against the budget (:meth:`~.budget.TextBudget.check`: edit count,
vocabulary, chrF against the *original* text) and against every other item's text (a collision is
skipped and counted, never applied); the admissible ones of all targets are encoded in one batch by
the :class:`~.encoding.CandidateEncoder` (only new texts reach the encoder); the best candidate of a
target is kept if it raises the target's promotion mass (:class:`~.objective.PromotionObjective`),
else the target stops. Candidates are tried in a fixed order (ties go to the first), so a run is a
deterministic function of its inputs and seed.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from advrec_gym.attacks.text.budget import TextBudget
from advrec_gym.attacks.text.edits import Edit, core, tokens
from advrec_gym.attacks.text.encoding import CandidateEncoder
from advrec_gym.attacks.text.objective import PromotionObjective


@dataclass
class TargetResult:
    """One attacked item: its texts, edits, and the promotion mass before and after."""

    row: int
    original: str
    edited: str
    edits: list[str] = field(default_factory=list)
    mass_before: float = 0.0
    mass_after: float = 0.0
    similarity: float = 1.0


@dataclass
class TextAttackResult:
    """A text attack's rewrites (``texts``: row -> edited text, changed rows only) and its costs."""

    targets: list[TargetResult]
    candidates: int = 0
    collisions: int = 0
    inadmissible: int = 0
    wall_seconds: float = 0.0
    encoder: dict = field(default_factory=dict)
    queries: int = 0

    @property
    def texts(self) -> dict[int, str]:
        return {t.row: t.edited for t in self.targets if t.edited != t.original}

    def stats(self) -> dict:
        return {
            "targets": len(self.targets),
            "edited": len(self.texts),
            "candidates": self.candidates,
            "collisions_skipped": self.collisions,
            "inadmissible_skipped": self.inadmissible,
            "victim_queries": self.queries,
            "wall_seconds": self.wall_seconds,
            **self.encoder,
            "per_target": [t.__dict__ for t in self.targets],
        }


class TextAttack:
    """Base class of the greedy text attacks (see the module docstring).

    Args:
        budget: the threat model's budget.
        seed: seeds the candidate order.
    """

    name = "text"
    white_box = False
    #: most admissible candidates encoded per target and round (None: all proposed)
    limit: int | None = None

    def __init__(self, budget: TextBudget, seed: int = 0):
        if not isinstance(budget, TextBudget):
            raise TypeError(f"budget must be an advrec_gym.attacks.text.TextBudget, got {type(budget).__name__}.")
        self.budget, self.seed = budget, int(seed)

    def propose(
        self, row: int, toks: list[str], origin: list[int], done: set[int], objective: PromotionObjective, encoder
    ) -> list[Edit]:
        """Candidate edits of a target's current tokens.

        ``origin[q]`` is the original index of current token ``q`` (-1 for an inserted word);
        ``done`` holds the current positions already edited (substituted or inserted).
        """
        raise NotImplementedError

    def allowed(self, edit: Edit, toks: list[str], done: set[int]) -> bool:
        """Whether the budget allows ``edit`` here: its kind, an unedited position, no word added twice."""
        if edit.op not in self.budget.operations:
            return False
        if edit.op == "sub":
            return edit.position < len(toks) and edit.position not in done
        return edit.word.lower() not in {core(t).lower() for t in toks}  # a tag the text already has adds nothing

    def run(self, texts: tuple[str, ...], objective: PromotionObjective, encoder: CandidateEncoder) -> TextAttackResult:
        """Rewrite the objective's targets among ``texts`` (the catalogue's, in row order)."""
        start = time.perf_counter()
        queries0, enc0 = objective.scorer.queries, encoder.stats()
        targets = [int(t) for t in objective.targets]
        originals = {t: texts[t] for t in targets}
        current = dict(originals)
        toks = {t: tokens(texts[t]) for t in targets}
        origin = {t: list(range(len(toks[t]))) for t in targets}
        subbed: dict[int, set[int]] = {t: set() for t in targets}
        base = encoder.encode([originals[t] for t in targets])
        mass = {t: float(objective.target_mass(t, base[i : i + 1])[0]) for i, t in enumerate(targets)}
        results = {
            t: TargetResult(t, originals[t], originals[t], mass_before=mass[t], mass_after=mass[t]) for t in targets
        }
        owners = {text: i for i, text in enumerate(texts)}
        active, out = list(targets), TextAttackResult(list(results.values()))
        for _ in range(self.budget.max_edits):
            batch: dict[int, list[tuple[Edit, list[str], str]]] = {}
            taken = {current[t] for t in targets}
            for t in active:
                seen: set[str] = set()
                done = {q for q, o in enumerate(origin[t]) if o < 0 or o in subbed[t]}
                for edit in self.propose(t, toks[t], origin[t], done, objective, encoder):
                    if not self.allowed(edit, toks[t], done):
                        continue
                    new_toks = edit.apply(toks[t])
                    text = " ".join(new_toks)
                    if text in seen or text == current[t]:
                        continue
                    seen.add(text)
                    out.candidates += 1
                    if (owners.get(text, t) != t) or (text in taken and text != current[t]):
                        out.collisions += 1
                        continue
                    if not self.budget.check(originals[t], text).admissible:
                        out.inadmissible += 1
                        continue
                    batch.setdefault(t, []).append((edit, new_toks, text))
                    if self.limit is not None and len(batch[t]) >= self.limit:
                        break
            if not batch:
                break
            flat = [c[2] for t in batch for c in batch[t]]
            emb = encoder.encode(flat)
            offset, still = 0, []
            for t in active:
                cands = batch.get(t, [])
                if not cands:
                    continue
                gains = objective.target_mass(t, emb[offset : offset + len(cands)])
                offset += len(cands)
                best = int(np.argmax(gains))
                if gains[best] <= mass[t]:
                    continue
                edit, new_toks, text = cands[best]
                if edit.op == "ins":
                    origin[t].insert(edit.position, -1)
                elif edit.op == "tag":
                    origin[t].append(-1)
                else:
                    subbed[t].add(origin[t][edit.position])
                toks[t], current[t], mass[t] = new_toks, text, float(gains[best])
                r = results[t]
                r.edited, r.mass_after = text, mass[t]
                r.edits.append(f"{edit.op} {edit.position} {edit.word}")
                r.similarity = self.budget.check(originals[t], text).similarity
                still.append(t)
            active = still
            if not active:
                break
        out.wall_seconds = time.perf_counter() - start
        enc1 = encoder.stats()
        out.encoder = {k: enc1[k] - enc0[k] for k in ("encoder_calls", "texts_encoded", "encode_seconds")}
        secs = out.encoder["encode_seconds"]
        out.encoder["encodings_per_second"] = out.encoder["texts_encoded"] / secs if secs > 0 else float("nan")
        out.queries = objective.scorer.queries - queries0
        return out
