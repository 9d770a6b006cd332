"""Every keyword argument is validated at construction; the error names it, what was expected and what was given."""

from __future__ import annotations

import gymnasium as gym
import pytest

import advrec_gym
from advrec_gym import Catalogue, LogitChoice, TransformerEncoder, UserModel
from advrec_gym.v0 import AdvRecEnv, AdvRecVectorEnv, HistoryRates
from advrec_gym.v0.options import ENV_KWARGS

TINY = "tiny"  # placeholder for the tiny catalogue fixture (parametrize ids stay readable)

# (kwargs, exception, fragments the message must contain). Kwargs that only matter when the default
# catalogue is built are given without a catalogue: their check must come before any encoding.
CASES = [
    ({"catalogue": "items.csv"}, TypeError, ["catalogue", "Catalogue", "str"]),
    ({"catalogue": None, "num_items": "10"}, TypeError, ["num_items", "int", "'10'"]),
    ({"catalogue": None, "num_items": 0}, ValueError, ["num_items", "[1, inf)", "num_items=0"]),
    ({"catalogue": None, "num_items": True}, TypeError, ["num_items", "int", "True"]),
    ({"catalogue": None, "num_topics": 2.5}, TypeError, ["num_topics", "int", "2.5"]),
    ({"catalogue": None, "num_topics": 0}, ValueError, ["num_topics", "num_topics=0"]),
    ({"catalogue": None, "catalogue_seed": "0"}, TypeError, ["catalogue_seed", "int", "'0'"]),
    ({"catalogue": None, "catalogue_seed": -1}, ValueError, ["catalogue_seed", "[0, inf)", "catalogue_seed=-1"]),
    ({"catalogue": None, "encoder": 123}, TypeError, ["encoder", "TransformerEncoder", "123"]),
    ({"catalogue": None, "cache_dir": 123}, TypeError, ["cache_dir", "path", "123"]),
    ({"catalogue": TINY, "encoder": 123}, TypeError, ["encoder", "123"]),
    # options that only build the synthetic catalogue are errors next to a given one (no silent no-op)
    ({"catalogue": TINY, "num_items": 500}, ValueError, ["num_items=500", "no effect", "num_items=20"]),
    ({"catalogue": TINY, "num_topics": 20}, ValueError, ["num_topics=20", "no effect", "drop num_topics"]),
    ({"catalogue": TINY, "catalogue_seed": 0}, ValueError, ["catalogue_seed=0", "no effect"]),
    ({"catalogue": TINY, "encoder": "some/model"}, ValueError, ["encoder='some/model'", "no effect"]),
    ({"catalogue": TINY, "cache_dir": "/tmp/x"}, ValueError, ["cache_dir='/tmp/x'", "no effect"]),
    ({"catalogue": TINY, "user_model": "default"}, TypeError, ["user_model", "UserModel", "str"]),
    ({"catalogue": TINY, "choice_model": {"temperature": 0.1}}, TypeError, ["choice_model", "LogitChoice", "dict"]),
    ({"catalogue": TINY, "slate_size": 0}, ValueError, ["slate_size", "[1, inf)", "slate_size=0"]),
    ({"catalogue": TINY, "slate_size": 2.0}, TypeError, ["slate_size", "int", "2.0"]),
    (
        {"catalogue": TINY, "slate_size": 21},
        ValueError,
        ["slate_size must be <= num_items", "slate_size=21", "num_items=20"],
    ),
    (
        {"catalogue": TINY, "reward": "clicks"},
        ValueError,
        ["reward", "'click', 'engagement'", "'clicks'", "Did you mean 'click'?"],
    ),
    ({"catalogue": TINY, "reward": 1}, ValueError, ["reward", "reward=1"]),
    ({"catalogue": TINY, "skip_cost": -1.0}, ValueError, ["skip_cost", "[0.0, inf)", "skip_cost=-1.0"]),
    ({"catalogue": TINY, "skip_cost": float("nan")}, ValueError, ["skip_cost", "finite", "nan"]),
    ({"catalogue": TINY, "skip_cost": "1"}, TypeError, ["skip_cost", "number", "'1'"]),
    ({"catalogue": TINY, "history_rates": (0.3, 0.3, 0.5, 0.3)}, TypeError, ["history_rates", "HistoryRates", "tuple"]),
    (
        {"catalogue": TINY, "history_rates": HistoryRates(shown=0.0)},
        ValueError,
        ["history_rates.shown", "(0.0, 1.0]", "0.0"],
    ),
    ({"catalogue": TINY, "history_rates": HistoryRates(clicked=1.5)}, ValueError, ["history_rates.clicked", "1.5"]),
    ({"catalogue": TINY, "render_mode": "human"}, ValueError, ["render_mode", "None", "'human'"]),
    ({"catalogue": TINY, "slate_sise": 3}, TypeError, ["'slate_sise'", "Did you mean 'slate_size'?"]),
    ({"catalogue": TINY, "rewards": "click"}, TypeError, ["'rewards'", "Did you mean 'reward'?"]),
    ({"catalogue": TINY, "choice": LogitChoice()}, TypeError, ["'choice'", "Did you mean 'choice_model'?"]),
    ({"catalogue": TINY, "zzz": 1}, TypeError, ["unexpected keyword argument 'zzz'"]),
]


def _make_single(**kwargs):
    return gym.make("AdvRec-v0", **kwargs)


def _make_vec(**kwargs):
    return gym.make_vec("AdvRec-v0", num_envs=3, vectorization_mode="vector_entry_point", **kwargs)


