"""The text track's game defence (benchmarks/text/game.py) on a tiny catalogue: one short round, then the cells.

A bag-of-words encoder stands in for the language model (as in tests/attacks/text), so the victim,
the round and the evaluation take seconds. The checks rest on SB3 being deterministic for a seed:
a model trained by the game's seeds on a given catalogue can be replayed exactly.
"""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pytest
import torch

from advrec_gym import Catalogue, TransformerEncoder
from advrec_gym.attacks.text import CandidateEncoder, PromotionObjective, TextBudget, policy_scorer, probe_observations
from advrec_gym.attacks.text.edits import words
from advrec_gym.quality import ItemKinds
from benchmarks.text import game
from benchmarks.text_track import parse_args

pytestmark = pytest.mark.slow

SETTINGS = game.GameSettings(victim_steps=4096, rounds=1, steps=4096, max_edits=3, hotflip_edits=0, probe_users=64,
                             episodes=20)  # fmt: skip


class BagOfWords(TransformerEncoder):
    """A text is the normalised sum of one fixed random vector per word (seeded by the word's hash)."""

    def __init__(self):  # no model to find or load
        self.pooling, self.max_length, self.model_name, self.model_ref = "mean", 128, "bow", "bow"

    @property
    def identity(self) -> str:
        return "bag-of-words-game-test"

    def encode(self, texts):
        def vec(w):
            return np.random.default_rng(int.from_bytes(hashlib.sha256(w.encode()).digest()[:8], "little")).normal(
                size=16
            )

        out = np.stack([sum(vec(w) for w in words(t)) for t in texts])
        return (out / np.linalg.norm(out, axis=1, keepdims=True)).astype(np.float32)


def params(model) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in model.policy.state_dict().items()}


