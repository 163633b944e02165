"""The examples in the docstrings of the sparsifier and the torch adapter run and hold."""

import doctest
import importlib

import pytest

MODULES = ["bipartite_expanders.sparsify"]
TORCH_MODULES = ["adapters.torch", "adapters.torch.layers", "adapters.torch.census", "adapters.torch.scores",
                 "adapters.torch.masks", "adapters.torch.pruning"]


@pytest.mark.parametrize("name", MODULES + TORCH_MODULES)
def test_docstring_examples(name):
    if name in TORCH_MODULES:
        torch = pytest.importorskip("torch")
        torch.set_num_threads(1)
    mod = importlib.import_module(name)
    res = doctest.testmod(mod, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert res.failed == 0
