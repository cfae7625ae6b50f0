"""Sequence classifiers (PyTorch): LSTM and Transformer encoder over each row's last N rows.

sklearn-shaped like the GBDTs, with the windowing inside the model: `fit(X, y, sample_weight)`
takes a Features frame (index (ts, symbol)) whose rows *with* a label are the training targets
and whose rows without one (NaN) only give context to later windows. Each target row's input is
its own symbol's last `lookback` rows of X ending at it (zeros, i.e. the median, before the
symbol's first row). `predict_proba(X)` scores every row of X the same way.

Inputs are scaled by the training rows' median and interquartile range and clipped to ±5 (NaN
becomes 0, the median). Early stopping watches the weighted loss on the last `valid_fraction` of
the targets (by time), with the targets of the last `purge` before it left out of training, so
no training label overlaps a validation label. A seed makes a CPU fit reproducible.
"""

from __future__ import annotations

import copy
import warnings

import numpy as np
import pandas as pd
import torch
from torch import nn


class _LSTMNet(nn.Module):
    def __init__(self, n_in: int, n_out: int, hidden: int, layers: int, dropout: float) -> None:
        super().__init__()
        self.lstm = nn.LSTM(
            n_in, hidden, layers, batch_first=True, dropout=dropout if layers > 1 else 0.0
        )
        self.head = nn.Sequential(nn.Dropout(dropout), nn.Linear(hidden, n_out))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out, _ = self.lstm(x)
        return self.head(out[:, -1])


class _TransformerNet(nn.Module):
    def __init__(
        self, n_in: int, n_out: int, hidden: int, layers: int, dropout: float, lookback: int
    ) -> None:
        super().__init__()
        heads = 4 if hidden % 4 == 0 else 1
        self.embed = nn.Linear(n_in, hidden)
        self.position = nn.Parameter(torch.zeros(1, lookback, hidden))
        layer = nn.TransformerEncoderLayer(
            hidden, heads, 2 * hidden, dropout, batch_first=True, norm_first=True
        )
        self.encoder = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)
        self.head = nn.Sequential(nn.LayerNorm(hidden), nn.Linear(hidden, n_out))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.encoder(self.embed(x) + self.position)
        return self.head(h[:, -1])


class Windows:
    """Each row's window as an index into one scaled, per-symbol zero-padded matrix."""

    def __init__(self, X: pd.DataFrame, center, spread, lookback: int) -> None:
        symbols = X.index.get_level_values("symbol")
        ts = X.index.get_level_values("ts")
        codes, uniques = pd.factorize(symbols)
        order = np.lexsort((ts.asi8, codes))  # by symbol, then time
        pad = lookback - 1
        slot = np.arange(len(X)) + pad * (codes[order] + 1)
        scaled = (X.to_numpy(np.float32) - center) / spread
        scaled = np.clip(np.nan_to_num(scaled, nan=0.0), -5.0, 5.0).astype(np.float32)
        matrix = np.zeros((len(X) + pad * len(uniques), X.shape[1]), dtype=np.float32)
        matrix[slot] = scaled[order]
        self.matrix = torch.from_numpy(matrix)
        self.end = np.empty(len(X), dtype=np.int64)
        self.end[order] = slot
        self.offsets = torch.arange(-pad, 1)

    def to(self, device: torch.device) -> Windows:
        self.matrix = self.matrix.to(device)
        self.offsets = self.offsets.to(device)
        return self

    def batch(self, rows: np.ndarray) -> torch.Tensor:
        """(len(rows), lookback, n_features) windows ending at `rows`."""
        end = torch.as_tensor(self.end[rows], device=self.matrix.device)
        return self.matrix[end[:, None] + self.offsets]


