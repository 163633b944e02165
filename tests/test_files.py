"""bipartite_expanders.files: the one atomic writer and the one JSON convention."""
import json
import math
import os
import stat

import numpy as np
import pytest

from bipartite_expanders.files import atomic_write, atomic_writer, dumps, from_json_float, json_safe, write_json


def test_failed_write_leaves_the_old_file_and_no_temp(tmp_path):
    p = tmp_path / "r.json"
    p.write_text("old")
    with pytest.raises(RuntimeError):
        with atomic_writer(p) as fh:
            fh.write("half")
            raise RuntimeError("interrupted")
    assert p.read_text() == "old"
    assert sorted(os.listdir(tmp_path)) == ["r.json"]


def test_mode_is_an_ordinary_files_or_the_replaced_ones(tmp_path):
    p = tmp_path / "a.txt"
    atomic_write(p, "x")
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(p.stat().st_mode) == 0o666 & ~umask  # not mkstemp's 0600
    os.chmod(p, 0o640)
    atomic_write(p, b"y")
    assert stat.S_IMODE(p.stat().st_mode) == 0o640 and p.read_bytes() == b"y"


def test_os_error_names_the_target(tmp_path):
    target = tmp_path / "missing_dir" / "x.json"
    with pytest.raises(OSError) as exc:
        write_json(target, {})
    assert exc.value.filename == str(target)


def test_non_finite_floats_round_trip_as_strings():
    obj = {"a": math.inf, "b": [-math.inf, math.nan, 1.5], "c": np.float32(2.0), "d": np.int64(3), "e": None}
    text = dumps(obj)
    back = json.loads(text)  # strict JSON: the standard parser, no NaN tokens
    assert "NaN" not in text and "Infinity" not in text
    assert back == {"a": "inf", "b": ["-inf", "nan", 1.5], "c": 2.0, "d": 3, "e": None}
    assert from_json_float(back["a"]) == math.inf and math.isnan(from_json_float(back["b"][1]))
    assert json_safe((1, 2)) == [1, 2]


@pytest.mark.parametrize("bad", [None, True, "ramanujan", "Infinity", [1.0]])
def test_from_json_float_refuses_what_is_not_a_number(bad):
    with pytest.raises(ValueError):
        from_json_float(bad)
