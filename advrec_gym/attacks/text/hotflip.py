"""White-box HotFlip-style search (Ebrahimi et al. 2018) through the encoder's token embeddings.

Each round takes one gradient of the target's promotion mass with respect to the input token
embeddings of its current text (through the transformer, its pooling and normalisation, and the
recommender's query vectors: :meth:`~.objective.PromotionObjective.torch_target_mass`), and ranks
every word edit by its first-order gain, as HotFlip ranks character flips:

* substituting word ``j`` (first token at position ``a``) by a synonym whose first token is ``v``:
  ``(E[v] - E[x_a]) . g_a``;
* adding an insertable word as a tag (right after the last word, at position ``a``), or before word
  ``j`` when the budget allows insertions anywhere: ``E[v] . g_a``, the gain of adding ``E[v]`` at that
  position to first order.

The ``candidates`` best-ranked edits are then re-encoded and scored exactly (the first-order ranking
only proposes; nothing is kept on its word), and the best admissible one is applied
(:class:`~.base.TextAttack`). The gradient never touches the encoder's parameters (it is taken with
``torch.autograd.grad`` with respect to the input embeddings only, in eval mode).
"""

from __future__ import annotations

import numpy as np
import torch

from advrec_gym._validation import check_int
from advrec_gym.attacks.text.base import TextAttack
from advrec_gym.attacks.text.budget import TextBudget
from advrec_gym.attacks.text.edits import Edit


class HotFlipSearch(TextAttack):
    """The white-box attack.

    Args:
        budget: the threat model's budget.
        candidates: edits re-encoded per target and round.
        seed: seeds the order of equally ranked edits.
    """

    name = "hotflip"
    white_box = True

    def __init__(self, budget: TextBudget, *, candidates: int = 16, seed: int = 0):
        super().__init__(budget, seed)
        self.candidates = self.limit = check_int("candidates", candidates, low=1)

    def run(self, texts, objective, encoder):
        from advrec_gym.attacks.text.encoding import EncoderView

        if not isinstance(encoder.view, EncoderView):
            raise TypeError(
                "hotflip is a white-box attack: it needs the encoder's tokens (a TransformerEncoder or an item tower), "
                f"got a black-box encoder ({type(encoder.view.source).__name__}); use the 'greedy' attack instead."
            )
        return super().run(texts, objective, encoder)

    def _first_token(self, view, word: str) -> int | None:
        ids = view.tokenizer(word, add_special_tokens=False)["input_ids"]
        return ids[0] if ids else None

    def propose(self, row, toks, origin, done, objective, encoder):
        view, budget = encoder.view, self.budget
        enc = view.tokenizer(
            toks, is_split_into_words=True, truncation=True, max_length=view.max_length, return_tensors="pt"
        )
        word_ids = enc.word_ids(0)
        ids, mask = enc["input_ids"].to(view.device), enc["attention_mask"].to(view.device)
        was_training = view.transformer.training
        view.transformer.eval()
        try:
            with torch.enable_grad():
                embeds = view.embed_tokens(ids).detach().requires_grad_(True)
                e = view.forward_embeds(embeds, mask)[0]
                (grad,) = torch.autograd.grad(objective.torch_target_mass(row, e), embeds)
        finally:
            view.transformer.train(was_training)
        g = grad[0].double()  # (L, hidden)
        table = view.embed_tokens(ids[0]).detach().double()

        def gain(word: str, pos: int, replaced: bool) -> float:
            tok = self._first_token(view, word)
            if tok is None:
                return -np.inf
            v = view.embed_tokens(torch.tensor([tok], device=view.device))[0].detach().double()
            return float(((v - table[pos]) if replaced else v) @ g[pos])

        start = {}  # word index -> its first token position
        for pos, w in enumerate(word_ids):
            if w is not None and w not in start:
                start[w] = pos
        last = max(p for p, w in enumerate(word_ids) if w is not None)  # the final token: a tag goes before it
        scored = []
        vocab = budget.vocabulary if budget.insert_at != "nowhere" else ()
        for j in range(len(toks)):
            if j not in start:  # truncated away
                continue
            if "sub" in budget.operations and j not in done:
                scored += [(gain(w, start[j], True), Edit("sub", j, w)) for w in budget.substitutes(toks[j])]
            if "ins" in budget.operations:
                scored += [(gain(w, start[j], False), Edit("ins", j, w)) for w in vocab]
        if "tag" in budget.operations:
            scored += [(gain(w, last, False), Edit("tag", len(toks), w)) for w in vocab]
        order = np.random.default_rng([self.seed, row, len(done)]).permutation(len(scored))
        scored = [scored[i] for i in order]
        scored.sort(key=lambda s: -s[0])  # stable: ties keep the seeded order
        # propose more than ``candidates`` so that edits the budget rejects leave room for others
        return [edit for _, edit in scored[: 4 * self.candidates]]
