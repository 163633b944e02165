import subprocess
import sys


def test_core_import_pulls_no_torch():
    code = "import sys, bipartite_expanders, bipartite_expanders.cli; assert 'torch' not in sys.modules, 'torch imported'"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_console_parser_pulls_no_torch():
    """Building the parser imports every command module (torch ones too): none may load torch,
    so `bipartite-expanders analyze` stays a numpy/scipy program."""
    code = (
        "import sys; from bipartite_expanders.cli import build_parser; build_parser(); "
        "import bipartite_expanders.adapters.torch; assert 'torch' not in sys.modules, 'torch imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_public_api_exported():
    import bipartite_expanders as be

    for name in be.__all__:
        assert hasattr(be, name), name


def test_small_analysis_loads_no_numba():
    """numba's import and first call cost ~0.4 s: a small graph (below ``MatrixOperator.NUMBA_FROM_NNZ``
    and ``cover_kernels.COMPILE_FROM_EDGES``), spectrum and universal cover included, must not pay it."""
    code = ("import sys, numpy as np; from bipartite_expanders import generators, ramanujan_report; "
            "r = ramanujan_report(generators.random_biregular(60, 8, d_right=12, seed=0)); "
            "assert r.rho_uc_method and r.rho_uc == r.rho_uc, r; "
            "assert 'numba' not in sys.modules, 'numba imported'")
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True)
