"""Offline data sets of the lottery-ticket experiments, by name. Nothing is downloaded.

- ``digits``: scikit-learn's bundled 8x8 handwritten digits (1,797 images), the embedded
  default; split into train and test by a seeded permutation.
- ``fashion-mnist``: the IDX ``.gz`` files (default directory ``/usr/share/datasets/fashion-mnist/``,
  Debian's ``dataset-fashion-mnist``).
- ``mnist``: the IDX files (``.gz`` or not) in a directory you give.
- ``cifar10``: the standard python batches (``data_batch_1`` .. ``data_batch_5``, ``test_batch``)
  in a directory you give (the ``cifar-10-batches-py`` folder).

Images are held as float32 arrays in *pixel space* ``[0, 1]`` of shape ``(N, C, H, W)``; the model
sees them normalised by the training set's per-channel mean and standard deviation.
Noisy test sets add zero-mean Gaussian noise of standard deviation ``sigma`` (in the same ``[0, 1]``
pixel units) before normalisation, clip to ``[0, 1]``, and are seeded.

>>> ds = load_dataset("digits", seed=0)
>>> ds.input_shape, ds.num_classes, len(ds.x_train) + len(ds.x_test)
((1, 8, 8), 10, 1797)
"""

from __future__ import annotations

import gzip
import os
import pickle
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

__all__ = ["Dataset", "DATASETS", "DEFAULT_DIRS", "load_dataset", "add_noise", "read_idx", "dataset_names"]

#: where each file-based set is looked for when no directory is given
DEFAULT_DIRS: dict[str, str | None] = {
    "digits": None,
    "fashion-mnist": "/usr/share/datasets/fashion-mnist/",
    "mnist": None,
    "cifar10": None,
}


@dataclass(frozen=True)
class Dataset:
    """A train/test split in pixel space ``[0, 1]`` plus the normalisation the model sees."""

    name: str
    x_train: np.ndarray = field(repr=False)
    y_train: np.ndarray = field(repr=False)
    x_test: np.ndarray = field(repr=False)
    y_test: np.ndarray = field(repr=False)
    num_classes: int = 10
    mean: tuple[float, ...] = ()
    std: tuple[float, ...] = ()

    @property
    def input_shape(self) -> tuple[int, int, int]:
        return tuple(int(s) for s in self.x_train.shape[1:])  # type: ignore[return-value]

    def normalize(self, x: np.ndarray) -> np.ndarray:
        """Per-channel standardisation by the training set's statistics (float32)."""
        mean = np.asarray(self.mean, dtype=np.float32).reshape(1, -1, 1, 1)
        std = np.asarray(self.std, dtype=np.float32).reshape(1, -1, 1, 1)
        return ((x - mean) / std).astype(np.float32, copy=False)


def add_noise(x: np.ndarray, sigma: float, seed: int = 0) -> np.ndarray:
    """``clip(x + N(0, sigma^2), 0, 1)`` in pixel space, seeded; ``sigma = 0`` returns a copy of ``x``.

    >>> x = np.full((2, 1, 2, 2), 0.5, dtype=np.float32)
    >>> bool(np.all(add_noise(x, 0.1, seed=1) == add_noise(x, 0.1, seed=1)))
    True
    """
    sigma = float(sigma)
    if not np.isfinite(sigma) or sigma < 0:
        raise ValueError(f"sigma must be a finite non-negative number, got {sigma!r}")
    x = np.asarray(x, dtype=np.float32)
    if sigma == 0:
        return x.copy()
    rng = np.random.default_rng(seed)
    noisy = x + rng.normal(0.0, sigma, size=x.shape).astype(np.float32)
    return np.clip(noisy, 0.0, 1.0, out=noisy)


def dataset_names() -> list[str]:
    return list(DATASETS)


# ------------------------------------------------------------------ file formats
def read_idx(path: str | os.PathLike) -> np.ndarray:
    """Read one IDX file (MNIST's format; gzip-compressed or not) into a numpy array."""
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as fh:
        raw = fh.read()
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0:
        raise ValueError(f"{path}: not an IDX file (bad magic number)")
    dtypes = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
    if raw[2] not in dtypes:
        raise ValueError(f"{path}: unknown IDX data type 0x{raw[2]:02x}")
    ndim = raw[3]
    dims = np.frombuffer(raw, dtype=">u4", count=ndim, offset=4).astype(int)
    dtype = np.dtype(dtypes[raw[2]])
    offset = 4 + 4 * ndim
    count = int(np.prod(dims)) if ndim else 1
    if len(raw) - offset < count * dtype.itemsize:
        raise ValueError(f"{path}: truncated IDX file")
    return np.frombuffer(raw, dtype=dtype, count=count, offset=offset).reshape(tuple(dims))


def _require_dir(name: str, data_dir: str | os.PathLike | None) -> Path:
    if data_dir is None:
        data_dir = DEFAULT_DIRS.get(name)
    if data_dir is None:
        raise ValueError(f"dataset {name!r} needs --data-dir: the directory that holds its files (nothing is downloaded)")
    path = Path(data_dir).expanduser()
    if not path.is_dir():
        raise FileNotFoundError(f"dataset {name!r}: directory {str(path)!r} not found; {_EXPECTED[name]}")
    return path


