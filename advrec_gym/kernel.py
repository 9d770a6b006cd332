"""The compiled core of AdvRec-v1: one pass per user per step, resets inside, counter-based randomness.

Everything the simulator does to a user happens here, in numba-compiled loops over the batch
(:class:`~advrec_gym.engine.Engine` owns the arrays and calls these functions; the single env is the
batch of one). A step reads the user's interest and the two observation blocks it changes, draws the
click, updates the history in place and, for a vector env, restarts a finished user in the same pass.

**Randomness.** Every draw is a pure function of ``(slot key, episode, step, stream, index)``: a
SplitMix64-style hash (Steele et al. 2014, the finaliser of ``java.util.SplittableRandom``) of those
counters, turned into a uniform double. Nothing is carried from draw to draw, so a slot's trajectory
depends only on its key and its actions, never on the batch it is stepped in: slot ``i`` of a vector
env keyed from seed ``s + i`` replays the single env seeded ``s + i`` exactly, and an episode can be
replayed from its counters alone.

**Layout.** ``obs`` (n, 4 dim + 6) float32 is both the observation and the history state::

    [0, d) liked | [d, 2d) regretted | [2d, 3d) skipped | [3d, 4d) shown | 4d + SCALARS

``users`` (n, dim) float32 holds the hidden interests; ``ustate`` (n, 4) float64 the budget, drift
rate, fatigue sensitivity and interest norm; ``counters`` (n, 4) int64 the step, episode, key (the
bits of a uint64) and clicks. ``tables`` (rows, dim) float32 stacks the item embeddings the
recommender sees, the ones the users' tastes are defined on (when they differ), the topic centroids
and the fixed population's interests; ``params`` (float64) holds the scalar settings and, at offsets
it records itself, per-item quality and appeal and the sampling weights. ``out`` (n, 7) float64
receives, per user: reward, terminated, truncated, clicked item (-1: none), satisfaction,
low-quality share of the shown slate, low-quality click.

The functions also run uncompiled (``NUMBA_DISABLE_JIT=1``): the same code, as plain Python.
"""

from __future__ import annotations

import math

import numba as nb
import numpy as np

# --------------------------------------------------------------------------- layout
NUM_BLOCKS = 4
BLOCK_NAMES = ("liked", "regretted", "skipped", "shown")
SCALAR_NAMES = ("last_click", "click_rate_ema", "episode_ctr", "last_satisfaction", "satisfaction_ema", "time_fraction")
NUM_SCALARS = len(SCALAR_NAMES)
LIKED, REGRETTED, SKIPPED, SHOWN = range(NUM_BLOCKS)
OUT_FIELDS = (
    "reward",
    "terminated",
    "truncated",
    "clicked_item",
    "satisfaction",
    "low_quality_shown",
    "low_quality_clicked",
)
U_BUDGET, U_DRIFT, U_FATIGUE, U_NORM = range(4)
C_T, C_EPISODE, C_KEY, C_CLICKS = range(4)

# params: scalar settings first, then per-item and per-topic arrays at the recorded offsets
(
    P_TAU,
    P_NO_CLICK,
    P_THETA,
    P_LOG_POSITION_BIAS,
    P_GAIN,
    P_SKIP_COST,
    P_SAT_NOISE,
    P_R_LIKED,
    P_R_REGRET,
    P_R_SKIP,
    P_R_SHOWN,
    P_R_CLICK,
    P_R_SAT,
    P_HORIZON,
    P_ENGAGEMENT,
    P_AUTORESET,
    P_MAX_TOPICS,
    P_INTEREST_NOISE,
    P_BUDGET_LO,
    P_BUDGET_HI,
    P_DRIFT_LO,
    P_DRIFT_HI,
    P_FATIGUE_LO,
    P_FATIGUE_HI,
    P_NUM_ITEMS,
    P_NUM_TOPICS,
    P_NUM_POPULATION,
    P_ROW_USER_EMB,
    P_ROW_CENTROIDS,
    P_ROW_POPULATION,
    P_OFF_QUALITY,
    P_OFF_APPEAL,
    P_OFF_TOPIC_PRIOR,
    P_OFF_POPULATION_CDF,
    NUM_PARAMS,
) = range(35)

