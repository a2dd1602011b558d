"""Parameters in one flat float32 buffer, and optimizers that update the whole buffer at once.

Keeping every weight and bias as a view into a single array makes an optimizer step a handful of
vectorized operations, whatever the number of layers: that is most of why the numpy MLP beats a
framework's per-tensor loop on the small networks tabular data needs.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Protocol

import numpy as np
import numpy.typing as npt

Vector = npt.NDArray[np.float32]


class FlatParameters:
    """Values and gradients of a model, each a flat buffer with one shaped view per tensor."""

    def __init__(self, shapes: Sequence[tuple[int, ...]]) -> None:
        sizes = [math.prod(shape) for shape in shapes]
        self.values: Vector = np.zeros(sum(sizes), np.float32)
        self.grads: Vector = np.zeros(sum(sizes), np.float32)
        self.tensors = _views(self.values, shapes, sizes)
        self.gradients = _views(self.grads, shapes, sizes)


def _views(buffer: Vector, shapes: Sequence[tuple[int, ...]], sizes: Sequence[int]) -> list[Vector]:
    views, offset = [], 0
    for shape, size in zip(shapes, sizes, strict=True):
        views.append(buffer[offset : offset + size].reshape(shape))
        offset += size
    return views


class Optimizer(Protocol):
    def step(self, values: Vector, grads: Vector) -> None: ...


class Adam:
    """Adam exactly as torch.optim.Adam computes it (bias-corrected, eps outside the square root)."""

    def __init__(self, size: int, *, lr: float, beta1: float = 0.9, beta2: float = 0.999, eps: float = 1e-8):
        self.lr, self.beta1, self.beta2, self.eps = lr, beta1, beta2, eps
        self.m = np.zeros(size, np.float32)
        self.v = np.zeros(size, np.float32)
        self._scratch = np.zeros(size, np.float32)
        self._denominator = np.zeros(size, np.float32)
        self.t = 0

    def step(self, values: Vector, grads: Vector) -> None:
        self.t += 1
        m, v, scratch, denominator = self.m, self.v, self._scratch, self._denominator
        m *= self.beta1
        np.multiply(grads, 1.0 - self.beta1, out=scratch)
        m += scratch
        v *= self.beta2
        np.multiply(grads, grads, out=scratch)
        scratch *= 1.0 - self.beta2
        v += scratch
        np.sqrt(v, out=denominator)
        denominator *= 1.0 / math.sqrt(1.0 - self.beta2**self.t)
        denominator += self.eps
        np.divide(m, denominator, out=scratch)
        scratch *= self.lr / (1.0 - self.beta1**self.t)
        values -= scratch


class Sgd:
    """Plain SGD, with heavy-ball momentum when `momentum` > 0 (torch.optim.SGD's formulation)."""

    def __init__(self, size: int, *, lr: float, momentum: float = 0.0):
        self.lr, self.momentum = lr, momentum
        self.velocity = np.zeros(size, np.float32)

    def step(self, values: Vector, grads: Vector) -> None:
        if self.momentum:
            self.velocity *= self.momentum
            self.velocity += grads
            values -= self.lr * self.velocity
        else:
            values -= self.lr * grads
