"""A small multi-label logistic-regression head over sentence embeddings and rule scores.

Trained by scripts/train_classifier.py with full-batch Adam from a zero start, so the same corpus
and features always give the same weights. Saved as a compressed .npz of a few kilobytes that is
committed beside the code.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

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

    def confidence(self, top: np.ndarray) -> np.ndarray:
        """Calibrated confidence that the highest-scoring label is right."""
        p = np.clip(top, 1e-6, 1 - 1e-6)
        a, b = self.calibration
        return _sigmoid(a * np.log(p / (1 - p)) + b)

    def predict_proba(self, features: np.ndarray) -> np.ndarray:
        """Probabilities in [0, 1], one column per label (independent: several may be high)."""
        x = (features - self.mean) / self.scale
        return _sigmoid(x @ self.weights + self.bias)

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        np.savez_compressed(
            path,
            labels=np.array(self.labels),
            weights=self.weights.astype(np.float32),
            bias=self.bias.astype(np.float32),
            mean=self.mean.astype(np.float32),
            scale=self.scale.astype(np.float32),
            calibration=np.array(self.calibration, dtype=np.float64),
            meta_keys=np.array(list(self.meta.keys())),
            meta_values=np.array(list(self.meta.values())),
        )

    @classmethod
    def load(cls, path: Path) -> LinearHead:
        with np.load(path, allow_pickle=False) as data:
            meta = dict(zip(data["meta_keys"].tolist(), data["meta_values"].tolist()))
            cal = data["calibration"].tolist() if "calibration" in data else [1.0, 0.0]
            return cls(tuple(data["labels"].tolist()), data["weights"], data["bias"],
                       data["mean"], data["scale"], meta, (float(cal[0]), float(cal[1])))


def fit(
    features: np.ndarray,
    targets: np.ndarray,
    labels: tuple[str, ...],
    *,
    l2: float = 1e-3,
    epochs: int = 600,
    learning_rate: float = 0.05,
    meta: dict[str, str] | None = None,
) -> LinearHead:
    """Binary cross-entropy per label plus an L2 penalty, minimised with Adam on the full batch.

    `targets` is multi-hot (examples, labels). Positive examples of rare labels are weighted up
    so that every intent counts the same, whatever its share of the corpus.
    """
    x = features.astype(np.float64)
    mean = x.mean(axis=0)
    scale = x.std(axis=0) + 1e-6
    x = (x - mean) / scale
    y = targets.astype(np.float64)
    n, d = x.shape
    k = y.shape[1]
    pos = y.sum(axis=0)
    pos_weight = np.where(pos > 0, (n - pos) / np.maximum(pos, 1.0), 1.0) ** 0.5
    w = np.zeros((d, k))
    b = np.zeros(k)
    m_w, v_w, m_b, v_b = np.zeros_like(w), np.zeros_like(w), np.zeros_like(b), np.zeros_like(b)
    beta1, beta2, eps = 0.9, 0.999, 1e-8
    for step in range(1, epochs + 1):
        p = _sigmoid(x @ w + b)
        sample_weight = np.where(y > 0, pos_weight, 1.0)
        grad_z = (p - y) * sample_weight / n
        g_w = x.T @ grad_z + l2 * w
        g_b = grad_z.sum(axis=0)
        for param, grad, m, v in ((w, g_w, m_w, v_w), (b, g_b, m_b, v_b)):
            m *= beta1
            m += (1 - beta1) * grad
            v *= beta2
            v += (1 - beta2) * grad * grad
            param -= learning_rate * (m / (1 - beta1**step)) / (np.sqrt(v / (1 - beta2**step)) + eps)
    return LinearHead(labels, w.astype(np.float32), b.astype(np.float32), mean.astype(np.float32),
                      scale.astype(np.float32), dict(meta or {}))


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
