"""Compiled feature kernels: the one definition of every feature.

Every kernel has the signature ``kernel(state, params, x, out)``: it consumes the rows of ``x``
in time order, carrying its memory in ``state`` (a float64 vector it owns), and writes one output
row per input row into ``out``. ``params`` starts with the positions of the kernel's input columns
in ``x``, followed by its own parameters; where a kernel has a warm-up it is the last parameter:
outputs are NaN until that many rows have been seen, so a value never depends on where the history
started (beyond 1e-6).

Batch runs a kernel once over all rows; live runs it on one row at a time with the same state.
Both execute the same machine code, which is what makes batch equal streaming.
"""

from __future__ import annotations

import math

import numba as nb
import numpy as np

NAN = np.nan
FLAT = 1e-12  # a window whose spread is below this share of its level holds equal values
# one compiled signature for every kernel: state, params, x, out (any memory layout)
SIGNATURE = "void(f8[::1], f8[::1], f8[:, :], f8[:, :])"


@nb.njit(SIGNATURE, cache=True)
def log_returns(state, params, x, out):  # pragma: no cover - compiled
    # params: [close_col, w_1..w_k, warmup]; state: [count, pos, ring of max(w)+1 log closes]
    col = int(params[0])
    k = out.shape[1]
    size = state.shape[0] - 2
    for i in range(x.shape[0]):
        count = int(state[0])
        pos = int(state[1])
        lc = math.log(x[i, col])
        state[2 + pos] = lc
        for j in range(k):
            w = int(params[1 + j])
            if count >= w and count >= params[1 + k]:
                out[i, j] = lc - state[2 + (pos - w) % size]
            else:
                out[i, j] = NAN
        state[1] = (pos + 1) % size
        state[0] = count + 1


@nb.njit(cache=True)
def _wilder(state, at, count, period, value):  # pragma: no cover - compiled
    # TA-Lib's Wilder average in state[at], fed its `count`-th value (from 1): the mean of the
    # first `period` values, then avg = (avg * (period - 1) + value) / period
    if count <= period:
        state[at] += value
        if count == period:
            state[at] /= period
    else:
        state[at] *= period - 1
        state[at] += value
        state[at] /= period


@nb.njit(SIGNATURE, cache=True)
def rsi(state, params, x, out):  # pragma: no cover - compiled
    # TA-Lib RSI: Wilder averages of gains and losses, seeded with the mean of the first `period`.
    # params: [close_col, period, warmup]; state: [count, prev_close, avg_gain, avg_loss]
    col = int(params[0])
    period = params[1]
    for i in range(x.shape[0]):
        count = state[0]
        c = x[i, col]
        if count > 0:
            d = c - state[1]
            _wilder(state, 2, count, period, d if d > 0 else 0.0)
            _wilder(state, 3, count, period, -d if d < 0 else 0.0)
        state[1] = c
        state[0] = count + 1
        if count >= period and count >= params[2]:
            total = state[2] + state[3]
            out[i, 0] = 100.0 * (state[2] / total) if total != 0.0 else 0.0
        else:
            out[i, 0] = NAN


@nb.njit(SIGNATURE, cache=True)
def atr(state, params, x, out):  # pragma: no cover - compiled
    # TA-Lib ATR: Wilder average of the true range, seeded with the mean of the first `period`.
    # params: [high_col, low_col, close_col, period, warmup]; state: [count, prev_close, atr]
    hc, lc, cc = int(params[0]), int(params[1]), int(params[2])
    period = params[3]
    for i in range(x.shape[0]):
        count = state[0]
        h, lo, c = x[i, hc], x[i, lc], x[i, cc]
        if count > 0:
            prev = state[1]
            _wilder(state, 2, count, period, max(h - lo, abs(prev - h), abs(prev - lo)))
        state[1] = c
        state[0] = count + 1
        if count >= period and count >= params[4]:
            out[i, 0] = state[2]
            out[i, 1] = state[2] / c
        else:
            out[i, 0] = NAN
            out[i, 1] = NAN


