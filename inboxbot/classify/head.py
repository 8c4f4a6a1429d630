"""A small multi-label head over sentence embeddings and rule scores.

Either a logistic regression per label, or the same on top of one hidden ReLU layer (a small MLP)
when trained with `hidden > 0`. Trained by scripts/train_classifier.py with full-batch Adam from a
fixed start (zeros; the hidden layer from a seeded generator), so the same corpus and features
always give the same weights. Saved as a compressed .npz small enough to commit beside the code.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(z, -40.0, 40.0)))


@dataclass(frozen=True)
class LinearHead:
    labels: tuple[str, ...]
    weights: np.ndarray  # (features, labels)
    bias: np.ndarray  # (labels,)
    mean: np.ndarray  # feature standardisation, learnt on the training set
    scale: np.ndarray
    meta: dict[str, str]
    # Platt scaling of the top probability into "how likely the label is right", fitted on
    # out-of-fold predictions of the training set (see calibrate()): (slope, intercept).
    calibration: tuple[float, float] = (1.0, 0.0)
    # Optional hidden layer: features -> relu(x @ hidden_weights + hidden_bias) -> weights.
    hidden_weights: np.ndarray | None = None  # (features, hidden)
    hidden_bias: np.ndarray | None = None  # (hidden,)

    def confidence(self, top: np.ndarray) -> np.ndarray:
        """Calibrated confidence that the highest-scoring label is right."""
        p = np.clip(top, 1e-6, 1 - 1e-6)
        a, b = self.calibration
        return _sigmoid(a * np.log(p / (1 - p)) + b)

    def predict_proba(self, features: np.ndarray) -> np.ndarray:
        """Probabilities in [0, 1], one column per label (independent: several may be high)."""
        x = (features - self.mean) / self.scale
        if self.hidden_weights is not None and self.hidden_bias is not None:
            x = np.maximum(x @ self.hidden_weights + self.hidden_bias, 0.0)
        return _sigmoid(x @ self.weights + self.bias)

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        arrays: dict[str, Any] = {
            "labels": np.array(self.labels),
            "weights": self.weights.astype(np.float32),
            "bias": self.bias.astype(np.float32),
            "mean": self.mean.astype(np.float32),
            "scale": self.scale.astype(np.float32),
            "calibration": np.array(self.calibration, dtype=np.float64),
            "meta_keys": np.array(list(self.meta.keys())),
            "meta_values": np.array(list(self.meta.values())),
        }
        if self.hidden_weights is not None and self.hidden_bias is not None:
            arrays["hidden_weights"] = self.hidden_weights.astype(np.float32)
            arrays["hidden_bias"] = self.hidden_bias.astype(np.float32)
        np.savez_compressed(path, **arrays)

    @classmethod
    def load(cls, path: Path) -> LinearHead:
        with np.load(path, allow_pickle=False) as data:
            meta = dict(zip(data["meta_keys"].tolist(), data["meta_values"].tolist()))
            cal = data["calibration"].tolist() if "calibration" in data else [1.0, 0.0]
            hidden = data.get("hidden_weights")
            hidden_bias = data.get("hidden_bias")
            return cls(tuple(data["labels"].tolist()), data["weights"], data["bias"],
                       data["mean"], data["scale"], meta, (float(cal[0]), float(cal[1])),
                       hidden, hidden_bias)


def fit(
    features: np.ndarray,
    targets: np.ndarray,
    labels: tuple[str, ...],
    *,
    l2: float = 1e-3,
    epochs: int = 600,
    learning_rate: float = 0.05,
    pos_power: float = 0.5,
    sample_weight: np.ndarray | None = None,
    feature_gain: np.ndarray | None = None,
    hidden: int = 0,
    meta: dict[str, str] | None = None,
) -> LinearHead:
    """Binary cross-entropy per label plus an L2 penalty, minimised with Adam on the full batch.

    `targets` is multi-hot (examples, labels). Positive examples of rare labels are weighted up by
    (negatives / positives) ** pos_power so that every intent counts, whatever its share of the
    corpus. `sample_weight` (examples,) weighs whole examples (e.g. languages with few letters
    up). `feature_gain` (features,) multiplies the standardised features: a gain above 1 lets a
    group (the lexicon scores) speak with less L2 penalty; it is folded into the saved `scale`,
    so prediction needs nothing new. `hidden` > 0 puts one ReLU layer of that width in between.
    """
    x = features.astype(np.float64)
    mean = x.mean(axis=0)
    scale = x.std(axis=0) + 1e-6
    if feature_gain is not None:
        scale = scale / feature_gain
    x = (x - mean) / scale
    y = targets.astype(np.float64)
    n = x.shape[0]
    pos = y.sum(axis=0)
    pos_weight = np.where(pos > 0, (n - pos) / np.maximum(pos, 1.0), 1.0) ** pos_power
    row_weight = np.ones((n, 1)) if sample_weight is None else \
        (sample_weight.astype(np.float64) / sample_weight.mean()).reshape(n, 1)
    weight = np.where(y > 0, pos_weight, 1.0) * row_weight / n
    if hidden:
        return _fit_mlp(x, y, weight, labels, hidden, l2=l2, epochs=epochs, learning_rate=learning_rate,
                        mean=mean, scale=scale, meta=meta)
    w = np.zeros((x.shape[1], y.shape[1]))
    b = np.zeros(y.shape[1])
    adam = _Adam(learning_rate)
    for _ in range(epochs):
        p = _sigmoid(x @ w + b)
        grad_z = (p - y) * weight
        adam.step((w, b), (x.T @ grad_z + l2 * w, grad_z.sum(axis=0)))
    return LinearHead(labels, w.astype(np.float32), b.astype(np.float32), mean.astype(np.float32),
                      scale.astype(np.float32), dict(meta or {}))


class _Adam:
    """Adam updates in place, one moment pair per parameter array."""

    def __init__(self, learning_rate: float, beta1: float = 0.9, beta2: float = 0.999) -> None:
        self.lr, self.beta1, self.beta2, self.t = learning_rate, beta1, beta2, 0
        self.moments: list[tuple[np.ndarray, np.ndarray]] = []

    def step(self, params: tuple[np.ndarray, ...], grads: tuple[np.ndarray, ...]) -> None:
        if not self.moments:
            self.moments = [(np.zeros_like(p), np.zeros_like(p)) for p in params]
        self.t += 1
        for param, grad, (m, v) in zip(params, grads, self.moments):
            m *= self.beta1
            m += (1 - self.beta1) * grad
            v *= self.beta2
            v += (1 - self.beta2) * grad * grad
            param -= self.lr * (m / (1 - self.beta1**self.t)) / (np.sqrt(v / (1 - self.beta2**self.t)) + 1e-8)


def _fit_mlp(x: np.ndarray, y: np.ndarray, weight: np.ndarray, labels: tuple[str, ...], hidden: int, *,
             l2: float, epochs: int, learning_rate: float, mean: np.ndarray, scale: np.ndarray,
             meta: dict[str, str] | None) -> LinearHead:
    """One hidden ReLU layer; He initialisation from a fixed seed, the output layer from zero."""
    d, k = x.shape[1], y.shape[1]
    rng = np.random.default_rng(20261123)
    w1 = rng.normal(0.0, np.sqrt(2.0 / d), size=(d, hidden))
    b1 = np.zeros(hidden)
    w2 = np.zeros((hidden, k))
    b2 = np.zeros(k)
    adam = _Adam(learning_rate)
    for _ in range(epochs):
        pre = x @ w1 + b1
        h = np.maximum(pre, 0.0)
        p = _sigmoid(h @ w2 + b2)
        grad_z = (p - y) * weight
        grad_h = (grad_z @ w2.T) * (pre > 0)
        adam.step((w1, b1, w2, b2), (x.T @ grad_h + l2 * w1, grad_h.sum(axis=0),
                                     h.T @ grad_z + l2 * w2, grad_z.sum(axis=0)))
    return LinearHead(labels, w2.astype(np.float32), b2.astype(np.float32), mean.astype(np.float32),
                      scale.astype(np.float32), dict(meta or {}), (1.0, 0.0),
                      w1.astype(np.float32), b1.astype(np.float32))


def calibrate(top: np.ndarray, correct: np.ndarray, *, epochs: int = 2000) -> tuple[float, float]:
    """Fit P(correct) = sigmoid(a * logit(top) + b) by gradient descent on the log-loss.

    `top` are out-of-fold top probabilities and `correct` whether that label was right, so the
    calibrated number means what a DPO would expect: 0.8 is right about four times in five."""
    p = np.clip(top.astype(np.float64), 1e-6, 1 - 1e-6)
    z = np.log(p / (1 - p))
    y = correct.astype(np.float64)
    a, b = 1.0, 0.0
    for _ in range(epochs):
        q = _sigmoid(a * z + b)
        a -= 0.1 * float(np.mean((q - y) * z))
        b -= 0.1 * float(np.mean(q - y))
    return a, b
