"""A small, readable reference implementation of AdvRec-v1's dynamics (EnvPool's way of testing a kernel).

Plain Python and numpy, one user at a time, written from the env's documentation: the kernel
(advrec_gym/kernel.py) must match it step for step. Randomness is the same counter hash, re-derived
here with Python integers (mod 2**64), so both sides see the same uniforms.
"""

from __future__ import annotations

import math

import numpy as np

M64 = (1 << 64) - 1
GAMMA, MIX1, MIX2 = 0x9E3779B97F4A7C15, 0xBF58476D1CE4E5B9, 0x94D049BB133111EB
EPISODE_MUL, STEP_MUL, STREAM_MUL = 0xD1B54A32D192ED03, 0xABC98388FB8FAC03, 0x8CB92BA72F3D8DD7
CLICK, SATISFACTION, RESET = 1, 2, 3


def mix(z: int) -> int:
    z = ((z ^ (z >> 30)) * MIX1) & M64
    z = ((z ^ (z >> 27)) * MIX2) & M64
    return z ^ (z >> 31)


def counter_hash(key: int, episode: int, t: int, stream: int, index: int) -> int:
    c = (episode * EPISODE_MUL + t * STEP_MUL + stream * STREAM_MUL) & M64
    return mix(key ^ mix((c + index * GAMMA) & M64))


def uniform(key, episode, t, stream, index) -> float:
    return (counter_hash(key, episode, t, stream, index) >> 11) * 2.0**-53


def normal(key, episode, t, stream, index) -> float:
    u1 = 1.0 - uniform(key, episode, t, stream, index)
    u2 = uniform(key, episode, t, stream, index + 1)
    return math.sqrt(-2.0 * math.log(u1)) * math.cos(2.0 * math.pi * u2)


def irwin_hall4(key, episode, t, stream, index) -> float:
    h = counter_hash(key, episode, t, stream, index)
    total = sum((h >> s) & 0xFFFF for s in (0, 16, 32, 48))
    return ((total + 2.0) / 65536.0 - 2.0) * math.sqrt(3.0)


def seed_key(seed: int) -> int:
    return mix((mix((seed + GAMMA) & M64) + GAMMA) & M64)