def same(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


@pytest.fixture(scope="module")
def played(tmp_path_factory):
    """One seed of the game; the models ``seed_game`` loaded (defended, control, undefended) are kept."""
    torch.set_num_threads(1)
    work = tmp_path_factory.mktemp("game")
    bow = BagOfWords()
    cat = Catalogue.synthetic(40, 4, 0, kinds=ItemKinds(), encoder=bow, cache_dir=work)
    targets = TextBudget(share=0.1).select_targets(cat, seed=0)
    load = game.load_victim_fn(cat, SETTINGS.victim_steps, work, log=lambda m: None)
    loaded = []

    def recording_load(seed):
        loaded.append(load(seed))
        return loaded[-1]

    result = game.seed_game(cat, 0, targets, SETTINGS, CandidateEncoder(bow), recording_load, log=lambda m: None)
    return {"cat": cat, "bow": bow, "work": work, "targets": targets, "load": load, "result": result,
            "defended": loaded[0], "control": loaded[1], "undefended": loaded[2]}  # fmt: skip


def test_json_has_the_paired_cells(played):
    run = played["result"]
    json.dumps(run)  # the per-seed cache file is plain JSON
    for model in game.MODELS:
        assert set(run["cells"][model]) == {"clean", "greedy-3"}
        for cell in run["cells"][model].values():
            assert set(game.METRICS) <= set(cell) and len(cell["returns"]) == SETTINGS.episodes
    s = game.summary([run])
    pair = s["paired"]["defended - control"]["greedy-3"]["return"]["median"]
    assert pair == pytest.approx(
        run["cells"]["defended"]["greedy-3"]["return"] - run["cells"]["control"]["greedy-3"]["return"]
    )
    assert "defended - control" in game.table(s) and not s["paired_p"]  # one seed: no test
    twice = game.summary([run, run])  # two equal nonzero differences: the sign-flip test's p is exactly 0.5
    assert pair != 0 and twice["paired_p"]["defended - control"]["greedy-3"]["return"] == pytest.approx(0.5)
    assert "sign-flip" in game.table(twice)
    d = run["cells"]["defended"]
    assert s["models"]["defended"]["greedy-3"]["mass_ratio"]["median"] == pytest.approx(
        d["greedy-3"]["mass"] / d["clean"]["mass"]
    )
    bias = played["defended"].policy.action_net.bias.detach().numpy()
    assert d["clean"]["scores"]["targets"]["bias"] == pytest.approx(bias[played["targets"]].mean(), rel=1e-6)
    assert d["greedy-3"]["scores"]["targets"]["bias"] == d["clean"]["scores"]["targets"]["bias"]  # edits: text only
    assert d["greedy-3"]["scores"]["targets"]["query"] > d["clean"]["scores"]["targets"]["query"]  # what they raise
    assert d["greedy-3"]["scores"]["rest"] == d["clean"]["scores"]["rest"]


def test_control_trains_as_many_steps(played):
    run = played["result"]
    assert run["extra_steps"] == {"control": 4096, "defended": 4096}
    assert played["control"].num_timesteps == played["defended"].num_timesteps == 4096


def test_defended_trained_on_the_edited_catalogue(played):
    """Replays: the defended model is the victim trained on round 0's edits, the control the victim trained clean."""
    cat, run = played["cat"], played["result"]
    edits = run["rounds"][0]["attack"]["edits"]
    assert edits and all(e["edited"] != e["original"] for e in edits)
    edited = cat.replace_texts({e["row"]: e["edited"] for e in edits}, encoder=played["bow"], cache_dir=played["work"])
    undefended = params(played["undefended"])
    assert not same(params(played["defended"]), undefended) and not same(params(played["control"]), undefended)

    replay = played["load"](0)
    replay.policy.action_net.bias.data.copy_(torch.linspace(-1, 1, cat.num_items))  # known biases
    old_bias = replay.policy.action_net.bias
    game.serve(replay, edited)
    head, opt = replay.policy.action_net, replay.policy.optimizer
    assert head.bias is not old_bias and torch.equal(head.bias, torch.linspace(-1, 1, cat.num_items))  # carried over
    assert np.allclose(head.item_embeddings.numpy(), edited.embeddings)
    assert game.engine_of(replay).catalogue is edited
    in_opt = {id(p) for g in opt.param_groups for p in g["params"]}
    assert in_opt == {id(p) for p in replay.policy.parameters()}  # the optimizer covers the new bias, not the old
    assert head.bias in opt.state and old_bias not in opt.state  # the victim's Adam moments moved with it

    replay = played["load"](0)
    game.serve(replay, edited)
    game.train_steps(replay, SETTINGS.steps, game.round_seed(0, 0))
    trained_bias = replay.policy.action_net.bias.detach().clone()
    game.serve(replay, cat)
    assert torch.equal(replay.policy.action_net.bias, trained_bias)  # the learned biases survive the swap back
    assert same(params(replay), params(played["defended"]))

    clean = played["load"](0)
    game.train_steps(clean, SETTINGS.steps, game.round_seed(0, 0))
    assert same(params(clean), params(played["control"]))
    assert not same(params(clean), params(played["defended"]))  # the edits changed what was learned


def test_final_attack_is_fresh_against_each_model(played):
    cat, targets, cells = played["cat"], played["targets"], played["result"]["cells"]
    for model in game.MODELS:
        probes = probe_observations(played[model], cat, SETTINGS.probe_users, 0)
        before = PromotionObjective(policy_scorer(played[model]), probes, cat.embeddings, targets).report(
            cat.embeddings
        )
        assert cells[model]["greedy-3"]["attack"]["before"]["mass"] == pytest.approx(before["mass"], rel=1e-6)
    d, u = cells["defended"]["greedy-3"]["attack"], cells["undefended"]["greedy-3"]["attack"]
    assert d["before"]["mass"] != u["before"]["mass"] and d["after"]["mass"] != u["after"]["mass"]


def test_bad_settings_name_the_flag(capsys):
    for flag, value in (("--game-rounds", "0"), ("--game-steps", "-5"), ("--game-budget", "0")):
        with pytest.raises(SystemExit):
            parse_args(["--sections", "game", flag, value])
        assert f"{flag} must be >= 1, got {value}" in capsys.readouterr().err
    with pytest.raises(ValueError, match=r"rounds must be an int in \[1, inf\), got rounds=0"):
        game.GameSettings(rounds=0)
    with pytest.raises(
        ValueError, match=r"min_similarity must be a finite number in \[0.0, 1.0\], got min_similarity=1.5"
    ):
        game.GameSettings(min_similarity=1.5)