# --------------------------------------------------------------------------- randomness
_GAMMA = np.uint64(0x9E3779B97F4A7C15)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)
_EPISODE_MUL = np.uint64(0xD1B54A32D192ED03)
_STEP_MUL = np.uint64(0xABC98388FB8FAC03)
_STREAM_MUL = np.uint64(0x8CB92BA72F3D8DD7)
_S30, _S27, _S31, _S11 = np.uint64(30), np.uint64(27), np.uint64(31), np.uint64(11)
_TO_UNIT = 2.0**-53
_M16, _S16, _S32, _S48 = np.uint64(0xFFFF), np.uint64(16), np.uint64(32), np.uint64(48)
_SQRT3 = math.sqrt(3.0)
STREAM_CLICK, STREAM_SATISFACTION, STREAM_RESET = 1, 2, 3

_jit = nb.njit(cache=True, fastmath=True, nogil=True)
_inline = nb.njit(cache=True, fastmath=True, inline="always")


@_inline
def _mix(z):
    z = (z ^ (z >> _S30)) * _MIX1
    z = (z ^ (z >> _S27)) * _MIX2
    return z ^ (z >> _S31)


@_inline
def _uniform(key, episode, t, stream, index):
    """U[0, 1) from the counters (53 random bits)."""
    c = np.uint64(episode) * _EPISODE_MUL + np.uint64(t) * _STEP_MUL + np.uint64(stream) * _STREAM_MUL
    h = _mix(key ^ _mix(c + np.uint64(index) * _GAMMA))
    return float(h >> _S11) * _TO_UNIT


@_inline
def _irwin_hall4(key, episode, t, stream, index):
    """An approximately normal draw, mean 0 and variance 1: four 16-bit uniforms of one hash, summed.

    (Irwin-Hall with n = 4: ``(U1 + U2 + U3 + U4 - 2) * sqrt(3)``, support [-3.46, 3.46].) Used for
    the interest noise of a new user, 384 draws per reset, where exact Box-Muller normals made resets
    a third of the vector step's time.
    """
    c = np.uint64(episode) * _EPISODE_MUL + np.uint64(t) * _STEP_MUL + np.uint64(stream) * _STREAM_MUL
    h = _mix(key ^ _mix(c + np.uint64(index) * _GAMMA))
    total = float(h & _M16) + float((h >> _S16) & _M16) + float((h >> _S32) & _M16) + float(h >> _S48)
    return ((total + 2.0) / 65536.0 - 2.0) * _SQRT3


@_inline
def _normal_pair(key, episode, t, stream, index):
    """Two independent N(0, 1) draws (Box-Muller) from uniforms ``index`` and ``index + 1``."""
    u1 = 1.0 - _uniform(key, episode, t, stream, index)  # in (0, 1]
    u2 = _uniform(key, episode, t, stream, index + 1)
    r = math.sqrt(-2.0 * math.log(u1))
    return r * math.cos(2.0 * math.pi * u2), r * math.sin(2.0 * math.pi * u2)


@_jit
def seed_keys(seeds):
    """Slot keys (as int64 bit patterns) from non-negative integer seeds: a pure function of each seed."""
    out = np.empty(seeds.shape[0], dtype=np.int64)
    for i in range(seeds.shape[0]):
        out[i] = np.int64(_mix(_mix(np.uint64(seeds[i]) + _GAMMA) + _GAMMA))
    return out


# --------------------------------------------------------------------------- users
@_inline
def _search(cdf, offset, count, u):
    """Index of the first cumulative weight above ``u`` in ``cdf[offset: offset + count]`` (last if none)."""
    lo, hi = 0, count - 1
    while lo < hi:
        mid = (lo + hi) // 2
        if cdf[offset + mid] > u:
            hi = mid
        else:
            lo = mid + 1
    return lo