MAKERS = {
    "gym.make": _make_single,
    "gym.make_vec": _make_vec,
    "AdvRecEnv": AdvRecEnv,
    "AdvRecVectorEnv": AdvRecVectorEnv,
}


@pytest.fixture(autouse=True)
def _no_encoding(monkeypatch):
    """A bad argument must be rejected before the language model is ever asked to encode."""

    def fail(self, texts):
        raise AssertionError("encode() was called before the bad argument was rejected")

    monkeypatch.setattr(TransformerEncoder, "encode", fail)


@pytest.mark.filterwarnings("ignore:.*render_mode='human':UserWarning")  # gym.make's own note
@pytest.mark.parametrize("maker", MAKERS)
@pytest.mark.parametrize(("kwargs", "error", "fragments"), CASES, ids=[str(c[0]) for c in CASES])
def test_bad_kwarg_is_named_in_the_error(maker, kwargs, error, fragments, tiny_catalogue):
    kwargs = {k: tiny_catalogue if v is TINY else v for k, v in kwargs.items()}
    with pytest.raises(error) as info:
        MAKERS[maker](**kwargs)
    message = str(info.value)
    for fragment in fragments:
        assert fragment in message, f"{fragment!r} not in {message!r}"


def test_every_env_kwarg_has_a_bad_input_case():
    tested = {name for kwargs, _, _ in CASES for name in kwargs}
    assert set(ENV_KWARGS) - tested == set()


VECTOR_CASES = [
    ({"num_envs": 0}, ValueError, ["num_envs", "[1, inf)", "num_envs=0"]),
    ({"num_envs": "4"}, TypeError, ["num_envs", "int", "'4'"]),
    ({"max_episode_steps": 0}, ValueError, ["max_episode_steps", "max_episode_steps=0"]),
    ({"max_episode_steps": 1.5}, TypeError, ["max_episode_steps", "int", "1.5"]),
    ({"copy": "no"}, TypeError, ["copy", "bool", "'no'"]),
    ({"num_env": 4}, TypeError, ["'num_env'", "Did you mean 'num_envs'?"]),
]


@pytest.mark.parametrize(("kwargs", "error", "fragments"), VECTOR_CASES, ids=[str(c[0]) for c in VECTOR_CASES])
def test_bad_vector_kwarg_is_named_in_the_error(kwargs, error, fragments, tiny_catalogue):
    with pytest.raises(error) as info:
        AdvRecVectorEnv(catalogue=tiny_catalogue, **kwargs)
    for fragment in fragments:
        assert fragment in str(info.value)


PART_CASES = [
    (lambda: UserModel(max_topics=0), ValueError, ["max_topics", "max_topics=0"]),
    (lambda: UserModel(interest_noise=-0.1), ValueError, ["interest_noise", "-0.1"]),
    (lambda: UserModel(budget_range=(60.0, 30.0)), ValueError, ["budget_range", "low <= high", "(60.0, 30.0)"]),
    (lambda: UserModel(budget_range=(0.0, 30.0)), ValueError, ["budget_range[0]", "(0.0, inf)"]),
    (lambda: UserModel(budget_range=50.0), ValueError, ["budget_range", "(low, high) pair", "50.0"]),
    (lambda: UserModel(drift_range=(0.0, 2.0)), ValueError, ["drift_range[1]", "[0.0, 1.0]", "2.0"]),
    (lambda: UserModel(fatigue_range=(-1.0, 1.0)), ValueError, ["fatigue_range[0]", "-1.0"]),
    (lambda: LogitChoice(temperature=0.0), ValueError, ["temperature", "(0.0, inf)", "temperature=0.0"]),
    (lambda: LogitChoice(temperature="0.1"), TypeError, ["temperature", "number", "'0.1'"]),
    (lambda: LogitChoice(no_click_affinity=2.0), ValueError, ["no_click_affinity", "[-1.0, 1.0]", "2.0"]),
    (lambda: LogitChoice(fatigue_threshold=1.0), ValueError, ["fatigue_threshold", "[0.0, 1.0)", "1.0"]),
    (lambda: LogitChoice(position_bias=0.0), ValueError, ["position_bias", "(0.0, 1.0]", "0.0"]),
    (lambda: LogitChoice(position_bias=1.5), ValueError, ["position_bias", "1.5"]),
    (lambda: Catalogue.synthetic(10, 2, seed=-1), ValueError, ["seed must be an int in [0, inf)", "seed=-1"]),
]


@pytest.mark.parametrize(
    ("build", "error", "fragments"), PART_CASES, ids=[c[2][0] + str(i) for i, c in enumerate(PART_CASES)]
)
def test_bad_part_argument_is_named_in_the_error(build, error, fragments):
    with pytest.raises(error) as info:
        build()
    for fragment in fragments:
        assert fragment in str(info.value)


def test_good_kwargs_are_accepted(tiny_catalogue):
    env = AdvRecEnv(
        catalogue=tiny_catalogue,
        user_model=UserModel(max_topics=1),
        choice_model=LogitChoice(temperature=0.2),
        slate_size=20,
        reward="engagement",
        skip_cost=0.0,
        history_rates=HistoryRates(clicked=1.0),
    )
    assert env.action_space.shape == (20,)
    assert env.engine.reward_type == "engagement" and env.engine.skip_cost == 0.0
    assert advrec_gym.v0.AdvRecVectorEnv(2, catalogue=tiny_catalogue, copy=False, max_episode_steps=1).copy is False
