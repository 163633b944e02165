"""The census of checkpoints on disk (adapters/torch/checkpoints.py, checkpoint_census.py, census_cli.py).

Checkpoints are written by the real libraries: transformers' ``save_pretrained`` (tiny LLaMA-,
Qwen2-, GPT-2- and BERT-shaped models from configs, bf16, sharded), compressed-tensors'
compressors (and a hand-built file to the published bitmask layout), safetensors, torch.save, and
the trained weights silero-vad ships. Every layer's t1, t2 is checked against a dense SVD of the
tensor read independently (safetensors.torch.load_file; transposed / gate-split here by hand).
"""

from __future__ import annotations

import csv
import io
import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("safetensors")
from safetensors.torch import load_file, save_file  # noqa: E402
from torch import nn  # noqa: E402

from bipartite_expanders.adapters.torch.checkpoint_census import census_checkpoint, census_layer  # noqa: E402
from bipartite_expanders.adapters.torch.checkpoints import checkpoint_layers, nm_pattern, read_layer  # noqa: E402
from bipartite_expanders.cli import main  # noqa: E402

torch.set_num_threads(1)


# ------------------------------------------------------------------ independent references
def svd_pair(b: np.ndarray) -> tuple[float, float]:
    s = np.linalg.svd(np.asarray(b, dtype=np.float64), compute_uv=False)
    return float(s[0]), float(s[1]) if s.size > 1 else 0.0


def check_layer(rec: dict, w_out_in: np.ndarray) -> None:
    """``rec`` (scope "all") against the dense SVD of the layer's bi-adjacency ``B = W^T``."""
    b = np.ascontiguousarray(w_out_in.reshape(w_out_in.shape[0], -1).T)
    mt1, mt2 = svd_pair(b != 0)
    wt1, wt2 = svd_pair(np.abs(b))
    assert rec["graph_shape"] == list(b.shape), rec["name"]
    assert rec["n_kept"] == int((b != 0).sum()), rec["name"]
    assert rec["mask"]["t1"] == pytest.approx(mt1, rel=1e-6), rec["name"]
    assert rec["mask"]["t2"] == pytest.approx(mt2, rel=1e-5, abs=1e-7), rec["name"]
    assert rec["weight"]["t1"] == pytest.approx(wt1, rel=1e-6), rec["name"]
    assert rec["weight"]["t2"] == pytest.approx(wt2, rel=1e-5, abs=1e-7), rec["name"]


def read_all(directory: Path) -> dict[str, np.ndarray]:
    """Every tensor of a model directory as float64 numpy, read with safetensors.torch alone."""
    out = {}
    for f in sorted(directory.glob("*.safetensors")):
        out.update({k: v.float().double().numpy() for k, v in load_file(str(f)).items() if v.is_floating_point()})
    return out


