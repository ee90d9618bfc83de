"""cnnlab.ops math and linalg ops against NumPy."""

import math

import numpy as np
import pytest
import torch

from cnnlab import ops
from cnnlab.errors import ConfigError, ShapeError

RNG = np.random.default_rng(2)
X = RNG.normal(size=(3, 5))
SQUARE = RNG.normal(size=(3, 3)) + 3 * np.eye(3)
SPD = SQUARE @ SQUARE.T


def _close(got, expected, tol=1e-6):
    np.testing.assert_allclose(np.asarray(got), np.asarray(expected), rtol=tol, atol=tol)


def test_top_k_returns_sorted_values_and_int32_indices():
    values, indices = ops.top_k(X, 2)
    order = np.argsort(-X, axis=-1)[:, :2]
    _close(values, np.take_along_axis(X, order, -1))
    _close(indices, order)
    assert indices.dtype == torch.int32


def test_in_top_k_matches_numpy():
    targets = np.array([0, 4, 2])
    ranks = (X > X[np.arange(3), targets][:, None]).sum(1)
    _close(ops.in_top_k(targets, X, 2), ranks < 2)


def test_logsumexp_and_special_functions_match_numpy():
    _close(ops.logsumexp(X), np.log(np.exp(X).sum()))
    _close(ops.logsumexp(X, axis=1, keepdims=True), np.log(np.exp(X).sum(1, keepdims=True)))
    _close(ops.erf(X), np.vectorize(math.erf)(X))
    _close(ops.erfc(X), np.vectorize(math.erfc)(X))
    _close(ops.erfinv(ops.erf(X)), X, 1e-5)
    _close(ops.rsqrt(np.abs(X) + 1), 1 / np.sqrt(np.abs(X) + 1))
    _close(ops.logdet(SPD), np.linalg.slogdet(SPD)[1])
    _close(ops.cdist(X, X[:2]), np.sqrt(((X[:, None] - X[None, :2]) ** 2).sum(-1)))


@pytest.mark.parametrize("name, numpy_op, fill", [("segment_sum", np.add, 0.0), ("segment_max", np.maximum, -np.inf),
                                                   ("segment_min", np.minimum, np.inf), ("segment_prod", np.multiply, 1.0)])
def test_segment_reductions_match_numpy(name, numpy_op, fill):
    ids = np.array([0, 2, 0])
    expected = np.full((4, 5), fill)
    numpy_op.at(expected, ids, X)
    if fill in (np.inf, -np.inf):  # TF leaves empty segments at the dtype's extreme finite value
        expected = np.nan_to_num(expected, posinf=np.finfo(X.dtype).max, neginf=np.finfo(X.dtype).min)
    _close(getattr(ops, name)(X, ids, num_segments=4), expected)


def test_fft_family_matches_numpy():
    real, imag = X, RNG.normal(size=X.shape)
    spectrum = np.fft.fft(real + 1j * imag)
    got = ops.fft((real, imag))
    _close(got[0], spectrum.real)
    _close(got[1], spectrum.imag)
    got2 = ops.fft2((real, imag))
    _close(got2[0], np.fft.fft2(real + 1j * imag).real)
    back = ops.ifft2(got2)
    _close(back[0], real)
    r = ops.rfft(X)
    _close(r[0], np.fft.rfft(X).real)
    _close(ops.irfft(r, 5), np.fft.irfft(np.fft.rfft(X), 5))
    _close(ops.extract_sequences(np.arange(10.0), 4, 3), [[0, 1, 2, 3], [3, 4, 5, 6], [6, 7, 8, 9]])


def test_linalg_matches_numpy():
    _close(ops.norm(X), np.linalg.norm(X))
    _close(ops.norm(X, axis=1), np.linalg.norm(X, axis=1))
    _close(ops.norm(X, ord=1, axis=0, keepdims=True), np.linalg.norm(X, ord=1, axis=0, keepdims=True))
    _close(ops.norm(X, ord="fro"), np.linalg.norm(X, ord="fro"))
    _close(ops.norm(X, ord=np.inf), np.linalg.norm(X, ord=np.inf))
    _close(ops.linalg.inv(SQUARE), np.linalg.inv(SQUARE))
    _close(ops.linalg.det(SQUARE), np.linalg.det(SQUARE))
    b = RNG.normal(size=(3, 2))
    _close(ops.linalg.solve(SQUARE, b), np.linalg.solve(SQUARE, b))
    lower = np.tril(SQUARE)
    _close(ops.linalg.solve_triangular(lower, b, lower=True), np.linalg.solve(lower, b))
    chol = ops.linalg.cholesky(SPD).numpy()
    _close(chol, np.linalg.cholesky(SPD))
    _close(ops.linalg.cholesky_inverse(chol), np.linalg.inv(SPD))
    q, r = ops.linalg.qr(X.T)
    _close(q.numpy() @ r.numpy(), X.T)
    _close(ops.linalg.svd(X, compute_uv=False), np.linalg.svd(X, compute_uv=False))
    _close(ops.linalg.eigh(SPD)[0], np.linalg.eigh(SPD)[0], 1e-5)
    _close(ops.linalg.lstsq(X.T, np.ones(5)), np.linalg.lstsq(X.T, np.ones(5), rcond=None)[0], 1e-5)
    _close(ops.linalg.pinv(X), np.linalg.pinv(X), 1e-5)
    assert int(ops.linalg.matrix_rank(X)) == np.linalg.matrix_rank(X)


def test_math_errors_name_the_argument():
    with pytest.raises(ConfigError, match="top_k: k must be between 1 and.*Received: k=9"):
        ops.top_k(X, 9)
    with pytest.raises(ShapeError, match="in_top_k: targets must be"):
        ops.in_top_k([[0]], X, 1)
    with pytest.raises(ConfigError, match="Received: mode='full'"):
        ops.linalg.qr(X, mode="full")
