"""Losses on a mini-batch: each returns the mean loss and the gradient with respect to the model's output.

Classification losses take logits (pre-activation outputs) so that they stay finite for any logit.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

Matrix = npt.NDArray[np.float32]


def sigmoid(z: Matrix) -> Matrix:
    # Clipping keeps exp() finite in float32 without changing the result at float32 precision.
    return (1.0 / (1.0 + np.exp(-np.clip(z, -60.0, 60.0)))).astype(np.float32)


def softmax(z: Matrix) -> Matrix:
    shifted = np.exp(z - z.max(axis=1, keepdims=True))
    result: Matrix = (shifted / shifted.sum(axis=1, keepdims=True)).astype(np.float32)
    return result


def logistic(z: Matrix, y: Matrix) -> tuple[float, Matrix]:
    """Binary cross-entropy of sigmoid(z) against y ∈ {0, 1}; shapes (b, 1)."""
    loss = np.maximum(z, 0.0) - z * y + np.log1p(np.exp(-np.abs(z)))
    return float(loss.mean()), (sigmoid(z) - y) / np.float32(z.shape[0])


def softmax_cross_entropy(z: Matrix, onehot: Matrix) -> tuple[float, Matrix]:
    """Categorical cross-entropy of softmax(z) against one-hot targets; shapes (b, k)."""
    shifted = z - z.max(axis=1, keepdims=True)
    log_norm = np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    loss = float((log_norm - (shifted * onehot).sum(axis=1, keepdims=True)).mean())
    return loss, (np.exp(shifted - log_norm) - onehot) / np.float32(z.shape[0])


def squared(z: Matrix, y: Matrix) -> tuple[float, Matrix]:
    """Mean squared error; shapes (b, 1)."""
    residual = z - y
    return float((residual * residual).mean()), residual * np.float32(2.0 / z.shape[0])


def absolute(z: Matrix, y: Matrix) -> tuple[float, Matrix]:
    """Mean absolute error; shapes (b, 1)."""
    residual = z - y
    return float(np.abs(residual).mean()), np.sign(residual) / np.float32(z.shape[0])