def magnitude_prune_(w_out_in: torch.Tensor, mode: str) -> None:
    """Zero the smallest weights in place (by magnitude): half of them, or 2 of every 4 inputs."""
    a = w_out_in.detach().float().abs().contiguous()
    keep = torch.zeros_like(a, dtype=torch.bool)
    if mode == "2:4":
        idx = a.reshape(a.shape[0], -1, 4).topk(2, dim=-1).indices
        keep.view(a.shape[0], -1, 4).scatter_(2, idx, True)
    else:
        keep.view(-1)[a.flatten().topk(a.numel() // 2).indices] = True
    with torch.no_grad():
        w_out_in.mul_(keep.to(w_out_in.dtype))


# ------------------------------------------------------------------ transformers checkpoints
def tiny_configs():
    import transformers as tr

    small = dict(vocab_size=64, num_hidden_layers=2, num_attention_heads=4)
    return {
        "llama": tr.LlamaConfig(hidden_size=32, intermediate_size=64, num_key_value_heads=2,
                                architectures=["LlamaForCausalLM"], **small),
        "qwen2": tr.Qwen2Config(hidden_size=32, intermediate_size=64, num_key_value_heads=2,
                                architectures=["Qwen2ForCausalLM"], **small),
        "gpt2": tr.GPT2Config(vocab_size=64, n_embd=32, n_layer=2, n_head=4, n_positions=16, bos_token_id=0,
                              eos_token_id=0, architectures=["GPT2LMHeadModel"]),
        "bert": tr.BertConfig(hidden_size=32, intermediate_size=64, max_position_embeddings=16,
                              architectures=["BertModel"], **small),
    }


def expected_layers(model: nn.Module) -> dict[str, np.ndarray]:
    """``{module name: weight (out, in)}`` of the layers a census should find, by hand."""
    out = {}
    tied = {id(p) for m in model.modules() if isinstance(m, nn.Embedding) for p in m.parameters()}
    for name, mod in model.named_modules():
        if isinstance(mod, nn.Linear) and id(mod.weight) not in tied:
            out[name] = mod.weight.detach().float().double().numpy()
        elif type(mod).__name__ == "Conv1D":  # GPT-2 stores (in, out)
            out[name] = mod.weight.detach().float().double().numpy().T
    return out


@pytest.fixture(scope="module")
def hf_models(tmp_path_factory):
    tr = pytest.importorskip("transformers")
    root = tmp_path_factory.mktemp("hf")
    made = {}
    for (arch, cfg) in tiny_configs().items():
        for mode in ("50%", "2:4"):
            torch.manual_seed(0)
            model = getattr(tr, cfg.architectures[0])(cfg).to(torch.bfloat16).eval()
            for name, mod in model.named_modules():
                if isinstance(mod, nn.Linear):
                    magnitude_prune_(mod.weight, mode)
                elif type(mod).__name__ == "Conv1D":
                    magnitude_prune_(mod.weight.t(), mode)  # a view: pruned along the input dimension
            d = root / f"{arch}-{mode.replace(':', '_').replace('%', 'pct')}"
            model.save_pretrained(d, max_shard_size="20KB")
            made[(arch, mode)] = (d, expected_layers(model))
    return made


@pytest.mark.parametrize("arch", ["llama", "qwen2", "gpt2", "bert"])
@pytest.mark.parametrize("mode", ["50%", "2:4"])
def test_transformers_checkpoints_layer_by_layer_against_dense_svd(hf_models, arch, mode):
    d, expected = hf_models[(arch, mode)]
    index = json.loads((d / "model.safetensors.index.json").read_text())
    assert len(set(index["weight_map"].values())) >= 2  # really sharded
    assert load_file(str(next(d.glob("*.safetensors")))).popitem()[1].dtype == torch.bfloat16
    res = census_checkpoint(d, scope="all", universal_cover=False)
    assert res["structure"].startswith("model (") and res["assumed"] == 0 and not res["warnings"]
    assert [r["name"] for r in res["layers"]] == list(expected)  # model order, embeddings left out
    assert any("Embedding" in why for _, why in res["skipped"])
    stored = read_all(d)
    for rec in res["layers"]:
        w = expected[rec["name"]]
        raw = stored[rec["key"]]
        # the independent read: transposed by hand for GPT-2's Conv1D
        np.testing.assert_array_equal(raw.T if rec["kind"] == "gpt2-conv1d" else raw, w)
        check_layer(rec, w)
        assert rec["dtype"] == "BF16" and rec["assumed"] == ""
        if mode == "2:4":
            assert rec["nm"] == "2:4" and rec["nm_exact"] and rec["out_degree"] == w.shape[1] // 2
            assert rec["mask"]["max_degree_right"] == w.shape[1] // 2 == rec["nm_out_degree_bound"]
        else:
            assert rec["nm"] == "none"
            assert rec["density"] == pytest.approx(0.5, abs=1 / w.size)


def test_gpt2_single_file_orientation_from_config_or_flagged(hf_models, tmp_path):
    d, expected = hf_models[("gpt2", "2:4")]
    state = {k: v for f in d.glob("*.safetensors") for k, v in load_file(str(f)).items()}
    single = tmp_path / "model.safetensors"
    save_file(state, str(single))
    (tmp_path / "config.json").write_text((d / "config.json").read_text())
    res = census_checkpoint(single, universal_cover=False, scope="all")  # the directory's config.json is used
    assert [r["kind"] for r in res["layers"]] == ["gpt2-conv1d"] * len(expected)
    assert res["layers"][0]["graph_shape"] == [32, 96]  # c_attn: 32 inputs, 96 outputs
    names = census_checkpoint(single, universal_cover=False, structure="names")
    assert names["assumed"] == len(names["layers"])
    assert any("c_attn" in w and "Conv1D" in w for w in names["warnings"])


def test_targets_and_ignore_choose_layers(hf_models):
    d, _ = hf_models[("llama", "50%")]
    res = census_checkpoint(d, targets=r"re:.*mlp\.(up|down)_proj$", ignore=r"layers\.1\.", universal_cover=False)
    assert [r["name"] for r in res["layers"]] == ["model.layers.0.mlp.up_proj", "model.layers.0.mlp.down_proj"]
    assert ("model.layers.0.self_attn.q_proj", "not chosen by --targets/--ignore") in map(tuple, res["skipped"])
    with pytest.raises(ValueError, match="--targets"):
        census_checkpoint(d, targets="(")
    with pytest.raises(ValueError, match="no layer"):
        census_checkpoint(d, targets="nothing-matches")


def test_cli_json_csv_and_table(hf_models, capsys):
    d, expected = hf_models[("qwen2", "2:4")]
    assert main(["census", str(d), "--no-cover", "--csv", "--no-progress"]) == 0
    out = capsys.readouterr()
    rows = list(csv.DictReader(io.StringIO(out.out)))
    assert [r["name"] for r in rows] == list(expected)
    assert {"mask.t1", "mask.t2", "weight.delta_s", "nm", "nm_exact", "assumed", "kind", "stored_shape"} <= set(rows[0])
    assert float(rows[0]["mask.t1"]) > 0 and rows[0]["nm"] == "2:4"
    assert "census" not in out.err  # no progress bar when stderr is not a terminal
    assert main(["census", str(d), "--no-cover", "--json", "--targets", "o_proj"]) == 0
    res = json.loads(capsys.readouterr().out)
    assert [r["name"] for r in res["layers"]] == ["model.layers.0.self_attn.o_proj", "model.layers.1.self_attn.o_proj"]
    assert main(["census", str(d), "--no-cover", "--targets", "q_proj"]) == 0
    table = capsys.readouterr().out
    row = next(line for line in table.splitlines() if line.startswith("| model.layers.0.self_attn.q_proj |"))
    cells = [c.strip() for c in row.strip("|").split("|")]
    assert cells[2:5] == ["32x32", "32x32", "50.00"] and "2:4" in cells


# ------------------------------------------------------------------ compressed-tensors
def pack_bitmask(mask: np.ndarray) -> np.ndarray:
    """compressed-tensors' published layout: bits along the last dimension, little-endian."""
    return np.packbits(mask, axis=-1, bitorder="little")


def _hand_compressed(state: dict[str, torch.Tensor], fmt: str) -> dict[str, torch.Tensor]:
    out = {}
    for k, v in state.items():
        if not (k.endswith("proj.weight") and v.dim() == 2):
            out[k] = v
            continue
        p = k[: -len(".weight")]
        m = (v != 0).numpy()
        out[p + ".bitmask"] = torch.from_numpy(pack_bitmask(m))
        if fmt == "sparse-bitmask":
            out[p + ".shape"] = torch.tensor(list(v.shape))
            out[p + ".compressed"] = v[torch.from_numpy(m)]
            counts = torch.from_numpy(m.sum(axis=1))
            out[p + ".row_offsets"] = torch.cumsum(counts, 0) - counts
        else:
            out[p + ".shape"] = torch.tensor(list(v.shape)).reshape(-1, 1)
            out[p + ".compressed"] = v[torch.from_numpy(m)].reshape(v.shape[0], v.shape[1] // 2)
    return out


def _library_compressed(state: dict[str, torch.Tensor], fmt: str) -> dict[str, torch.Tensor]:
    ct = pytest.importorskip("compressed_tensors")
    try:
        from compressed_tensors.compressors import BitmaskCompressor, Sparse24BitMaskCompressor
        from compressed_tensors.config import BitmaskConfig, Sparse24BitMaskConfig
    except ImportError:
        pytest.skip(f"compressed-tensors {ct.__version__} has no sparse compressors (removed after 0.12)")
    comp = (BitmaskCompressor(config=BitmaskConfig()) if fmt == "sparse-bitmask"
            else Sparse24BitMaskCompressor(config=Sparse24BitMaskConfig()))
    targets = {k[: -len(".weight")] for k, v in state.items() if k.endswith("proj.weight")}
    return comp.compress(state, compression_targets=targets)


@pytest.mark.parametrize("fmt", ["sparse-bitmask", "sparse-24-bitmask"])
@pytest.mark.parametrize("writer", ["library", "hand"])
def test_compressed_tensors_sparse_formats(hf_models, tmp_path, fmt, writer):
    d, expected = hf_models[("llama", "2:4")]
    state = {k: v for f in d.glob("*.safetensors") for k, v in load_file(str(f)).items()}
    packed = (_library_compressed if writer == "library" else _hand_compressed)(state, fmt)
    assert not any(k.endswith("q_proj.weight") for k in packed) and any(k.endswith("q_proj.bitmask") for k in packed)
    save_file(packed, str(tmp_path / "model.safetensors"))
    cfg = json.loads((d / "config.json").read_text())
    cfg["quantization_config"] = {"quant_method": "compressed-tensors", "format": fmt,
                                  "sparsity_config": {"format": fmt, "sparsity_structure": "2:4"}}
    (tmp_path / "config.json").write_text(json.dumps(cfg))
    res = census_checkpoint(tmp_path, scope="all", universal_cover=False)
    assert fmt in res["format"]
    assert [r["name"] for r in res["layers"]] == list(expected)
    for rec in res["layers"]:
        w = expected[rec["name"]]
        assert rec["storage"] == (fmt if rec["name"] != "lm_head" else "dense")
        check_layer(rec, w)
        assert rec["nm"] == "2:4"
    # a bare file (no config): the same layers, from the names, assumed
    bare = tmp_path / "bare.safetensors"
    save_file(packed, str(bare))
    found = checkpoint_layers(bare)
    assert {r.name for r in found.layers if r.storage == fmt} == {n for n in expected if n != "lm_head"}
    ref = next(r for r in found.layers if r.storage == fmt)
    w, mask, _ = read_layer(ref)
    np.testing.assert_array_equal(w.double().numpy(), expected[ref.name])
    np.testing.assert_array_equal(mask.numpy(), expected[ref.name] != 0)


def test_damaged_compressed_tensor_is_an_error(tmp_path):
    v = torch.tensor([[1.0, 0.0, 2.0, 0.0]])
    packed = _hand_compressed({"a.q_proj.weight": v}, "sparse-24-bitmask")
    packed["a.q_proj.compressed"] = torch.ones(1, 3)  # three values for two kept weights
    save_file(packed, str(tmp_path / "m.safetensors"))
    ref = checkpoint_layers(tmp_path / "m.safetensors").layers[0]
    with pytest.raises(ValueError, match="q_proj.compressed holds 3 values"):
        read_layer(ref)


# ------------------------------------------------------------------ silero-vad's shipped weights
def test_silero_vad_shipped_weights_conv1d_and_lstm_gates():
    pytest.importorskip("silero_vad")
    import importlib.resources

    path = Path(str(importlib.resources.files("silero_vad") / "data" / "silero_vad_16k.safetensors"))
    if not path.is_file():
        pytest.skip("this silero-vad release ships no silero_vad_16k.safetensors")
    res = census_checkpoint(path, scope="all", universal_cover=False)
    raw = {k: v.double().numpy() for k, v in load_file(str(path)).items()}
    by_name = {r["name"]: r for r in res["layers"]}
    assert by_name["conv1"]["kind"] == "conv1d" and by_name["conv1"]["graph_shape"] == [129 * 3, 128]
    assert by_name["lstm_cell.weight_ih[f]"]["kind"] == "lstm"
    assert res["assumed"] == len(res["layers"])  # a bare file: every kind inferred
    assert any("stft_conv" in w for w in res["warnings"])  # one input channel per filter: flagged
    for rec in res["layers"]:
        if rec["gate"] is not None:
            g = "ifgo".index(rec["gate"])
            w = raw[rec["key"]][128 * g:128 * (g + 1)]
        else:
            w = raw[rec["key"]]
        check_layer(rec, w)
    assert len(res["layers"]) == 6 + 8  # 6 convolutions, 2 x 4 gate blocks


# ------------------------------------------------------------------ bare state_dicts: assumed, warned
def test_bare_state_dict_ambiguities_are_flagged(tmp_path, capsys):
    torch.manual_seed(1)
    state = {"stem.weight": torch.randn(32, 3, 3, 3), "dw.weight": torch.randn(64, 1, 3, 3),
             "fc.weight": torch.randn(10, 64), "embed_tokens.weight": torch.randn(50, 8),
             "norm.weight": torch.ones(64), "rnn.weight_ih_l0": torch.randn(24, 5), "rnn.weight_hh_l0": torch.randn(24, 8)}
    path = tmp_path / "sd.pt"
    torch.save({"state_dict": state}, path)
    found = checkpoint_layers(path)
    assert [r.name for r in found.layers][:3] == ["stem", "dw", "fc"]
    assert [r.name for r in found.layers][3:] == [f"rnn.weight_{p}_l0[{g}]" for p in ("ih", "hh") for g in "rzn"]
    assert all(r.assumed for r in found.layers)
    assert ("embed_tokens.weight", "embedding (by name)") in found.skipped
    assert [w.split(":")[0] for w in found.warnings] == ["layer 'dw'"]
    # the depthwise reading, given per layer, is the block-diagonal 576 x 64 graph
    res = census_checkpoint(path, groups=(1, {"dw": 64}), scope="all", universal_cover=False, targets="^dw$")
    rec = res["layers"][0]
    b = np.zeros((64 * 9, 64))
    w = state["dw.weight"].double().numpy().reshape(64, 9)
    for c in range(64):
        b[9 * c:9 * c + 9, c] = w[c]
    assert rec["graph_shape"] == [576, 64] and rec["weight"]["t1"] == pytest.approx(svd_pair(np.abs(b))[0], rel=1e-6)
    # a global --groups is flagged on every convolution it is applied to
    with pytest.raises(ValueError, match="divisible"):
        checkpoint_layers(path, groups=(3, {}))
    found4 = checkpoint_layers(path, groups=(4, {"dw": 64}))
    assert any("'stem'" in w and "--groups 4" in w for w in found4.warnings)
    # every output says assumed: JSON, CSV, table, warnings on stderr
    assert main(["census", str(path), "--no-cover", "--csv"]) == 0
    out = capsys.readouterr()
    rows = list(csv.DictReader(io.StringIO(out.out)))
    assert all(r["assumed"] for r in rows) and "warning: layer 'dw'" in out.err
    assert main(["census", str(path), "--no-cover"]) == 0
    assert "| yes |" in capsys.readouterr().out


def test_gru_and_lstm_gate_split_by_shapes(tmp_path):
    """nn.LSTM / nn.GRU weights in a bare file: gate blocks read one by one (torch stacks i,f,g,o / r,z,n;
    the gate count is rows / hidden, hidden from weight_hh's columns)."""
    torch.manual_seed(2)
    lstm, gru = nn.LSTM(6, 4), nn.GRU(5, 3)
    state = {f"lstm.{k}": v for k, v in lstm.state_dict().items()} | {f"gru.{k}": v for k, v in gru.state_dict().items()}
    save_file({k: v.contiguous() for k, v in state.items()}, str(tmp_path / "r.safetensors"))
    res = census_checkpoint(tmp_path / "r.safetensors", scope="all", universal_cover=False)
    names = [r["name"] for r in res["layers"]]
    assert sorted(names) == sorted([f"lstm.weight_{p}_l0[{g}]" for p in ("ih", "hh") for g in "ifgo"]
                                   + [f"gru.weight_{p}_l0[{g}]" for p in ("ih", "hh") for g in "rzn"])
    for rec in res["layers"]:
        mod = lstm if rec["name"].startswith("lstm") else gru
        full = getattr(mod, rec["key"].split(".", 1)[1]).detach().double().numpy()
        h = mod.hidden_size
        g = ("ifgo" if mod is lstm else "rzn").index(rec["gate"])
        check_layer(rec, full[g * h:(g + 1) * h])


# ------------------------------------------------------------------ pruned = zero or NaN; dtypes
def test_nan_is_pruned_and_dtypes(tmp_path, capsys):
    w = torch.tensor([[1.0, float("nan"), 2.0], [float("nan"), 3.0, 0.0]])
    save_file({"fc.weight": w.to(torch.float16)}, str(tmp_path / "nan.safetensors"))
    res = census_checkpoint(tmp_path / "nan.safetensors", scope="all", universal_cover=False)
    rec = res["layers"][0]
    assert rec["nan_pruned"] == 2 and res["nan_pruned"] == 2 and rec["n_kept"] == 3
    check_layer(rec, np.nan_to_num(w.double().numpy()))
    with pytest.raises(ValueError, match="2 NaN weights"):
        census_checkpoint(tmp_path / "nan.safetensors", nan_is_pruned=False)
    assert main(["census", str(tmp_path / "nan.safetensors"), "--no-nan-is-pruned"]) == 1
    assert "NaN" in capsys.readouterr().err
    assert main(["census", str(tmp_path / "nan.safetensors"), "--json"]) == 0
    assert "2 NaN weights read as pruned" in capsys.readouterr().err
    if hasattr(torch, "float8_e4m3fn"):
        save_file({"fc.weight": torch.ones(4, 4).to(torch.float8_e4m3fn)}, str(tmp_path / "f8.safetensors"))
        with pytest.raises(ValueError, match="'fc'.*float8"):
            census_checkpoint(tmp_path / "f8.safetensors")
    save_file({"fc.weight": torch.tensor([[1.0, math.inf]])}, str(tmp_path / "inf.safetensors"))
    with pytest.raises(ValueError, match="infinite"):
        census_checkpoint(tmp_path / "inf.safetensors")


def test_malformed_files_name_the_file(tmp_path, capsys):
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{not json at all")
    with pytest.raises(ValueError, match="bad.safetensors"):
        checkpoint_layers(bad)
    d = tmp_path / "hf"
    d.mkdir()
    (d / "config.json").write_text("{}")
    with pytest.raises(FileNotFoundError, match="no model.safetensors"):
        checkpoint_layers(d)
    (d / "model.safetensors.index.json").write_text(json.dumps({"weight_map": {"a.weight": "../escape.safetensors"}}))
    with pytest.raises(ValueError, match="not a file name"):
        checkpoint_layers(d)
    (d / "model.safetensors.index.json").write_text(json.dumps({"weight_map": {"a.weight": "gone.safetensors"}}))
    assert main(["census", str(d)]) == 1
    assert "gone.safetensors" in capsys.readouterr().err
    for flag, value in (("--workers", "0"), ("--timeout", "nan"), ("--executor", "dask")):
        with pytest.raises(SystemExit) as exc:  # a usage error: argparse's exit status 2
            main(["census", str(d), flag, value])
        assert exc.value.code == 2 and flag in capsys.readouterr().err


# ------------------------------------------------------------------ N:M
def test_nm_pattern_by_hand():
    m = torch.tensor([[1, 1, 0, 0, 0, 1, 1, 0], [1, 0, 1, 0, 0, 0, 1, 1]], dtype=torch.bool)
    assert nm_pattern(m) == {"nm": "2:4", "nm_exact": True, "out_degree": 4, "out_degree_max": 4,
                             "nm_out_degree_bound": 4}
    m2 = torch.tensor([[1, 1, 1, 0, 0, 0, 0, 1]], dtype=torch.bool)  # 3 in the first 4, 4 in 8
    assert nm_pattern(m2)["nm"] == "4:8"
    m3 = torch.tensor([[1, 1, 1, 1, 1, 0, 0, 0]], dtype=torch.bool)
    assert nm_pattern(m3)["nm"] == "none"
    assert nm_pattern(torch.ones(2, 6, dtype=torch.bool))["nm"] == "none"  # 6 inputs: no blocks of 4
    assert nm_pattern(torch.tensor([[1, 0, 0, 0]], dtype=torch.bool))["nm_exact"] is False


def test_nm_pattern_property():
    hyp = pytest.importorskip("hypothesis")
    st = pytest.importorskip("hypothesis.strategies")

    @hyp.settings(max_examples=60, deadline=None)
    @hyp.given(st.integers(1, 5), st.integers(1, 4), st.integers(0, 2**31 - 1))
    def check(rows, blocks, seed):
        rng = np.random.default_rng(seed)
        m = np.zeros((rows, blocks * 4), dtype=bool)
        for r in range(rows):
            for b in range(blocks):
                m[r, 4 * b + rng.choice(4, size=rng.integers(0, 3), replace=False)] = True
        got = nm_pattern(m)
        assert got["nm"] == "2:4"
        assert got["nm_exact"] == bool((m.reshape(rows, blocks, 4).sum(-1) == 2).all())
        assert got["out_degree_max"] <= got["nm_out_degree_bound"] == 2 * blocks

    check()


# ------------------------------------------------------------------ --out: resume
def test_out_dir_writes_each_layer_and_resumes(hf_models, tmp_path):
    d, expected = hf_models[("bert", "50%")]
    out = tmp_path / "out"
    first = census_checkpoint(d, universal_cover=False, out=out)
    files = sorted((out / "layers").glob("*.json"))
    assert len(files) == len(expected) and (out / "census.json").is_file() and first["resumed"] == 0
    files[3].unlink()  # an interrupted census: one layer missing
    files[4].write_text("{damaged")
    again = census_checkpoint(d, universal_cover=False, out=out)
    assert again["resumed"] == len(expected) - 2
    assert again["layers"] == first["layers"]
    other = census_checkpoint(d, universal_cover=False, scope="all", out=out)  # other options: computed afresh
    assert other["resumed"] == 0


# ------------------------------------------------------------------ executors
@pytest.mark.slow
def test_process_pool_equals_serial(hf_models):
    d, _ = hf_models[("llama", "2:4")]
    serial = census_checkpoint(d, universal_cover=False, targets="layers.0")
    pooled = census_checkpoint(d, universal_cover=False, targets="layers.0", workers=2)
    assert pooled["layers"] == serial["layers"]


def test_ray_address_that_does_not_answer_fails_within_the_timeout(tmp_path):
    import socket
    import time

    save_file({"fc.weight": torch.ones(2, 2)}, str(tmp_path / "m.safetensors"))
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    t = time.perf_counter()
    with pytest.raises(ConnectionError, match=f"127.0.0.1:{port}"):
        census_checkpoint(tmp_path / "m.safetensors", executor="ray", address=f"127.0.0.1:{port}", timeout=2)
    assert time.perf_counter() - t < 60
    with pytest.raises(ValueError, match="--address is only for"):
        census_checkpoint(tmp_path / "m.safetensors", address="auto")


@pytest.mark.slow
def test_ray_census_equals_the_local_one(hf_models):
    pytest.importorskip("ray")
    d, _ = hf_models[("gpt2", "2:4")]
    local = census_checkpoint(d, universal_cover=False)
    on_ray = census_checkpoint(d, universal_cover=False, executor="ray", workers=1)
    assert on_ray["layers"] == local["layers"]
    assert on_ray["executor"] == "ray" and on_ray["regime"] == local["regime"]


def test_run_directory_census_matches_the_model_census():
    """census_layer of an in-memory layer equals the adapter's census of the module."""
    from bipartite_expanders.adapters.torch import census
    from bipartite_expanders.adapters.torch.checkpoints import LayerRef

    import torch.nn.utils.prune as prune

    torch.manual_seed(3)
    lin = nn.Linear(12, 8, bias=False)
    magnitude_prune_(lin.weight, "2:4")
    w = lin.weight.detach().clone()
    prune.custom_from_mask(lin, "weight", w != 0)
    ref = LayerRef(name="fc", kind="linear", file="-", key="fc.weight", shape=(8, 12), dtype="float32",
                   storage="memory", loader="memory", tensors=(w, w != 0))
    rec = census_layer(ref, universal_cover=False)
    want = census(nn.Sequential(lin), universal_cover=False).layers[0]
    assert rec["mask"]["t2"] == want.mask.t2 and rec["weight"]["t1"] == want.weight.t1
    assert rec["nm"] == "2:4"


def test_empty_and_non_weight_tensors_are_skipped(tmp_path):
    save_file({"empty.weight": torch.zeros(0, 4), "fc.weight": torch.eye(3), "fc.bias": torch.zeros(3),
               "buffer_table": torch.ones(3, 3)}, str(tmp_path / "m.safetensors"))
    found = checkpoint_layers(tmp_path / "m.safetensors")
    assert [r.name for r in found.layers] == ["fc"]
    assert dict(found.skipped) == {"empty": "empty weight (0, 4)", "buffer_table": "not a weight"}


def test_config_transformers_cannot_build_falls_back_to_names(tmp_path):
    pytest.importorskip("transformers")
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "no-such-model-xyz"}))
    save_file({"blocks.0.fc.weight": torch.eye(4)}, str(tmp_path / "model.safetensors"))
    found = checkpoint_layers(tmp_path)
    assert found.structure == "names and shapes" and [r.name for r in found.layers] == ["blocks.0.fc"]
    assert found.layers[0].assumed and "transformers cannot build" in found.warnings[0]


def test_pytorch_model_bin_directory_equals_the_safetensors_one(hf_models, tmp_path):
    d, expected = hf_models[("llama", "50%")]
    state = {k: v for f in d.glob("*.safetensors") for k, v in load_file(str(f)).items()}
    torch.save(state, tmp_path / "pytorch_model.bin")
    (tmp_path / "config.json").write_text((d / "config.json").read_text())
    a = census_checkpoint(d, universal_cover=False, targets="layers.1")
    b = census_checkpoint(tmp_path, universal_cover=False, targets="layers.1")
    assert b["format"] == "torch" and b["structure"] == a["structure"]
    drop = ("file", "dtype")
    assert [{k: v for k, v in r.items() if k not in drop} for r in b["layers"]] == \
        [{k: v for k, v in r.items() if k not in drop} for r in a["layers"]]


def test_a_sparse_tensor_in_a_state_dict_is_named(tmp_path):
    """Issue 27: a state_dict holding a sparse tensor printed torch's dispatch table; it is
    refused in one line naming the file and the tensor (exit 1: the file, not a flag, is wrong)."""
    path = tmp_path / "sparse.pt"
    torch.save({"fc.weight": torch.eye(4).to_sparse()}, path)
    out = subprocess.run([sys.executable, "-m", "bipartite_expanders", "census", str(path), "--no-progress"],
                         capture_output=True, text=True)
    assert out.returncode == 1
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and "'fc.weight'" in lines[0] and "sparse_coo" in lines[0] and str(path) in lines[0]


def test_bfloat16_weights_read_exactly(tmp_path):
    # every finite bfloat16 bit pattern, +-inf and NaN read as torch converts them (the reader
    # shifts the bits on the CPU); NaN is pruned by default, inf is an error naming the layer
    bits = torch.arange(-32768, 32768, dtype=torch.int32).to(torch.int16)
    allv = bits.view(torch.bfloat16)
    finite = allv[torch.isfinite(allv)]
    path = tmp_path / "bf.safetensors"
    save_file({"fc.weight": finite[: 256 * 255].reshape(256, 255).contiguous()}, str(path))
    w, mask, info = read_layer(checkpoint_layers(str(path)).layers[0])
    ref = finite[: 256 * 255].reshape(256, 255).to(torch.float32)
    assert w.dtype == torch.float32 and torch.equal(w, ref) and info["nan_pruned"] == 0
    assert torch.equal(mask, ref != 0)
    special = torch.tensor([[1.0, float("nan")], [0.5, 2.0]]).to(torch.bfloat16)
    save_file({"fc.weight": special}, str(path))
    w, mask, info = read_layer(checkpoint_layers(str(path)).layers[0])
    assert info["nan_pruned"] == 1 and w.tolist() == [[1.0, 0.0], [0.5, 2.0]] and not bool(mask[0, 1])
    save_file({"fc.weight": torch.tensor([[1.0, float("-inf")]]).to(torch.bfloat16)}, str(path))
    with pytest.raises(ValueError, match="infinite"):
        read_layer(checkpoint_layers(str(path)).layers[0])
