"""Layers as bipartite graphs: the unfolding against an explicit entry-by-entry construction."""

import itertools

import numpy as np
import pytest

torch = pytest.importorskip("torch")
from torch import nn  # noqa: E402

from bipartite_expanders.adapters.torch import fold, layer_graph, layer_roles, prunable_layers, unfold, unfolded_shape  # noqa: E402
from bipartite_expanders import BipartiteGraph  # noqa: E402

torch.set_num_threads(1)


def explicit_unfolding(weight: np.ndarray, groups: int) -> np.ndarray:
    """DESIGN.md by the letter: row (c, k1, k2, ...) flattened, column = output channel."""
    out, in_g, *kernel = weight.shape
    out_g = out // groups
    K = int(np.prod(kernel)) if kernel else 1
    B = np.zeros((in_g * groups * K, out))
    for o in range(out):
        g = o // out_g
        for c_local in range(in_g):
            c = g * in_g + c_local
            for taps in itertools.product(*[range(k) for k in kernel]):
                t = 0
                for k, i in zip(kernel, taps):
                    t = t * k + i
                B[c * K + t, o] = weight[(o, c_local, *taps)]
    return B


@pytest.mark.parametrize(
    "module",
    [
        nn.Conv2d(4, 6, (2, 3)),
        nn.Conv2d(4, 6, (2, 3), groups=2),
        nn.Conv2d(6, 6, 3, groups=6),
        nn.Conv2d(4, 6, (2, 3), stride=2, dilation=2, padding=1, groups=2),
        nn.Conv1d(3, 4, 5),
        nn.Conv3d(2, 4, (2, 1, 3), groups=2),
        nn.Linear(5, 3),
    ],
    ids=["conv2d", "conv2d-g2", "depthwise", "conv2d-g2-stride-dilation", "conv1d", "conv3d-g2", "linear"],
)
def test_unfolding_matches_explicit_construction(module):
    torch.manual_seed(0)
    with torch.no_grad():
        module.weight.mul_((torch.rand_like(module.weight) > 0.3).float())  # some zeros
    W = module.weight.detach().double().numpy()
    expected = explicit_unfolding(W, getattr(module, "groups", 1))
    assert unfolded_shape(module) == expected.shape
    np.testing.assert_array_equal(unfold(module, module.weight), expected)
    np.testing.assert_array_equal(unfold(module, module.weight, sparse=True).toarray(), expected)
    np.testing.assert_array_equal(layer_graph(module, "weight").toarray(), np.abs(expected))
    np.testing.assert_array_equal(layer_graph(module, "mask").toarray(), np.ones_like(expected) * (
        explicit_unfolding(np.ones_like(W), getattr(module, "groups", 1))))
    # fold is the inverse
    torch.testing.assert_close(fold(module, expected), module.weight.detach(), rtol=0, atol=0)
    torch.testing.assert_close(fold(module, layer_graph(module, "weight")), module.weight.detach().abs(), rtol=0, atol=0)


def test_stride_and_dilation_do_not_enter():
    a = nn.Conv2d(4, 6, 3)
    b = nn.Conv2d(4, 6, 3, stride=3, dilation=2, padding=2)
    b.weight.data.copy_(a.weight.data)
    assert layer_graph(a, "weight") == layer_graph(b, "weight")


def test_fc_orientation_inputs_are_rows():
    fc = nn.Linear(7, 3)
    B = layer_graph(fc, "weight").toarray()
    assert B.shape == (7, 3)
    W = fc.weight.detach().double().numpy()
    assert all(B[i, o] == abs(W[o, i]) for i in range(7) for o in range(3))


def test_fold_rejects_entries_outside_group_blocks_and_bad_shapes():
    conv = nn.Conv2d(4, 6, 3, groups=2)
    B = np.zeros(unfolded_shape(conv))
    B[0, 5] = 1  # input channel 0 (group 0) to output 5 (group 1)
    with pytest.raises(ValueError, match="blocks"):
        fold(conv, B)
    with pytest.raises(ValueError, match="shape"):
        fold(conv, np.zeros((3, 3)))
    with pytest.raises(ValueError, match="shape"):
        unfold(conv, torch.zeros(2, 2))


def test_layer_graph_kinds_and_errors():
    fc = nn.Linear(4, 3)
    with pytest.raises(ValueError, match="kind"):
        layer_graph(fc, "grad")
    with pytest.raises(ValueError, match="scores"):
        layer_graph(fc, "score")
    with pytest.raises(ValueError, match="shape"):
        layer_graph(fc, "score", torch.ones(4, 3))
    with pytest.raises(TypeError, match="module"):
        layer_graph(nn.ReLU())
    s = -torch.arange(12.0).reshape(3, 4)
    np.testing.assert_array_equal(layer_graph(fc, "score", s).toarray(), np.abs(s.numpy()).T)
    # built without a validating copy, the graph is still validated and canonical
    with torch.no_grad():
        fc.weight[1, 2] = float("nan")
    with pytest.raises(ValueError, match="non-finite"):
        layer_graph(fc, "weight")
    with torch.no_grad():
        fc.weight[1, 2] = 0.0
    g = layer_graph(fc, "weight")
    ref = BipartiteGraph.from_dense(np.abs(fc.weight.detach().double().numpy()).T)
    assert g == ref and g.n_edges == 11 and g.matrix.has_canonical_format


def test_prunable_layers_and_roles():
    model = nn.Sequential(
        nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2), nn.ReLU(), nn.Conv1d(2, 2, 1, bias=False),
        nn.Flatten(), nn.Linear(8, 4), nn.Linear(4, 2),
    )
    assert list(prunable_layers(model)) == ["0", "3", "5", "6"]
    assert layer_roles(model) == {"0": "conv", "3": "conv", "5": "fc", "6": "output"}
    with pytest.raises(TypeError, match="model"):
        prunable_layers("not a model")
