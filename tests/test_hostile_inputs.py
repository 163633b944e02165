"""Hostile sparse inputs (issue 27): every scipy sparse format, arrays and matrices, with index
arrays that are negative, huge, unsigned, decreasing, of the wrong length, float or object,
reach every entry point and must raise ``ValueError`` / ``TypeError`` naming the argument,
never abort the interpreter, never be silently changed.

Crash-prone cases run in a fresh interpreter (a subprocess), so an abort fails the test
instead of killing pytest.
"""
from __future__ import annotations

import subprocess
import sys
import textwrap

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bipartite_expanders import BipartiteGraph, ramanujan_report, spectral_pair, top_singular_values

ENTRY_POINTS = {
    "from_sparse": BipartiteGraph.from_sparse,
    "spectral_pair": spectral_pair,
    "top_singular_values": lambda M: top_singular_values(M, k=2),
    "ramanujan_report": ramanujan_report,
}
#: the argument names the entry points use in their messages
NAMES = ("matrix", "x", "graph")
FORMATS = ("csr", "csc", "coo", "bsr", "dia", "dok", "lil")


def _hostile(kind: str, size: int) -> np.ndarray | list:
    """An index array of a hostile kind, ``size`` long where the kind allows."""
    base = np.arange(size)
    return {
        "negative": base - 3,
        "huge": np.full(size, 2**62, dtype=np.int64),
        "int64max": np.full(size, np.iinfo(np.int64).max, dtype=np.int64),
        "uint64-decreasing": base[::-1].astype(np.uint64),
        "uint64-huge": np.full(size, 2**64 - 1, dtype=np.uint64),
        "uint8": (base % 256).astype(np.uint8),
        "int8-negative": np.full(size, -1, dtype=np.int8),
        "decreasing": base[::-1].copy(),
        "short": base[: max(size - 2, 0)],
        "long": np.arange(size + 3),
        "float": base.astype(np.float64) + 0.5,
        "object": np.array([object()] * size, dtype=object),
        "two-d": base.reshape(1, -1),
        "bool": np.ones(size, dtype=bool),
    }[kind]


HOSTILE_KINDS = ("negative", "huge", "int64max", "uint64-decreasing", "uint64-huge", "uint8",
                 "int8-negative", "decreasing", "short", "long", "float", "object", "two-d", "bool")


def _valid(fmt: str, array: bool) -> object:
    dense = np.array([[1.0, 0, 2, 0], [0, 3, 0, 0], [4, 0, 0, 5], [0, 0, 6, 1]])
    if fmt == "bsr":
        return (sp.bsr_array if array else sp.bsr_matrix)(dense, blocksize=(2, 2))
    kind = getattr(sp, f"{fmt}_{'array' if array else 'matrix'}")
    return kind(dense)


def _attack(fmt: str, array: bool, field: str, kind: str) -> object:
    """A valid 4 x 4 matrix of format ``fmt`` with one index field replaced by a hostile array."""
    M = _valid(fmt, array)
    if fmt in ("csr", "csc", "bsr"):
        setattr(M, field, _hostile(kind, getattr(M, field).size))
    elif fmt == "coo":
        row, col = M.coords
        new = _hostile(kind, row.size)
        M.coords = (new, col) if field == "row" else (row, new)
    elif fmt == "dia":
        M.offsets = _hostile(kind, M.offsets.size)
    elif fmt == "dok":
        store = M._dict  # scipy's own dict (a key set here bypasses scipy's checks)
        key = next(iter(store))
        value = store.pop(key)
        bad = _hostile(kind, 2)
        bad_key = tuple(bad.ravel()[:2].tolist()) if kind != "object" else (object(), 0)
        if field == "col":
            bad_key = (key[0], bad_key[0])
        else:
            bad_key = (bad_key[0], key[1])
        store[bad_key] = value
    elif fmt == "lil":
        bad = _hostile(kind, len(M.rows[0]))
        M.rows[0] = list(np.asarray(bad).ravel()[: len(M.rows[0])]) if kind != "short" else []
    return M