class SequenceClassifier:
    """Shared training loop; subclasses build the network in `_network`."""

    is_classifier = True

    def __init__(
        self,
        lookback: int = 48,
        hidden: int = 32,
        layers: int = 1,
        dropout: float = 0.1,
        epochs: int = 8,
        batch_size: int = 256,
        learning_rate: float = 1e-3,
        weight_decay: float = 1e-4,
        patience: int = 2,
        valid_fraction: float = 0.2,
        purge: str = "48h",
        threads: int = 1,
        seed: int = 0,
        device: str = "auto",
    ) -> None:
        if lookback < 1:
            raise ValueError(f"lookback must be at least 1, was {lookback}")
        if not 0.0 <= valid_fraction < 0.5:
            raise ValueError(f"valid_fraction must be in [0, 0.5), was {valid_fraction}")
        self.lookback = lookback
        self.hidden = hidden
        self.layers = layers
        self.dropout = dropout
        self.epochs = epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.weight_decay = weight_decay
        self.patience = patience
        self.valid_fraction = valid_fraction
        self.purge = purge
        self.threads = threads
        self.seed = seed
        self.device = device

    def _network(self, n_in: int, n_out: int) -> nn.Module:  # pragma: no cover - overridden
        raise NotImplementedError

    def _device(self) -> torch.device:
        if self.device == "auto":
            return torch.device("cuda" if torch.cuda.is_available() else "cpu")
        return torch.device(self.device)

    def _split(self, ts: pd.DatetimeIndex, targets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Training and validation targets: the validation block is the last share by time,
        and training targets within `purge` of it are dropped."""
        if self.valid_fraction == 0.0:
            return targets, targets[:0]
        t = ts[targets]
        cut = t.min() + (t.max() - t.min()) * (1.0 - self.valid_fraction)
        train = targets[t < cut - pd.Timedelta(self.purge)]
        valid = targets[t >= cut]
        if len(valid) < 50 or len(train) < 100:
            return targets, targets[:0]
        return train, valid

    def fit(self, X: pd.DataFrame, y: pd.Series, sample_weight: pd.Series | None = None):
        """Fit on the rows of X with a label in `y`; unlabeled rows are context only."""
        torch.set_num_threads(self.threads)
        torch.manual_seed(self.seed)
        label = pd.Series(np.asarray(y, dtype=np.float64), index=X.index)
        targets = np.flatnonzero(label.notna().to_numpy())
        if len(targets) < 100:
            raise ValueError(f"need at least 100 labeled rows to fit, found {len(targets)}")
        self.columns_ = list(X.columns)
        self.classes_, codes = np.unique(label.to_numpy()[targets], return_inverse=True)
        if len(self.classes_) < 2:
            raise ValueError(f"need at least two classes to fit, found {self.classes_}")
        weight = (
            np.ones(len(X))
            if sample_weight is None
            else np.nan_to_num(np.asarray(sample_weight, dtype=np.float64))
        )
        known = X.iloc[: targets.max() + 1].to_numpy(np.float32)  # rows up to the last target
        sample = known[np.random.default_rng(self.seed).permutation(len(known))[:200_000]]
        with warnings.catch_warnings():  # a feature NaN throughout (e.g. before its source began)
            warnings.simplefilter("ignore", RuntimeWarning)
            q25, q50, q75 = np.nanpercentile(sample, [25, 50, 75], axis=0)
        self.center_ = np.nan_to_num(q50).astype(np.float32)
        spread = np.nan_to_num(q75 - q25)
        self.spread_ = np.where(spread > 1e-12, spread, 1.0).astype(np.float32)

        device = self._device()
        windows = Windows(X, self.center_, self.spread_, self.lookback).to(device)
        target_code = np.full(len(X), -1, dtype=np.int64)
        target_code[targets] = codes
        train, valid = self._split(X.index.get_level_values("ts"), targets)
        net = self._network(X.shape[1], len(self.classes_)).to(device)
        optimizer = torch.optim.AdamW(
            net.parameters(), lr=self.learning_rate, weight_decay=self.weight_decay
        )
        generator = torch.Generator().manual_seed(self.seed)
        best, best_loss, stale = copy.deepcopy(net.state_dict()), np.inf, 0
        self.history_ = []
        for _ in range(self.epochs):
            net.train()
            order = train[torch.randperm(len(train), generator=generator).numpy()]
            for start in range(0, len(order), self.batch_size):
                rows = order[start : start + self.batch_size]
                loss = self._loss(net, windows, rows, target_code, weight, device)
                optimizer.zero_grad()
                loss.backward()
                nn.utils.clip_grad_norm_(net.parameters(), 1.0)
                optimizer.step()
            if not len(valid):
                continue
            net.eval()
            with torch.no_grad():
                total = sum(
                    float(
                        self._loss(net, windows, valid[s : s + 4096], target_code, weight, device)
                    )
                    * len(valid[s : s + 4096])
                    for s in range(0, len(valid), 4096)
                ) / len(valid)
            self.history_.append(total)
            if total < best_loss - 1e-5:
                best, best_loss, stale = copy.deepcopy(net.state_dict()), total, 0
            else:
                stale += 1
                if stale >= self.patience:
                    break
        if len(valid):
            net.load_state_dict(best)
        self.net_ = net.to("cpu").eval()
        self.epochs_run_ = len(self.history_) if len(valid) else self.epochs
        return self

    @staticmethod
    def _loss(net, windows, rows, target_code, weight, device) -> torch.Tensor:
        logits = net(windows.batch(rows))
        target = torch.as_tensor(target_code[rows], device=device)
        w = torch.as_tensor(weight[rows], dtype=torch.float32, device=device)
        per_row = nn.functional.cross_entropy(logits, target, reduction="none")
        return (per_row * w).sum() / w.sum().clamp_min(1e-12)

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        """(n, k) class probabilities for every row of X, each from its own window."""
        torch.set_num_threads(self.threads)
        device = self._device()
        windows = Windows(X[self.columns_], self.center_, self.spread_, self.lookback).to(device)
        net = self.net_.to(device)
        out = []
        with torch.no_grad():
            for start in range(0, len(X), 4096):
                rows = np.arange(start, min(start + 4096, len(X)))
                out.append(torch.softmax(net(windows.batch(rows)), dim=1).cpu().numpy())
        self.net_ = net.to("cpu")
        return np.concatenate(out).astype(np.float64) if out else np.empty((0, 2))

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        return self.classes_[self.predict_proba(X).argmax(axis=1)]

    def score_array(self, x: np.ndarray) -> np.ndarray:
        raise TypeError(
            "a sequence model scores windows of rows, not single feature vectors: "
            "serve a run whose trade horizon uses a tabular model"
        )

    def feature_importance(self) -> pd.Series | None:
        return None  # no gain importance for a neural network


class LSTMClassifier(SequenceClassifier):
    """LSTM over the window; the last hidden state feeds a linear head."""

    def _network(self, n_in: int, n_out: int) -> nn.Module:
        return _LSTMNet(n_in, n_out, self.hidden, self.layers, self.dropout)


class TransformerClassifier(SequenceClassifier):
    """Pre-norm Transformer encoder with learned positions; the last token feeds the head."""

    def __init__(self, lookback: int = 48, hidden: int = 32, layers: int = 2, **kwargs) -> None:
        super().__init__(lookback=lookback, hidden=hidden, layers=layers, **kwargs)

    def _network(self, n_in: int, n_out: int) -> nn.Module:
        return _TransformerNet(n_in, n_out, self.hidden, self.layers, self.dropout, self.lookback)