@nb.njit(SIGNATURE, cache=True)
def macd(state, params, x, out):  # pragma: no cover - compiled
    # TA-Lib MACD: both EMAs start at bar slow-1, the slow one seeded with the mean of the first
    # `slow` closes, the fast one with the mean of the `fast` closes ending there; the signal EMA is
    # seeded with the mean of the first `signal` MACD values.
    # params: [close_col, fast, slow, signal, warmup]
    # state: [count, fast_ema, slow_ema, signal_ema, fast_sum, slow_sum, signal_sum]
    col = int(params[0])
    fast, slow, sig = params[1], params[2], params[3]
    kf, ks, kg = 2.0 / (fast + 1.0), 2.0 / (slow + 1.0), 2.0 / (sig + 1.0)
    for i in range(x.shape[0]):
        n = state[0]  # index of this bar
        c = x[i, col]
        if n < slow:
            state[5] += c
            if n >= slow - fast:
                state[4] += c
            if n == slow - 1:
                state[2] = state[5] / slow
                state[1] = state[4] / fast
        else:
            state[1] = ((c - state[1]) * kf) + state[1]
            state[2] = ((c - state[2]) * ks) + state[2]
        line = state[1] - state[2]
        first_signal = slow - 1 + sig - 1
        if slow - 1 <= n <= first_signal:
            state[6] += line
            if n == first_signal:
                state[3] = state[6] / sig
        elif n > first_signal:
            state[3] = ((line - state[3]) * kg) + state[3]
        state[0] = n + 1
        if n >= first_signal and n >= params[4]:
            out[i, 0] = line
            out[i, 1] = state[3]
            out[i, 2] = line - state[3]
        else:
            out[i, 0] = NAN
            out[i, 1] = NAN
            out[i, 2] = NAN


@nb.njit(cache=True)
def _window_mean_std(buf, start, size):  # pragma: no cover - compiled
    # two-pass population mean and standard deviation of buf[start:start+size]: no drift.
    # A spread below 1e-12 of the level is rounding in the mean of equal values: report 0.
    total = 0.0
    for j in range(size):
        total += buf[start + j]
    mean = total / size
    acc = 0.0
    for j in range(size):
        d = buf[start + j] - mean
        acc += d * d
    std = math.sqrt(acc / size)
    return mean, std if std > FLAT * abs(mean) else 0.0


RING = 6  # header of a rolling-moments ring: count, pos, shift, sum, sum of squares, since sync


@nb.njit(cache=True)
def _ring_push(state, o, window, v):  # pragma: no cover - compiled
    # Push v into the ring at state[o:]; return the window's (mean, std) once it is full.
    # Sums of (value - shift) are updated in O(1) and re-synced exactly from the buffer every
    # `window` pushes (shift = the exact mean then), so rounding never accumulates.
    count = state[o]
    pos = int(state[o + 1])
    shift = state[o + 2]
    if count >= window:
        old = state[o + RING + pos] - shift
        state[o + 3] -= old
        state[o + 4] -= old * old
    d = v - shift
    state[o + RING + pos] = v
    state[o + 3] += d
    state[o + 4] += d * d
    state[o + 1] = (pos + 1) % window
    count += 1
    state[o] = count
    state[o + 5] += 1
    if count < window:
        return NAN, NAN
    if state[o + 5] >= window:
        mean, std = _window_mean_std(state, o + RING, window)
        total = 0.0
        squares = 0.0
        for j in range(window):
            e = state[o + RING + j] - mean
            total += e
            squares += e * e
        state[o + 2] = mean
        state[o + 3] = total
        state[o + 4] = squares
        state[o + 5] = 0
        return mean, std
    m = state[o + 3] / window
    raw = state[o + 4] / window
    var = raw - m * m
    if var <= 1e-10 * raw:  # what is left is cancellation noise: the window is flat
        return shift + m, 0.0
    std = math.sqrt(var)
    return shift + m, std if std > FLAT * abs(shift + m) else 0.0