FIELDS = {"csr": ("indptr", "indices"), "csc": ("indptr", "indices"), "bsr": ("indptr", "indices"),
          "coo": ("row", "col"), "dia": ("offsets",), "dok": ("row", "col"), "lil": ("rows",)}


def _check_one(M: object, entry: str) -> str:
    """Call one entry point; 'ok' when it accepted the input, else the error's class and text.
    Anything but ValueError / TypeError is a failure."""
    try:
        ENTRY_POINTS[entry](M)
    except (ValueError, TypeError) as exc:
        return f"{type(exc).__name__}: {exc}"
    return "ok"


CASES = [(fmt, array, field, kind) for fmt in FORMATS for array in (True, False)
         for field in FIELDS[fmt] for kind in HOSTILE_KINDS]


def test_every_hostile_case_in_a_fresh_interpreter():
    """Every (format, array/matrix, field, hostile kind) through every entry point in one
    subprocess, each case announced before it runs: an abort (exit 134, a segfault) names the
    case that caused it instead of killing pytest."""
    script = textwrap.dedent(f"""
        import sys
        sys.path.insert(0, {str(__import__('pathlib').Path(__file__).parent)!r})
        import test_hostile_inputs as t
        for case in t.CASES:
            for entry in t.ENTRY_POINTS:
                print("CASE", case, entry, flush=True)
                try:
                    M = t._attack(*case)
                except Exception as exc:  # scipy refused to build it: nothing to test
                    print("SKIP", type(exc).__name__, flush=True)
                    continue
                out = t._check_one(M, entry)
                print("OUT", out[:300].replace("\\n", " "), flush=True)
        print("DONE", flush=True)
    """)
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=600,
                          env={**__import__("os").environ, "OMP_NUM_THREADS": "1"})
    lines = proc.stdout.splitlines()
    assert proc.returncode == 0 and lines and lines[-1] == "DONE", (
        f"exit {proc.returncode}; last lines:\n" + "\n".join(lines[-4:]) + "\n" + proc.stderr[-2000:])
    outs = [ln for ln in lines if ln.startswith("OUT ")]
    assert len(outs) > 0.8 * len(CASES) * len(ENTRY_POINTS)
    for ln in outs:
        if ln != "OUT ok":
            assert any(name in ln for name in NAMES), ln


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=st.sampled_from(CASES), entry=st.sampled_from(sorted(ENTRY_POINTS)))
def test_hostile_inputs_raise_value_or_type_error(case, entry):
    """In-process (safe once the subprocess test above passes): the error is a ValueError or
    TypeError naming the argument; an accepted input must equal its dense form."""
    try:
        M = _attack(*case)
    except Exception:
        return
    out = _check_one(M, entry)
    if out != "ok":
        assert any(name in out for name in NAMES), out


# -------------------------------------------------- the reproducers, one by one
def _run_fresh(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True,
                          timeout=300)


@pytest.mark.parametrize("fmt", ["csr", "csc"])
def test_unsigned_decreasing_indptr_does_not_abort(fmt):
    """Reproducer: np.diff of an unsigned indptr wraps, so the monotonicity check never fired
    and scipy's kernels freed an invalid pointer (exit 134) in every entry point."""
    proc = _run_fresh(f"""
        import numpy as np, scipy.sparse as sp
        from bipartite_expanders import BipartiteGraph, spectral_pair, top_singular_values, ramanujan_report
        for f in (BipartiteGraph.from_sparse, spectral_pair, top_singular_values, ramanujan_report):
            M = sp.{fmt}_array((np.ones(3), [0, 1, 2], [0, 1, 2, 3]), shape=(3, 3))
            M.indptr = np.array([0, 2, 1, 3], np.uint64)
            try:
                f(M)
            except ValueError as exc:
                assert "indptr must be non-decreasing" in str(exc), exc
            else:
                raise SystemExit("accepted")
        print("fine")
    """)
    assert proc.returncode == 0 and proc.stdout.strip() == "fine", proc.stderr[-2000:]


