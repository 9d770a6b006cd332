"""Black-box greedy word-importance search (after TextFooler, Jin et al. 2020), for promotion.

Only the recommender's scores are queried (:meth:`~.victim.LinearItemScorer.scores`) and every
candidate is re-encoded by the language model. Before the first round, two cheap probes per target:

* **word importance**: the text with each substitutable word (one the synonym table lists) deleted
  in turn; the words whose deletion raises the target's promotion mass most are what holds it back
  (TextFooler's deletion importance), and are substituted first;
* **word usefulness**: each insertable word added to the text (as a tag, or at the end); the words
  that raise the mass most are what pulls the recommender.

Each round proposes every synonym of the ``positions`` most important unedited words and the
``words`` most useful insertions (as tags; also before the important words when the budget allows
insertions anywhere); the best admissible candidate is kept (:class:`~.base.TextAttack`). The probes
are memoised like every encoding, so attacking a second recommender over the same catalogue
re-encodes none of them.
"""

from __future__ import annotations

import numpy as np

from advrec_gym._validation import check_int
from advrec_gym.attacks.text.base import TextAttack
from advrec_gym.attacks.text.budget import TextBudget
from advrec_gym.attacks.text.edits import Edit


class GreedyWordSearch(TextAttack):
    """The black-box attack.

    Args:
        budget: the threat model's budget.
        positions: important positions tried per round.
        words: useful insertions tried per round.
        seed: seeds the order in which equally useful words are tried.
    """

    name = "greedy"
    white_box = False

    def __init__(self, budget: TextBudget, *, positions: int = 4, words: int = 8, seed: int = 0):
        super().__init__(budget, seed)
        self.positions = check_int("positions", positions, low=1)
        self.words = check_int("words", words, low=1)
        self._ranked: dict[int, tuple[list[int], list[str]]] = {}

    def _probe(self, row, toks, objective, encoder):
        """(substitutable original positions by importance, insertable words by usefulness)."""
        if row not in self._ranked:
            vocab = list(self.budget.vocabulary) if self.budget.insert_at != "nowhere" else []
            order = np.random.default_rng([self.seed, row]).permutation(len(vocab))
            vocab = [vocab[i] for i in order]
            subs = (
                [j for j, tok in enumerate(toks) if self.budget.substitutes(tok)]
                if "sub" in self.budget.operations
                else []
            )
            op = "tag" if "tag" in self.budget.operations else "ins"
            deleted = [" ".join(toks[:j] + toks[j + 1 :]) for j in subs]
            added = [" ".join(Edit(op, len(toks), w).apply(toks)) for w in vocab]
            gain = objective.target_mass(row, encoder.encode(deleted + added)) if deleted or added else np.zeros(0)
            importance = [subs[i] for i in np.argsort(-gain[: len(subs)], kind="stable")]
            useful = [vocab[i] for i in np.argsort(-gain[len(subs) :], kind="stable")]
            self._ranked[row] = (importance, useful)
        return self._ranked[row]

    def run(self, texts, objective, encoder):
        self._ranked = {}
        return super().run(texts, objective, encoder)

    def propose(self, row, toks, origin, done, objective, encoder):
        importance, useful = self._probe(row, toks, objective, encoder)  # probed once, on the original text
        where = {o: q for q, o in enumerate(origin) if o >= 0}  # original index -> current position
        positions = [where[p] for p in importance if where[p] not in done][: self.positions]
        words = useful[: self.words]
        edits = [Edit("tag", len(toks), w) for w in words]
        for p in positions:
            edits += [Edit("sub", p, w) for w in self.budget.substitutes(toks[p])]
            if "ins" in self.budget.operations:
                edits += [Edit("ins", p, w) for w in words]
        return edits