@nb.njit(SIGNATURE, cache=True)
def bollinger(state, params, x, out):  # pragma: no cover - compiled
    # Bollinger bands on a population standard deviation (as TA-Lib); outputs %B and width.
    # params: [close_col, period, nbdev, warmup]; state: [count, pos, ring buffer of closes]
    col = int(params[0])
    period = int(params[1])
    nbdev = params[2]
    for i in range(x.shape[0]):
        count = int(state[0]) + 1
        pos = int(state[1])
        c = x[i, col]
        state[2 + pos] = c
        state[1] = (pos + 1) % period
        state[0] = count
        if count >= period and count > params[3]:
            mean, std = _window_mean_std(state, 2, period)
            upper = mean + nbdev * std
            lower = mean - nbdev * std
            out[i, 0] = (c - lower) / (upper - lower) if upper > lower else 0.5
            out[i, 1] = (upper - lower) / mean
        else:
            out[i, 0] = NAN
            out[i, 1] = NAN


@nb.njit(SIGNATURE, cache=True)
def rolling_zscore(state, params, x, out):  # pragma: no cover - compiled
    # z-score of each input column against its own last `window` valid values (this one included).
    # params: [window, k, col_1..col_k]; state: one rolling-moments ring per column
    # NaN inputs (warm-up of the underlying feature) give NaN and leave the state alone.
    window = int(params[0])
    k = int(params[1])
    stride = window + RING
    for i in range(x.shape[0]):
        for j in range(k):
            v = x[i, int(params[2 + j])]
            if math.isnan(v):
                out[i, j] = NAN
                continue
            mean, std = _ring_push(state, j * stride, window, v)
            out[i, j] = (v - mean) / std if std > 0.0 else (NAN if math.isnan(std) else 0.0)


@nb.njit(SIGNATURE, cache=True)
def log_volume_zscore(state, params, x, out):  # pragma: no cover - compiled
    # z-score of log(1 + volume) over the last `window` bars.
    # params: [volume_col, window]; state: a rolling-moments ring
    window = int(params[1])
    col = int(params[0])
    for i in range(x.shape[0]):
        v = math.log1p(x[i, col])
        mean, std = _ring_push(state, 0, window, v)
        out[i, 0] = (v - mean) / std if std > 0.0 else (NAN if math.isnan(std) else 0.0)


@nb.njit(SIGNATURE, cache=True)
def close_location(state, params, x, out):  # pragma: no cover - compiled
    # close-location value ((c - l) - (h - c)) / (h - l) in [-1, 1]; 0 for a bar with no range.
    # params: [high_col, low_col, close_col]
    hc, lc, cc = int(params[0]), int(params[1]), int(params[2])
    for i in range(x.shape[0]):
        h, lo, c = x[i, hc], x[i, lc], x[i, cc]
        out[i, 0] = ((c - lo) - (h - c)) / (h - lo) if h > lo else 0.0
        state[0] += 1.0


@nb.njit(SIGNATURE, cache=True)
def pair_stats(state, params, x, out):  # pragma: no cover - compiled
    # Rolling correlation and beta of an asset's log returns against a reference's, and relative
    # strength (log return of the asset minus the reference's) over two windows. Rows where either
    # price is missing (the reference had no bar then) give NaN and leave the state alone.
    # params: [asset_col, ref_col, window, rs_1, rs_2]
    # state: [pairs, prev_asset, prev_ref, pos, spreads, spread_pos, returns x W, ref returns x W,
    #         spreads x (max(rs)+1)]
    a_col, r_col = int(params[0]), int(params[1])
    window = int(params[2])
    rs1, rs2 = int(params[3]), int(params[4])
    ssize = max(rs1, rs2) + 1
    xa = 6
    xr = 6 + window
    xs = 6 + 2 * window
    for i in range(x.shape[0]):
        a, r = x[i, a_col], x[i, r_col]
        if math.isnan(a) or math.isnan(r):
            for j in range(4):
                out[i, j] = NAN
            continue
        seen = int(state[4])
        spos = int(state[5])
        spread = math.log(a) - math.log(r)
        state[xs + spos] = spread
        out[i, 2] = spread - state[xs + (spos - rs1) % ssize] if seen >= rs1 else NAN
        out[i, 3] = spread - state[xs + (spos - rs2) % ssize] if seen >= rs2 else NAN
        state[5] = (spos + 1) % ssize
        state[4] = seen + 1
        pairs = int(state[0])
        if seen > 0:
            pos = int(state[3])
            state[xa + pos] = math.log(a / state[1])
            state[xr + pos] = math.log(r / state[2])
            state[3] = (pos + 1) % window
            pairs += 1
            state[0] = pairs
        state[1] = a
        state[2] = r
        if pairs >= window:
            ma, sa = _window_mean_std(state, xa, window)
            mr, sr = _window_mean_std(state, xr, window)
            cov = 0.0
            for j in range(window):
                cov += (state[xa + j] - ma) * (state[xr + j] - mr)
            cov /= window
            out[i, 0] = cov / (sa * sr) if sa > 0.0 and sr > 0.0 else 0.0
            out[i, 1] = cov / (sr * sr) if sr > 0.0 else 0.0
        else:
            out[i, 0] = NAN
            out[i, 1] = NAN


