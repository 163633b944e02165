import subprocess
import sys


def test_core_import_pulls_no_torch():
    code = "import sys, bipartite_expanders, bipartite_expanders.cli; assert 'torch' not in sys.modules, 'torch imported'"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_public_api_exported():
    import bipartite_expanders as be

    for name in be.__all__:
        assert hasattr(be, name), name
