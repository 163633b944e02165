"""The examples in the docstrings of the sparsifier and the torch adapter run and hold."""

import doctest
import importlib

import pytest

MODULES = ["bipartite_expanders.sparsify"]
TORCH_MODULES = ["bipartite_expanders.adapters.torch", "bipartite_expanders.adapters.torch.layers", "bipartite_expanders.adapters.torch.census", "bipartite_expanders.adapters.torch.scores",
                 "bipartite_expanders.adapters.torch.masks", "bipartite_expanders.adapters.torch.pruning",
                 "bipartite_expanders.adapters.torch.checkpoints", "bipartite_expanders.adapters.torch.checkpoint_census",
                 "bipartite_expanders.adapters.torch.oneshot", "bipartite_expanders.adapters.torch.nm",
                 "bipartite_expanders.adapters.torch.allocation"]


@pytest.mark.parametrize("name", MODULES + TORCH_MODULES)
def test_docstring_examples(name):
    if name in TORCH_MODULES:
        torch = pytest.importorskip("torch")
        torch.set_num_threads(1)
    mod = importlib.import_module(name)
    res = doctest.testmod(mod, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert res.failed == 0