@nb.njit(SIGNATURE, cache=True)
def event_series(state, params, x, out):  # pragma: no cover - compiled
    # A series published at its own times (funding every 8h, an index daily), seen as-of each bar:
    # its latest value, the change from the previous publication, and the z-score of the value
    # against the last `window` publications. A row whose event time is new is a new publication.
    # params: [value_col, time_col, window]; state: [last_time, last_value, change, z, count, pos,
    #         ring buffer of `window` values]
    v_col, t_col = int(params[0]), int(params[1])
    window = int(params[2])
    for i in range(x.shape[0]):
        v, t = x[i, v_col], x[i, t_col]
        if math.isnan(t) or math.isnan(v):
            out[i, 0] = NAN
            out[i, 1] = NAN
            out[i, 2] = NAN
            continue
        if state[4] == 0 or t != state[0]:
            count = int(state[4]) + 1
            state[2] = v - state[1] if count > 1 else NAN
            pos = int(state[5])
            state[6 + pos] = v
            state[5] = (pos + 1) % window
            state[4] = count
            state[0] = t
            state[1] = v
            if count >= window:
                mean, std = _window_mean_std(state, 6, window)
                state[3] = (v - mean) / std if std > 0.0 else 0.0
            else:
                state[3] = NAN
        out[i, 0] = state[1]
        out[i, 1] = state[2]
        out[i, 2] = state[3]


@nb.njit(SIGNATURE, cache=True)
def flow_imbalance(state, params, x, out):  # pragma: no cover - compiled
    # Trade-flow imbalance from bars that carry taker-buy volume: (buy - sell) / volume
    # = (2 * taker_buy - volume) / volume, summed over the last w bars for each window, each
    # defined once its own w bars were seen. A row without taker volume (NaN) is missing: NaN out,
    # state unchanged; a window with no volume is 0.
    # params: [volume_col, taker_col, w_1..w_k]; state: [count, pos, volumes x W,
    #         taker volumes x W] with W = max(w)
    v_col, t_col = int(params[0]), int(params[1])
    k = out.shape[1]
    size = (state.shape[0] - 2) // 2
    for i in range(x.shape[0]):
        v, tb = x[i, v_col], x[i, t_col]
        if math.isnan(v) or math.isnan(tb):
            for j in range(k):
                out[i, j] = NAN
            continue
        pos = int(state[1])
        state[2 + pos] = v
        state[2 + size + pos] = tb
        state[1] = (pos + 1) % size
        state[0] += 1
        seen = state[0] - 1  # rows before this one
        for j in range(k):
            w = int(params[2 + j])
            if seen < w - 1:
                out[i, j] = NAN
                continue
            total = 0.0
            buy = 0.0
            for m in range(w):
                q = (pos - m) % size
                total += state[2 + q]
                buy += state[2 + size + q]
            out[i, j] = (2.0 * buy - total) / total if total > 0.0 else 0.0
