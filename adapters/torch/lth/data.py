"""Offline data sets of the lottery-ticket experiments, by name. Nothing is downloaded.

- ``digits``: scikit-learn's bundled 8x8 handwritten digits (1,797 images), the embedded
  default; split into train and test by a seeded permutation.
- ``fashion-mnist``: the IDX ``.gz`` files (default directory ``/usr/share/datasets/fashion-mnist/``,
  Debian's ``dataset-fashion-mnist``).
- ``mnist``: the IDX files (``.gz`` or not) in a directory you give.
- ``cifar10``: the standard python batches (``data_batch_1`` .. ``data_batch_5``, ``test_batch``)
  in a directory you give (the ``cifar-10-batches-py`` folder), read by a restricted unpickler
  that refuses every global but numpy's own array reconstruction (:func:`read_cifar10_batch`:
  no file can run code), or the binary version (``data_batch_1.bin`` .. ``test_batch.bin``,
  the ``cifar-10-batches-bin`` folder), plain bytes.

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

__all__ = ["Dataset", "DATASETS", "DEFAULT_DIRS", "load_dataset", "add_noise", "read_idx", "dataset_names",
           "read_cifar10_batch", "read_cifar10_binary"]

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


def _latin1_encode(text: str, encoding: str = "utf-8") -> bytes:
    """``_codecs.encode`` as Python 3's protocol-2 pickles use it for ``bytes`` (latin-1 only)."""
    if not isinstance(text, str) or encoding != "latin1":
        raise pickle.UnpicklingError(f"_codecs.encode({type(text).__name__}, {encoding!r}) is not a bytes literal")
    return text.encode("latin1")


def _array_from_buffer(buffer: object, dtype: np.dtype, shape: tuple[int, ...], order: str) -> np.ndarray:
    """numpy's protocol-5 reconstruction, for plain (non-object) dtypes only."""
    if not isinstance(dtype, np.dtype) or dtype.hasobject:
        raise pickle.UnpicklingError(f"an array of dtype {dtype!r} is not a CIFAR-10 array")
    return _FROMBUFFER(buffer, dtype, shape, order)


# the exact functions numpy pickles arrays with (protocol 2 and protocol 5), taken from numpy
# itself rather than imported by a module name a file could choose
_RECONSTRUCT = np.zeros(1).__reduce__()[0]
_FROMBUFFER = np.zeros(1).__reduce_ex__(5)[0]
_ALLOWED_GLOBALS = {
    ("numpy.core.multiarray", "_reconstruct"): _RECONSTRUCT,
    ("numpy._core.multiarray", "_reconstruct"): _RECONSTRUCT,
    ("numpy.core.numeric", "_frombuffer"): _array_from_buffer,
    ("numpy._core.numeric", "_frombuffer"): _array_from_buffer,
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): np.dtype,
    ("_codecs", "encode"): _latin1_encode,
}


class _CifarUnpickler(pickle.Unpickler):
    """An unpickler that resolves only the globals a CIFAR-10 batch needs (numpy's array and
    dtype reconstruction, and Python 3's latin-1 bytes literal): a file naming any other
    global (``os.system``, ``builtins.eval``, a class with a ``__reduce__``) is refused before
    anything it names is called. Dicts, lists, strings, bytes and numbers need no global."""

    def find_class(self, module: str, name: str) -> object:
        found = _ALLOWED_GLOBALS.get((module, name))
        if found is None:
            raise pickle.UnpicklingError(f"global {module}.{name} is not allowed in a CIFAR-10 batch")
        return found

    def persistent_load(self, pid: object) -> object:
        raise pickle.UnpicklingError("persistent ids are not allowed in a CIFAR-10 batch")


def read_cifar10_batch(path: str | os.PathLike) -> tuple[np.ndarray, np.ndarray]:
    """One python-version CIFAR-10 batch as ``(data uint8 (N, 3072), labels int64 (N,))``.

    Read by a restricted unpickler (only numpy's array reconstruction may be called), so a
    crafted file cannot run code; anything else is a ``ValueError`` naming the file.
    """
    path = Path(path)
    try:
        with open(path, "rb") as fh:
            obj = _CifarUnpickler(fh, encoding="bytes").load()
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError, IndexError,
            KeyError, OverflowError, MemoryError, UnicodeError) as exc:
        raise ValueError(f"{path}: not a CIFAR-10 python batch: {exc}") from None
    if not isinstance(obj, dict):
        raise ValueError(f"{path}: not a CIFAR-10 python batch (a {type(obj).__name__}, not a dict)")
    data = obj.get(b"data", obj.get("data"))
    labels = obj.get(b"labels", obj.get("labels"))
    if not isinstance(data, np.ndarray) or data.dtype != np.uint8:
        raise ValueError(f"{path}: 'data' must be a uint8 array; got {type(data).__name__} "
                         f"{getattr(data, 'dtype', '')}")
    if not isinstance(labels, (list, np.ndarray)) or not all(
            isinstance(v, (int, np.integer)) and not isinstance(v, bool) and 0 <= v < 10 for v in labels):
        raise ValueError(f"{path}: 'labels' must be a list of integers 0..9")
    labels_arr = np.asarray(labels, dtype=np.int64).reshape(-1)
    if data.ndim != 2 or data.shape[1] != 3072 or len(data) != len(labels_arr):
        raise ValueError(f"{path}: data {data.shape} and labels {labels_arr.shape}; expected (N, 3072) and (N,)")
    return data, labels_arr


def read_cifar10_binary(path: str | os.PathLike) -> tuple[np.ndarray, np.ndarray]:
    """One binary-version CIFAR-10 batch (records of 1 label byte and 3,072 pixel bytes) as
    ``(data uint8 (N, 3072), labels int64 (N,))``."""
    path = Path(path)
    raw = np.fromfile(path, dtype=np.uint8)
    if raw.size == 0 or raw.size % 3073:
        raise ValueError(f"{path}: {raw.size} bytes is not a whole number of 3,073-byte CIFAR-10 records")
    records = raw.reshape(-1, 3073)
    labels = records[:, 0].astype(np.int64)
    if labels.max() > 9:
        raise ValueError(f"{path}: label {int(labels.max())} outside 0..9")
    return np.ascontiguousarray(records[:, 1:]), labels


def _load_cifar10(data_dir: str | os.PathLike | None) -> tuple[np.ndarray, ...]:
    d = _require_dir("cifar10", data_dir)
    for sub in ("cifar-10-batches-py", "cifar-10-batches-bin"):
        if (d / sub).is_dir():
            d = d / sub
            break
    binary = not (d / "data_batch_1").is_file() and (d / "data_batch_1.bin").is_file()

    def batch(stem: str) -> tuple[np.ndarray, np.ndarray]:
        fname = stem + ".bin" if binary else stem
        p = d / fname
        if not p.is_file():
            raise FileNotFoundError(f"dataset 'cifar10': {fname} not found in {str(d)!r}; {_EXPECTED['cifar10']}")
        data, labels = read_cifar10_binary(p) if binary else read_cifar10_batch(p)
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
    "cifar10": "expected the python batches data_batch_1..5 and test_batch (the cifar-10-batches-py folder), "
               "or the binary ones data_batch_1..5.bin and test_batch.bin (cifar-10-batches-bin)",
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
