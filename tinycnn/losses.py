"""Softmax and the cross-entropy loss on logits."""
import numpy as np


def softmax(logits):
    """logits: (N, K) -> probabilities (N, K), rows summing to 1. Shifted by the row max so exp never overflows."""
    z = logits - logits.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def softmax_cross_entropy(logits, labels, label_smoothing=0.0):
    """Mean cross-entropy of softmax(logits) against integer labels, and its gradient.

    logits: (N, K) float; labels: (N,) integers in [0, K).
    Returns (loss: float, dlogits: (N, K)). Computed by log-sum-exp, so large logits are safe:
    log p = z - log(sum(exp(z))), z = logits - max; the sum is 1 + (the other terms), taken as
    log1p(others) so that a confident prediction's tiny loss keeps its precision.
    With label_smoothing e, the target is (1 - e) * onehot + e / K, as in PyTorch.
    """
    logits = np.asarray(logits)
    labels = np.asarray(labels)
    if logits.ndim != 2:
        raise ValueError(f"softmax_cross_entropy: expected logits (N, K), got {logits.shape}")
    N, K = logits.shape
    if labels.shape != (N,) or labels.dtype.kind not in "iu":
        raise ValueError(f"softmax_cross_entropy: expected integer labels of shape ({N},), "
                         f"got {labels.dtype} {labels.shape}")
    if N and (labels.min() < 0 or labels.max() >= K):
        raise ValueError(f"softmax_cross_entropy: labels must be in [0, {K}), "
                         f"got values from {labels.min()} to {labels.max()}")
    z = logits - logits.max(axis=1, keepdims=True)
    first_max = np.zeros_like(z, dtype=bool)
    first_max[np.arange(N), z.argmax(axis=1)] = True
    others = np.exp(np.where(first_max, -np.inf, z)).sum(axis=1, keepdims=True)
    log_p = z - np.log1p(others)
    target = np.full((N, K), label_smoothing / K, dtype=logits.dtype)
    target[np.arange(N), labels] += 1 - label_smoothing
    loss = -np.sum(target * log_p) / N
    # p - target; where the target is large, p - 1 = expm1(log p) keeps the digits that
    # exp(log p) - 1 would lose when p is within 1e-16 of 1.
    big = target > 0.5
    dlogits = np.where(big, np.expm1(log_p) + (1 - target), np.exp(log_p) - target) / N
    return float(loss), dlogits.astype(logits.dtype, copy=False)