class ReferenceUser:
    """One AdvRec-v1 user and its observation, stepped in plain numpy."""

    def __init__(self, catalogue, user_model, choice, dynamics, horizon, key: int):
        self.cat, self.um, self.cm, self.dyn, self.horizon = catalogue, user_model, choice, dynamics, horizon
        self.key, self.episode = key, 0
        self.d = catalogue.dim
        self.centroids = catalogue.topic_centroids()
        prior = np.bincount(catalogue.topic_index, weights=catalogue.popularity, minlength=catalogue.num_topics)
        self.prior = prior / prior.sum()
        self.restart()

    def restart(self) -> None:
        d, key, ep = self.d, self.key, self.episode
        # the user: 1..max_topics topics by the prior without replacement, exponential weights, noise
        j = 0
        ntop = len(self.prior)
        k = 1 + int(uniform(key, ep, 0, RESET, j) * min(self.um.max_topics, ntop))
        j += 1
        chosen, mixture = [], np.zeros(d)
        for _ in range(k):
            free = [t for t in range(ntop) if t not in chosen]
            u = uniform(key, ep, 0, RESET, j) * sum(self.prior[t] for t in free)
            j += 1
            acc, pick = 0.0, free[-1]
            for t in free:
                acc += self.prior[t]
                if acc > u:
                    pick = t
                    break
            chosen.append(pick)
            w = -math.log(1.0 - uniform(key, ep, 0, RESET, j))
            j += 1
            mixture += w * self.centroids[pick]
        mixture /= np.linalg.norm(mixture)
        noise = self.um.interest_noise / math.sqrt(d)
        u = mixture + noise * np.array([irwin_hall4(key, ep, 0, RESET, j + c) for c in range(d)])
        j += d
        self.u = u / np.linalg.norm(u)
        self.norm = np.linalg.norm(self.u)
        lo, hi = self.um.budget_range
        self.budget = lo + (hi - lo) * uniform(key, ep, 0, RESET, j)
        lo, hi = self.um.drift_range
        self.drift = lo + (hi - lo) * uniform(key, ep, 0, RESET, j + 1)
        lo, hi = self.um.fatigue_range
        self.fatigue = lo + (hi - lo) * uniform(key, ep, 0, RESET, j + 2)
        self.obs = np.zeros(4 * d + 6)
        self.t, self.clicks = 0, 0

    def block(self, b: int) -> np.ndarray:
        return self.obs[b * self.d : (b + 1) * self.d]

    def step(self, slate: list[int]) -> dict:
        cat, cm, dyn, d = self.cat, self.cm, self.dyn, self.d
        key, ep, t = self.key, self.episode, self.t
        shown_avg = self.block(3).copy()
        v = []
        for j, item in enumerate(slate):
            if item in slate[:j]:
                v.append(-np.inf)
                continue
            affinity = float(self.u @ cat.user_embeddings[item])
            fatigue = self.fatigue * max(float(shown_avg @ cat.embeddings[item]) - cm.fatigue_threshold, 0.0)
            fatigue /= 1.0 - cm.fatigue_threshold
            v.append(
                (affinity + cat.appeal[item] - fatigue - cm.no_click_affinity) / cm.temperature
                + j * math.log(cm.position_bias)
            )
        weights = np.exp(np.array(v))  # no-click weight exp(0) = 1
        u = uniform(key, ep, t, CLICK, 0) * (1.0 + weights.sum())
        chosen, acc = -1, 1.0
        if acc <= u:
            for j in range(len(slate)):
                if v[j] == -np.inf:
                    continue
                chosen = j
                acc += weights[j]
                if acc > u:
                    break
        item = slate[chosen] if chosen >= 0 else -1
        shown = np.mean([cat.embeddings[i] for i in slate], axis=0)
        s, reward = 0.0, 0.0
        if item >= 0:
            q = float(cat.quality[item])
            s = min(max(q + dyn.satisfaction_noise * normal(key, ep, t, SATISFACTION, 0), -1.0), 1.0)
            reward = 1.0
            self.budget += dyn.quality_gain * q
            if self.drift > 0:
                x = self.u + self.drift * (self.norm * cat.user_embeddings[item] - self.u)
                self.u = x * self.norm / np.linalg.norm(x)
            self.clicks += 1
        self.t += 1
        # the observation
        self.block(3)[:] += dyn.shown_rate * (shown - self.block(3))
        if item >= 0:
            b, rate = (0, dyn.liked_rate) if s >= 0 else (1, dyn.regretted_rate)
            self.block(b)[:] += rate * (cat.embeddings[item] - self.block(b))
        else:
            self.block(2)[:] += dyn.skipped_rate * (shown - self.block(2))
        base = 4 * d
        click = 1.0 if item >= 0 else 0.0
        self.obs[base] = click
        self.obs[base + 1] += dyn.click_rate * (click - self.obs[base + 1])
        self.obs[base + 2] = self.clicks / self.t
        self.obs[base + 3] = s if item >= 0 else 0.0
        if item >= 0:
            self.obs[base + 4] += dyn.satisfaction_rate * (s - self.obs[base + 4])
        self.obs[base + 5] = min(self.t / self.horizon, 1.0)
        self.budget -= 1.0 + (0.0 if item >= 0 else dyn.skip_cost)
        terminated = self.budget <= 0
        truncated = not terminated and self.t >= self.horizon
        return {
            "reward": reward,
            "terminated": terminated,
            "truncated": truncated,
            "clicked_item": item,
            "satisfaction": s,
            "low_quality_shown": float(np.mean([cat.quality[i] < 0 for i in slate])),
            "low_quality_clicked": bool(item >= 0 and cat.quality[item] < 0),
        }