@_jit
def _draw_user(i, users, ustate, counters, tables, params):
    """A new user in slot ``i`` from the slot's counters: interest and traits (the step counter is 0)."""
    key, episode = np.uint64(counters[i, C_KEY]), counters[i, C_EPISODE]
    dim = users.shape[1]
    s = STREAM_RESET
    j = 0
    npop = int(params[P_NUM_POPULATION])
    if npop > 0:
        row = int(params[P_ROW_POPULATION]) + _search(
            params, int(params[P_OFF_POPULATION_CDF]), npop, _uniform(key, episode, 0, s, j)
        )
        j += 1
        for c in range(dim):
            users[i, c] = tables[row, c]
    else:
        # Topics without replacement, by the topic prior; Dirichlet(1, ..., 1) weights (normalised
        # exponentials); the mix plus isotropic noise of expected norm interest_noise; unit norm.
        ntop = int(params[P_NUM_TOPICS])
        k = 1 + int(_uniform(key, episode, 0, s, j) * min(int(params[P_MAX_TOPICS]), ntop))
        j += 1
        prior = int(params[P_OFF_TOPIC_PRIOR])
        crow = int(params[P_ROW_CENTROIDS])
        for c in range(dim):
            users[i, c] = 0.0
        chosen = np.zeros(ntop, dtype=np.bool_)
        for _ in range(k):
            total = 0.0
            for t in range(ntop):
                if not chosen[t]:
                    total += params[prior + t]
            u = _uniform(key, episode, 0, s, j) * total
            j += 1
            pick, acc = -1, 0.0
            for t in range(ntop):
                if not chosen[t]:
                    pick = t
                    acc += params[prior + t]
                    if acc > u:
                        break
            chosen[pick] = True
            w = -math.log(1.0 - _uniform(key, episode, 0, s, j))
            j += 1
            for c in range(dim):
                users[i, c] += w * tables[crow + pick, c]
        norm = 0.0
        for c in range(dim):
            norm += float(users[i, c]) * float(users[i, c])
        norm = max(math.sqrt(norm), 1e-12)
        noise = params[P_INTEREST_NOISE] / math.sqrt(dim)
        for c in range(dim):
            users[i, c] = users[i, c] / norm + noise * _irwin_hall4(key, episode, 0, s, j + c)
        j += dim
        norm = 0.0
        for c in range(dim):
            norm += float(users[i, c]) * float(users[i, c])
        norm = max(math.sqrt(norm), 1e-12)
        for c in range(dim):
            users[i, c] = users[i, c] / norm
    norm = 0.0
    for c in range(dim):
        norm += float(users[i, c]) * float(users[i, c])
    ustate[i, U_NORM] = math.sqrt(norm)
    lo, hi = params[P_BUDGET_LO], params[P_BUDGET_HI]
    ustate[i, U_BUDGET] = lo + (hi - lo) * _uniform(key, episode, 0, s, j)
    lo, hi = params[P_DRIFT_LO], params[P_DRIFT_HI]
    ustate[i, U_DRIFT] = lo + (hi - lo) * _uniform(key, episode, 0, s, j + 1)
    lo, hi = params[P_FATIGUE_LO], params[P_FATIGUE_HI]
    ustate[i, U_FATIGUE] = lo + (hi - lo) * _uniform(key, episode, 0, s, j + 2)


@_jit
def _restart(i, obs, users, ustate, counters, tables, params):
    """Empty history, step 0, a user drawn for the slot's current episode."""
    for c in range(obs.shape[1]):
        obs[i, c] = 0.0
    counters[i, C_T] = 0
    counters[i, C_CLICKS] = 0
    _draw_user(i, users, ustate, counters, tables, params)


@_jit
def reset_rows(rows, keys, next_episode, obs, users, ustate, counters, tables, params):
    """Start a new episode in each slot of ``rows``.

    Args:
        rows: int64 slot indices.
        keys: int64 (len(rows),) new keys, or an empty array to keep each slot's key.
        next_episode: True to advance each slot's episode counter (a reset without a new seed),
            False to start at episode 0 (a new key).
    """
    for r in range(rows.shape[0]):
        i = rows[r]
        if keys.shape[0] > 0:
            counters[i, C_KEY] = keys[r]
            counters[i, C_EPISODE] = 0
        elif next_episode:
            counters[i, C_EPISODE] += 1
        _restart(i, obs, users, ustate, counters, tables, params)


# --------------------------------------------------------------------------- the observation update
@_inline
def _ema(row, start, x, rate):
    """row[start: start + d] += rate * (x - row[start: start + d]) (a whole row and an offset: this
    form vectorises, a slice view of the row measured 3x slower)."""
    r = np.float32(rate)
    for c in range(x.shape[0]):
        row[start + c] += r * (x[c] - row[start + c])


