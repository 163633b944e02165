"""Scale-exact arithmetic on weights of any magnitude (docs/bounds.md, "Scale").

Singular values, average degrees and the universal-cover radius are all homogeneous of degree 1
in the weights: ``f(c W) = c f(W)``. Computing them on ``W / s`` and multiplying back by ``s``,
with ``s`` a power of two near the largest weight, is exact (a power-of-two product only moves
the exponent) and keeps every square, Gram entry, Frobenius norm and residual far from
overflow (``1e160**2``) and underflow (``1e-200**2``).

>>> power_of_two_scale(3.0), power_of_two_scale(1e-300) == 2.0 ** -997, power_of_two_scale(1e308) == 2.0 ** 1023
(2.0, True, True)
>>> scaled_mean(np.array([1e308, 1e308, 1e308, 5e307]), 2)   # the sum, 3.5e308, is not a double
1.75e+308
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["SAFE_MAGNITUDE", "scale_exponent", "power_of_two_scale", "needs_scaling", "scaled_mean", "group_norms"]

#: weights whose largest magnitude lies in ``[1 / SAFE_MAGNITUDE, SAFE_MAGNITUDE]`` are used as they
#: are: their squares, summed over any matrix that fits in memory, neither overflow nor underflow
SAFE_MAGNITUDE = 2.0**64


def scale_exponent(max_abs: float) -> int:
    """The ``e`` with ``max_abs / 2**e`` in ``[1, 2)``; 0 for 0 or a non-finite value."""
    v = float(max_abs)
    if v == 0 or not math.isfinite(v):
        return 0
    return math.frexp(abs(v))[1] - 1


def power_of_two_scale(max_abs: float) -> float:
    """The power of two ``s`` with ``max_abs / s`` in ``[1, 2)`` (representable for every
    positive double); 1.0 for 0 or a non-finite value."""
    return math.ldexp(1.0, scale_exponent(max_abs))


def needs_scaling(max_abs: float) -> bool:
    """Whether weights of this largest magnitude must be scaled before they are squared."""
    v = abs(float(max_abs))
    return v != 0 and math.isfinite(v) and not (1.0 / SAFE_MAGNITUDE <= v <= SAFE_MAGNITUDE)


def scaled_mean(values: np.ndarray, count: int) -> float:
    """``sum(values) / count`` of non-negative values, representable whenever the mean is (a sum
    of non-negative values never overflows before its total does; the total may, the mean not)."""
    if values.size == 0:
        return 0.0
    s = power_of_two_scale(float(np.max(np.abs(values))))
    return float(s * (np.sum(values / s) / count))


def group_norms(values: np.ndarray, groups: np.ndarray, n_groups: int) -> np.ndarray:
    """The Euclidean norm of ``values`` within each group (``np.hypot``-style: each group is
    scaled by a power of two near its largest magnitude, so no square under- or overflows)."""
    mags = np.abs(values)
    peak = np.zeros(n_groups)
    np.maximum.at(peak, groups, mags)
    exponent = np.frexp(peak)[1]
    scale = np.where(peak > 0, np.ldexp(1.0, exponent - 1), 1.0)
    ratio = mags / scale[groups]
    return scale * np.sqrt(np.bincount(groups, weights=ratio * ratio, minlength=n_groups))
