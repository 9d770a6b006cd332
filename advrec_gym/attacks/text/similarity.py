"""The semantic constraint's measure: chrF, the character n-gram F-score (Popovic, 2015).

Why chrF and not the encoder's own cosine: the constraint must be **independent** of the model under
attack, or the attacker would simply optimise against the check (a rewrite that the attacked encoder
maps far away but calls "similar" is exactly what we want to rule out, and vice versa). chrF looks
only at surface characters, needs no model, is deterministic and cheap, and is the standard
surface-similarity measure of machine translation (WMT metrics tasks); a word substitution costs
about one word's share of character n-grams, so a threshold reads as "how much of the text may
change".

Definition (sacreBLEU's defaults: n = 1..6, beta = 2, whitespace removed): for each order n, the
n-gram precision and recall of the edited text against the original (clipped counts); both are
averaged over the orders that occur, and ``chrF = (1 + b^2) P R / (b^2 P + R)``, in [0, 1] (sacreBLEU
reports 100 times this). Identical texts score 1.
"""

from __future__ import annotations

from collections import Counter

CHRF_ORDER = 6
CHRF_BETA = 2.0


def _ngrams(text: str, n: int) -> Counter:
    return Counter(text[i : i + n] for i in range(len(text) - n + 1))


def chrf(original: str, edited: str, order: int = CHRF_ORDER, beta: float = CHRF_BETA) -> float:
    """chrF of ``edited`` against ``original`` (see the module docstring), in [0, 1]."""
    ref, hyp = "".join(original.split()), "".join(edited.split())
    if ref == hyp:
        return 1.0
    precisions, recalls = [], []
    for n in range(1, order + 1):
        r, h = _ngrams(ref, n), _ngrams(hyp, n)
        if not r or not h:
            continue
        overlap = sum((r & h).values())
        precisions.append(overlap / sum(h.values()))
        recalls.append(overlap / sum(r.values()))
    if not precisions:
        return 0.0
    p, rc = sum(precisions) / len(precisions), sum(recalls) / len(recalls)
    if p == 0.0 and rc == 0.0:
        return 0.0
    b2 = beta * beta
    return (1 + b2) * p * rc / (b2 * p + rc)