@_inline
def _update_history(row, dim, shown, clicked_row, clicked, satisfaction, t_after, clicks_after, params):
    """Fold one step into an observation row: the shown average always, then liked / regretted or skipped."""
    _ema(row, SHOWN * dim, shown, params[P_R_SHOWN])
    if clicked:
        if satisfaction >= 0.0:
            _ema(row, LIKED * dim, clicked_row, params[P_R_LIKED])
        else:
            _ema(row, REGRETTED * dim, clicked_row, params[P_R_REGRET])
    else:
        _ema(row, SKIPPED * dim, shown, params[P_R_SKIP])
    base = NUM_BLOCKS * dim
    click = 1.0 if clicked else 0.0
    row[base] = click
    row[base + 1] += params[P_R_CLICK] * (click - row[base + 1])
    row[base + 2] = clicks_after / t_after
    row[base + 3] = satisfaction if clicked else 0.0
    if clicked:
        row[base + 4] += params[P_R_SAT] * (satisfaction - row[base + 4])
    horizon = params[P_HORIZON]
    row[base + 5] = min(t_after / horizon, 1.0) if horizon > 0 else 0.0


# --------------------------------------------------------------------------- the step
@_inline
def _dot(a, a_start, b):
    """float32 dot product of ``a[a_start: a_start + len(b)]`` and ``b`` (vectorised under fastmath)."""
    acc = np.float32(0.0)
    for c in range(b.shape[0]):
        acc += a[a_start + c] * b[c]
    return acc


def _step(actions, obs, users, ustate, counters, out, final, tables, params, chunks=1):
    """Advance every slot by one step (see the module docstring for the arrays).

    Compiled twice: :func:`step` (one thread) and :func:`step_threaded` (``parallel=True``: the
    users, in ``chunks`` contiguous runs, are split across numba's threads, ``numba.set_num_threads``).
    Each user's update reads and writes only its own rows and its draws depend only on its own
    counters, so both give identical results; each chunk has its own scratch rows.

    Returns:
        The number of slots whose episode ended; with autoreset on, their last observation is in
        ``final`` and the slot already holds its next user.
    """
    n = actions.shape[0]
    chunks = max(1, min(chunks, n))
    done_count = 0
    for chunk in nb.prange(chunks):
        first, last = chunk * n // chunks, (chunk + 1) * n // chunks
        done_count += _step_rows(first, last, actions, obs, users, ustate, counters, out, final, tables, params)
    return done_count


