"""Realisable item-text attacks: a content provider rewrites its own items' texts to be promoted.

The second threat model of AdvRec (docs/text_attacks.md), next to the observation eps-ball: the
attacker controls a budgeted set of items and edits each text within a word-edit budget, a shipped
vocabulary and a chrF similarity floor (:class:`TextBudget`); the language model re-encodes the
edited rows only; the simulated users' utility for an item does not change with its text (quality,
appeal, ``user_embeddings`` are fixed), what the recommender sees does.

Attacks: :class:`GreedyWordSearch` (black-box, queries the recommender's scores) and
:class:`HotFlipSearch` (white-box, through the encoder's token embeddings). :func:`text_attack_cell`
runs one as a leaderboard cell; :mod:`.shift` states an edit in the eps-ball's units.
"""

from advrec_gym.attacks.text.base import TargetResult, TextAttack, TextAttackResult
from advrec_gym.attacks.text.budget import EditCheck, TextBudget
from advrec_gym.attacks.text.cell import (
    TEXT_ATTACKS,
    make_text_attack,
    probe_observations,
    swapped_catalogue,
    text_attack_cell,
)
from advrec_gym.attacks.text.edits import Edit, word_edit_distance
from advrec_gym.attacks.text.encoding import CandidateEncoder, EncoderView
from advrec_gym.attacks.text.greedy import GreedyWordSearch
from advrec_gym.attacks.text.hotflip import HotFlipSearch
from advrec_gym.attacks.text.objective import PromotionObjective
from advrec_gym.attacks.text.similarity import chrf
from advrec_gym.attacks.text.victim import LinearItemScorer, policy_scorer
from advrec_gym.attacks.text.vocabulary import default_vocabulary

__all__ = [
    "TEXT_ATTACKS",
    "CandidateEncoder",
    "Edit",
    "EditCheck",
    "EncoderView",
    "GreedyWordSearch",
    "HotFlipSearch",
    "LinearItemScorer",
    "PromotionObjective",
    "TargetResult",
    "TextAttack",
    "TextAttackResult",
    "TextBudget",
    "chrf",
    "default_vocabulary",
    "make_text_attack",
    "policy_scorer",
    "probe_observations",
    "swapped_catalogue",
    "text_attack_cell",
    "word_edit_distance",
]