def _find(directory: Path, stem: str, name: str) -> Path:
    for cand in (stem + ".gz", stem, stem.replace("-idx", ".idx") + ".gz", stem.replace("-idx", ".idx")):
        if (directory / cand).is_file():
            return directory / cand
    raise FileNotFoundError(f"dataset {name!r}: {stem}[.gz] not found in {str(directory)!r}; {_EXPECTED[name]}")


def _load_idx_set(name: str, data_dir: str | os.PathLike | None) -> tuple[np.ndarray, ...]:
    d = _require_dir(name, data_dir)
    parts = []
    for split in ("train", "t10k"):
        images = read_idx(_find(d, f"{split}-images-idx3-ubyte", name))
        labels = read_idx(_find(d, f"{split}-labels-idx1-ubyte", name))
        if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
            raise ValueError(f"dataset {name!r}: {split} images {images.shape} and labels {labels.shape} do not match")
        parts += [images[:, None].astype(np.float32) / 255.0, labels.astype(np.int64)]
    return tuple(parts)


def _load_cifar10(data_dir: str | os.PathLike | None) -> tuple[np.ndarray, ...]:
    d = _require_dir("cifar10", data_dir)
    if (d / "cifar-10-batches-py").is_dir():
        d = d / "cifar-10-batches-py"

    def batch(fname: str) -> tuple[np.ndarray, np.ndarray]:
        p = d / fname
        if not p.is_file():
            raise FileNotFoundError(f"dataset 'cifar10': {fname} not found in {str(d)!r}; {_EXPECTED['cifar10']}")
        with open(p, "rb") as fh:
            obj = pickle.load(fh, encoding="bytes")
        data = np.asarray(obj[b"data"] if b"data" in obj else obj["data"], dtype=np.uint8)
        labels = np.asarray(obj[b"labels"] if b"labels" in obj else obj["labels"], dtype=np.int64)
        if data.ndim != 2 or data.shape[1] != 3072 or len(data) != len(labels):
            raise ValueError(f"dataset 'cifar10': {fname} has data {data.shape}, labels {labels.shape}; expected (N, 3072) and (N,)")
        return data.reshape(-1, 3, 32, 32).astype(np.float32) / 255.0, labels

    train = [batch(f"data_batch_{i}") for i in range(1, 6)]
    x_test, y_test = batch("test_batch")
    return (np.concatenate([x for x, _ in train]), np.concatenate([y for _, y in train]), x_test, y_test)


def _load_digits(seed: int, test_fraction: float = 0.25) -> tuple[np.ndarray, ...]:
    from sklearn.datasets import load_digits

    bunch = load_digits()
    x = (bunch.images.astype(np.float32) / 16.0)[:, None]  # pixel values are 0..16
    y = bunch.target.astype(np.int64)
    perm = np.random.default_rng(seed).permutation(len(x))
    n_test = int(round(test_fraction * len(x)))
    test, train = perm[:n_test], perm[n_test:]
    return x[train], y[train], x[test], y[test]


_EXPECTED = {
    "fashion-mnist": "expected train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz, "
                     "t10k-labels-idx1-ubyte.gz (Debian: apt-get install dataset-fashion-mnist)",
    "mnist": "expected train-images-idx3-ubyte[.gz], train-labels-idx1-ubyte[.gz], t10k-images-idx3-ubyte[.gz], "
             "t10k-labels-idx1-ubyte[.gz]",
    "cifar10": "expected the python batches data_batch_1..5 and test_batch (the cifar-10-batches-py folder)",
}

#: name -> loader(data_dir, seed) -> (x_train, y_train, x_test, y_test) in pixel space
DATASETS: dict[str, Callable[[str | os.PathLike | None, int], tuple[np.ndarray, ...]]] = {
    "digits": lambda data_dir, seed: _load_digits(seed),
    "fashion-mnist": lambda data_dir, seed: _load_idx_set("fashion-mnist", data_dir),
    "mnist": lambda data_dir, seed: _load_idx_set("mnist", data_dir),
    "cifar10": lambda data_dir, seed: _load_cifar10(data_dir),
}


def load_dataset(name: str, data_dir: str | os.PathLike | None = None, seed: int = 0) -> Dataset:
    """Load a data set by name from local files.

    Parameters
    ----------
    name : one of ``digits``, ``fashion-mnist``, ``mnist``, ``cifar10``.
    data_dir : directory of the files (``fashion-mnist`` defaults to Debian's location; ``digits``
        needs none).
    seed : seeds the train/test split of sets that have none (``digits``).

    Raises ``FileNotFoundError`` with one line saying where the files are expected.

    Examples
    --------
    >>> ds = load_dataset("digits")
    >>> ds.x_train.shape, ds.x_test.shape
    ((1348, 1, 8, 8), (449, 1, 8, 8))
    """
    if not isinstance(name, str) or name not in DATASETS:
        raise ValueError(f"name must be one of {dataset_names()}, got {name!r}")
    x_train, y_train, x_test, y_test = DATASETS[name](data_dir, int(seed))
    mean = tuple(float(m) for m in x_train.mean(axis=(0, 2, 3), dtype=np.float64))
    std = tuple(max(float(s), 1e-8) for s in x_train.std(axis=(0, 2, 3), dtype=np.float64))
    num_classes = int(max(y_train.max(initial=0), y_test.max(initial=0))) + 1
    return Dataset(name, x_train, y_train, x_test, y_test, num_classes, mean, std)