@_jit
def _step_rows(first, last, actions, obs, users, ustate, counters, out, final, tables, params):
    """The step of slots ``first, ..., last - 1`` (one chunk of :func:`_step`); returns how many ended."""
    k = actions.shape[1]
    dim = users.shape[1]
    urow = int(params[P_ROW_USER_EMB])
    q_off, a_off = int(params[P_OFF_QUALITY]), int(params[P_OFF_APPEAL])
    tau, a0, theta = params[P_TAU], params[P_NO_CLICK], params[P_THETA]
    log_b, gain, skip_cost = params[P_LOG_POSITION_BIAS], params[P_GAIN], params[P_SKIP_COST]
    sat_noise, horizon = params[P_SAT_NOISE], params[P_HORIZON]
    engagement, autoreset = params[P_ENGAGEMENT] > 0, params[P_AUTORESET] > 0
    sblock = SHOWN * dim
    v = np.empty(k)
    aff = np.empty(k)
    mean_shown = np.empty(dim, dtype=np.float32)
    done_count = 0
    for i in range(first, last):
        key, episode, t = np.uint64(counters[i, C_KEY]), counters[i, C_EPISODE], counters[i, C_T]
        u_row = users[i]
        o_row = obs[i]  # its shown average (at sblock) *before* this step is the fatigue state
        phi = ustate[i, U_FATIGUE]
        uniform = _uniform(key, episode, t, STREAM_CLICK, 0)
        # Scores: affinity on the users' embeddings, fatigue on the observed ones (what the user saw).
        # P(no click) = 1 / (1 + sum_j exp(v_j)); the draw clicks slot j when the uniform passes the
        # no-click mass and the masses of slots before j (inverse CDF over none, slot 0, ..., slot k-1).
        if k == 1:
            item0 = actions[i, 0]
            a = float(_dot(u_row, 0, tables[urow + item0]))
            sim = float(_dot(o_row, sblock, tables[item0]))
            aff[0] = a
            v0 = (a + params[a_off + item0] - phi * max(sim - theta, 0.0) / (1.0 - theta) - a0) / tau
            chosen = 0 if uniform * (1.0 + math.exp(v0)) >= 1.0 else -1
            low = 1 if params[q_off + item0] < 0.0 else 0
            shown = tables[item0]
        else:
            top = 0.0
            low = 0
            for j in range(k):
                item = actions[i, j]
                dup = False
                for jj in range(j):
                    if actions[i, jj] == item:
                        dup = True
                a = float(_dot(u_row, 0, tables[urow + item]))
                sim = float(_dot(o_row, sblock, tables[item]))
                aff[j] = a
                fat = phi * max(sim - theta, 0.0) / (1.0 - theta)
                v[j] = -np.inf if dup else (a + params[a_off + item] - fat - a0) / tau + j * log_b
                top = max(top, v[j])
                if params[q_off + item] < 0.0:
                    low += 1
            total = math.exp(-top)
            for j in range(k):
                total += math.exp(v[j] - top)
            target = uniform * total
            acc = math.exp(-top)
            chosen = -1
            if acc <= target:
                for j in range(k):
                    if v[j] == -np.inf:
                        continue
                    chosen = j
                    acc += math.exp(v[j] - top)
                    if acc > target:
                        break
            for c in range(dim):
                mean_shown[c] = 0.0
            for j in range(k):
                row = tables[actions[i, j]]
                for c in range(dim):
                    mean_shown[c] += row[c]
            for c in range(dim):
                mean_shown[c] /= k
            shown = mean_shown
        clicked = chosen >= 0
        item = actions[i, chosen] if clicked else -1
        satisfaction = 0.0
        reward = 0.0
        if clicked:
            quality = params[q_off + item]
            z, _ = _normal_pair(key, episode, t, STREAM_SATISFACTION, 0)
            satisfaction = min(max(quality + sat_noise * z, -1.0), 1.0)
            reward = min(max(aff[chosen], 0.0), 1.0) if engagement else 1.0
            ustate[i, U_BUDGET] += gain * quality
            eta = ustate[i, U_DRIFT]
            if eta > 0.0:  # drift toward the item, keeping the interest's norm
                norm = ustate[i, U_NORM]
                eu = tables[urow + item]
                nn = 0.0
                for c in range(dim):
                    x = u_row[c] + eta * (norm * eu[c] - u_row[c])
                    u_row[c] = x
                    nn += x * x
                scale = norm / max(math.sqrt(nn), 1e-12)
                for c in range(dim):
                    u_row[c] = u_row[c] * scale
            counters[i, C_CLICKS] += 1
        t += 1
        counters[i, C_T] = t
        _update_history(
            o_row,
            dim,
            shown,
            tables[item] if clicked else shown,
            clicked,
            satisfaction,
            t,
            counters[i, C_CLICKS],
            params,
        )
        ustate[i, U_BUDGET] -= 1.0 + (0.0 if clicked else skip_cost)
        terminated = ustate[i, U_BUDGET] <= 0.0
        truncated = (not terminated) and horizon > 0 and t >= horizon
        out[i, 0] = reward
        out[i, 1] = 1.0 if terminated else 0.0
        out[i, 2] = 1.0 if truncated else 0.0
        out[i, 3] = item
        out[i, 4] = satisfaction
        out[i, 5] = low / k
        out[i, 6] = 1.0 if clicked and params[q_off + item] < 0.0 else 0.0
        if terminated or truncated:
            done_count += 1
            if autoreset:
                for c in range(obs.shape[1]):
                    final[i, c] = obs[i, c]
                counters[i, C_EPISODE] += 1
                _restart(i, obs, users, ustate, counters, tables, params)
    return done_count


step = _jit(_step)
step_threaded = nb.njit(cache=True, fastmath=True, nogil=True, parallel=True)(_step)


# --------------------------------------------------------------------------- replay of logged histories
@_jit
def replay(items, clicks, satisfaction, starts, obs_dim, tables, params):
    """The observation before each event of logged (item, click, satisfaction) sequences.

    ``starts[e]`` is True at the first event of a user's sequence (the history restarts empty there).
    Uses the step's own history update, so a replayed observation is what the env would have shown.
    """
    n = items.shape[0]
    dim = tables.shape[1]
    out = np.zeros((n, obs_dim), dtype=np.float32)
    state = np.zeros((1, obs_dim), dtype=np.float32)
    t = 0
    clicks_so_far = 0
    for e in range(n):
        if starts[e]:
            state[0, :] = 0.0
            t = 0
            clicks_so_far = 0
        out[e, :] = state[0, :]
        row = tables[items[e]]
        clicked = clicks[e] > 0
        t += 1
        if clicked:
            clicks_so_far += 1
        _update_history(state[0], dim, row, row, clicked, satisfaction[e], t, clicks_so_far, params)
    return out
