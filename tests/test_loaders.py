"""No loader runs code (issue 27): the CIFAR-10 batches are read by a restricted unpickler;
a crafted batch whose ``__reduce__`` would run a command is refused and nothing runs."""
from __future__ import annotations

import os
import pickle

import numpy as np
import pytest

from bipartite_expanders.adapters.torch.lth import data as lthdata


class _Evil:
    """Unpickling this calls os.system: the classic pickle payload."""

    def __init__(self, target):
        self.target = target

    def __reduce__(self):
        return (os.system, (f"touch {self.target}",))


class _EvalEvil:
    def __init__(self, target):
        self.target = target

    def __reduce__(self):
        return (eval, (f"open({str(self.target)!r}, 'w').close()",))


def _batch(n=3, seed=0):
    rng = np.random.default_rng(seed)
    return {b"batch_label": b"training batch 1 of 5", b"labels": [int(v) for v in rng.integers(0, 10, n)],
            b"data": rng.integers(0, 256, (n, 3072), dtype=np.uint8),
            b"filenames": [f"img_{i}.png".encode() for i in range(n)]}


@pytest.mark.parametrize("payload", [_Evil, _EvalEvil])
@pytest.mark.parametrize("where", ["top", "inside"])
def test_a_crafted_batch_runs_nothing(tmp_path, payload, where):
    """Reproducer: a crafted data_batch_1 ran a shell command during `lth --dataset cifar10`."""
    marker = tmp_path / "pwned"
    d = tmp_path / "cifar-10-batches-py"
    d.mkdir()
    batch = _batch()
    obj = payload(marker) if where == "top" else {**batch, b"labels": [payload(marker)]}
    with open(d / "data_batch_1", "wb") as fh:
        pickle.dump(obj, fh, protocol=2)
    with pytest.raises(ValueError, match=r"data_batch_1: not a CIFAR-10 python batch: global .* is not allowed"):
        lthdata.load_dataset("cifar10", data_dir=tmp_path)
    assert not marker.exists()


@pytest.mark.parametrize("protocol", range(0, pickle.HIGHEST_PROTOCOL + 1))
def test_genuine_batches_read_in_every_protocol(tmp_path, protocol):
    batch = _batch(seed=protocol)
    p = tmp_path / "b"
    with open(p, "wb") as fh:
        pickle.dump(batch, fh, protocol=protocol)
    data, labels = lthdata.read_cifar10_batch(p)
    np.testing.assert_array_equal(data, batch[b"data"])
    np.testing.assert_array_equal(labels, batch[b"labels"])


def test_object_arrays_and_wrong_contents_are_refused(tmp_path):
    p = tmp_path / "b"
    for bad, why in ((np.array([[1, None]], dtype=object), "uint8"), ([1, 2], "uint8")):
        with open(p, "wb") as fh:
            pickle.dump({b"data": bad, b"labels": [1]}, fh, protocol=2)
        with pytest.raises(ValueError, match=why):
            lthdata.read_cifar10_batch(p)
    with open(p, "wb") as fh:
        pickle.dump({b"data": np.zeros((1, 3072), np.uint8), b"labels": [12]}, fh)
    with pytest.raises(ValueError, match="integers 0..9"):
        lthdata.read_cifar10_batch(p)
    p.write_bytes(b"\x80\x02garbage")
    with pytest.raises(ValueError, match="not a CIFAR-10 python batch"):
        lthdata.read_cifar10_batch(p)


def test_the_binary_version_reads_the_same_images(tmp_path):
    rng = np.random.default_rng(4)
    py, bin_ = tmp_path / "py" / "cifar-10-batches-py", tmp_path / "bin" / "cifar-10-batches-bin"
    py.mkdir(parents=True)
    bin_.mkdir(parents=True)
    for stem in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        data = rng.integers(0, 256, (2, 3072), dtype=np.uint8)
        labels = rng.integers(0, 10, 2)
        with open(py / stem, "wb") as fh:
            pickle.dump({b"data": data, b"labels": [int(v) for v in labels]}, fh)
        np.column_stack([labels.astype(np.uint8), data]).tofile(bin_ / f"{stem}.bin")
    a = lthdata.load_dataset("cifar10", data_dir=tmp_path / "py")
    b = lthdata.load_dataset("cifar10", data_dir=tmp_path / "bin")
    np.testing.assert_array_equal(a.x_train, b.x_train)
    np.testing.assert_array_equal(a.y_test, b.y_test)
    (bin_ / "test_batch.bin").write_bytes(b"\x01" * 3000)
    with pytest.raises(ValueError, match="not a whole number of 3,073-byte"):
        lthdata.load_dataset("cifar10", data_dir=tmp_path / "bin")