def test_bsr_uint64_indptr_gives_a_message_naming_the_argument():
    """Reproducer: scipy's C++ RuntimeError (vector::_M_default_append) from spectral_pair."""
    B = sp.bsr_array(np.eye(4), blocksize=(2, 2))
    B.indptr = np.array([0, 1, 5], np.uint64)
    with pytest.raises(ValueError, match=r"x: matrix: indptr ends at 5"):
        spectral_pair(B)
    good = sp.bsr_array(np.diag([3.0, 2, 1, 1]), blocksize=(2, 2))
    good.indptr = good.indptr.astype(np.uint64)
    good.indices = good.indices.astype(np.uint64)
    assert BipartiteGraph.from_sparse(good) == BipartiteGraph.from_dense(np.diag([3.0, 2, 1, 1]))
    pair = spectral_pair(good)
    assert (pair.t1, pair.t2) == pytest.approx((3.0, 2.0))


def test_dia_offset_far_outside_is_refused_not_wrapped():
    """Reproducer: scipy turned a DIA offset of 2**62 into the main diagonal."""
    D = sp.dia_array((np.ones((1, 3)), [0]), shape=(3, 3))
    D.offsets = np.array([2**62])
    with pytest.raises(ValueError, match=r"matrix\.offsets: diagonal 4611686018427387904 lies outside"):
        BipartiteGraph.from_sparse(D)


def test_dia_is_read_exactly():
    """Against scipy's own dense form for ordinary offsets (including stored zeros and a data
    row wider than the matrix)."""
    data = np.array([[1.0, 0, 3, 4, 9], [5, 6, 7, 8, 9], [2, 2, 0, 2, 9]])
    D = sp.dia_array((data, [0, 1, -2]), shape=(4, 4))
    g = BipartiteGraph.from_sparse(D)
    np.testing.assert_array_equal(g.toarray(), D.toarray())
    assert g.n_edges == np.count_nonzero(D.toarray())
    D.offsets = np.array([0, 1, 1])
    with pytest.raises(ValueError, match="must not repeat"):
        BipartiteGraph.from_sparse(D)


def test_dok_key_out_of_range_is_refused_not_dropped():
    K = sp.dok_array((3, 3))
    K[0, 0] = 1.0
    K._dict[(5, 0)] = 2.0  # scipy's tocoo() silently drops it
    with pytest.raises(ValueError, match=r"matrix\.row indices must lie in \[0, 3\); got min 0, max 5"):
        BipartiteGraph.from_sparse(K)
    del K._dict[(5, 0)]
    K._dict[(1.5, 0)] = 2.0
    with pytest.raises(TypeError, match=r"must hold integer indices; got 1.5"):
        BipartiteGraph.from_sparse(K)


@pytest.mark.parametrize("bad", [1.7, "2", True, np.float64(2.0)])
def test_lil_non_integer_column_is_refused(bad):
    """Reproducer: scipy read LIL column indices 1.7 and "2" as 1 and 2."""
    L = sp.lil_array((2, 3))
    L[0, 0] = 1.0
    L.rows[0] = [bad]
    with pytest.raises(TypeError, match=r"matrix\.rows must hold integer indices"):
        BipartiteGraph.from_sparse(L)


def test_lil_numpy_integer_columns_are_read_exactly():
    L = sp.lil_array((2, 3))
    L.rows[0] = [np.int16(2), np.uint64(0)]
    L.data[0] = [1.5, 2.0]
    np.testing.assert_array_equal(BipartiteGraph.from_sparse(L).toarray(), [[2.0, 0, 1.5], [0, 0, 0]])


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.uint32, np.uint64, np.int8, np.int16])
def test_every_index_dtype_reads_the_same_graph(dtype):
    """Unsigned and narrow index arrays are accepted and give the graph scipy's dense form has."""
    dense = np.array([[1.0, 0, 2], [0, 3, 0]])
    for fmt in ("csr", "csc", "coo"):
        M = getattr(sp, f"{fmt}_array")(dense)
        if fmt == "coo":
            M.coords = tuple(c.astype(dtype) for c in M.coords)
        else:
            M.indptr, M.indices = M.indptr.astype(dtype), M.indices.astype(dtype)
        np.testing.assert_array_equal(BipartiteGraph.from_sparse(M).toarray(), dense)


# ------------------------------------------------------------------ .npz sized from headers
def _write_npz(path, arrays):
    import zipfile
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, arr in arrays.items():
            with zf.open(name + ".npy", "w", force_zip64=True) as fh:
                np.lib.format.write_array(fh, arr, allow_pickle=True)


def test_npz_bomb_is_refused_from_the_headers(tmp_path):
    """Reproducer: a small .npz whose data array inflates to hundreds of MB was read in full
    before the size check; now the .npy headers size it and nothing large is allocated
    (peak memory of a fresh interpreter measured; the file is 0.35 MB, its data 240 MB)."""
    n = 30_000_000
    p = tmp_path / "bomb.npz"
    _write_npz(p, {"indices": np.zeros(n, np.int32), "indptr": np.array([0, n, n, n], np.int32),
                   "format": np.array("csr"), "shape": np.array([3, 3]), "data": np.zeros(n)})
    assert p.stat().st_size < 2_000_000
    # VmHWM, not ru_maxrss: Linux carries ru_maxrss across fork and exec, so a child started by a
    # large pytest process would report the parent's peak
    proc = _run_fresh(f"""
        from bipartite_expanders.io import load_graph, GraphFileError
        try:
            load_graph({str(p)!r})
        except GraphFileError as exc:
            print("refused:", exc)
        hwm = [ln for ln in open("/proc/self/status") if ln.startswith("VmHWM:")][0].split()[1]
        print("peak MiB", int(hwm) / 1024)
    """)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "refused:" in proc.stdout and "30,000,000 stored entries for a 3 x 3 matrix" in proc.stdout
    peak = float(proc.stdout.split("peak MiB")[1])
    assert peak < 200, proc.stdout  # the data array alone is 240 MB


def test_npz_object_member_is_refused_without_unpickling(tmp_path):
    from bipartite_expanders.io import GraphFileError, load_graph
    p = tmp_path / "obj.npz"
    _write_npz(p, {"indices": np.zeros(1, np.int32), "indptr": np.array([0, 1], np.int32),
                   "format": np.array("csr"), "shape": np.array([1, 1]),
                   "data": np.array([1.0, None], dtype=object)})
    with pytest.raises(GraphFileError, match=r"member 'data.npy' holds Python objects"):
        load_graph(p)


def test_npz_written_by_scipy_still_reads(tmp_path):
    from bipartite_expanders.io import load_graph
    dense = np.array([[1.0, 0, 2], [0, 3, 0]])
    for fmt in ("csr", "csc", "coo", "bsr", "dia"):
        p = tmp_path / f"{fmt}.npz"
        sp.save_npz(p, getattr(sp, f"{fmt}_matrix")(dense))
        np.testing.assert_array_equal(load_graph(p).toarray(), dense)


# ------------------------------------------------------------------ run-directory JSON
@pytest.mark.parametrize("text", ["[" * 200_000 + "]" * 200_000, '{"round": ' + "7" * 5000 + "}"])
def test_records_nested_deep_or_with_huge_numbers_are_record_errors(tmp_path, text):
    """Reproducer: a record nested 200k deep stopped resume with a RecursionError traceback, a
    5,000-digit number with an error naming no file; both are RecordErrors naming the file
    (which resume moves aside)."""
    from bipartite_expanders.adapters.torch.lth import rundir
    p = rundir.record_path(tmp_path, 1)
    p.write_text(text)
    with pytest.raises(rundir.RecordError, match="round_01.json: not readable JSON"):
        rundir.read_record(p)
    rundir.hparams_path(tmp_path).write_text(text)
    with pytest.raises(rundir.RecordError, match="hparams.json: not readable JSON"):
        rundir.read_hparams(tmp_path)
