"""Progress (issue 25, deliverable 7, first half): the rounds bar closes at 100 % when a run
ends, also when a stop rule ends it before the last round; numba's first compile says so once."""
import io
import re
import time

import pytest

from bipartite_expanders.compile_notice import MESSAGE, CompileNotice

torch = pytest.importorskip("torch")
from bipartite_expanders.adapters.torch.lth.hparams import default_hparams  # noqa: E402
from bipartite_expanders.adapters.torch.lth.runner import run_lottery  # noqa: E402


def _last_bar(stderr, label):
    states = [s for s in re.split(r"[\r\n]", stderr) if s.startswith(f"{label} rounds")]
    assert states, stderr
    return states[-1]


@pytest.mark.parametrize("rounds,target,want", [
    (0, None, "1/1"),      # one round only (the "0/1" case)
    (2, None, "3/3"),      # every round
    (20, 0.7, "3/3"),      # the target density (0.8^2 = 0.64) stops it after round 2 of 20: 100 %
])
def test_rounds_bar_ends_at_100_percent(tmp_path, capsys, rounds, target, want):
    h = default_hparams("lenet300", "digits", pruner="imp", rounds=rounds, target_density=target)
    h = h.replace(training={"iterations": 10}, dataset={"noise": (0.2,)})
    res = run_lottery(h, tmp_path, progress=True)
    assert res.records[-1].stop is not None
    last = _last_bar(capsys.readouterr().err, "IMP")
    assert "100%" in last and f" {want} " in last, last


def test_a_paused_run_is_not_shown_complete(tmp_path, capsys):
    h = default_hparams("lenet300", "digits", pruner="imp", rounds=3).replace(training={"iterations": 10},
                                                                              dataset={"noise": (0.2,)})
    run_lottery(h, tmp_path, progress=True, stop_after=0)  # paused after round 0: 1 of 4
    assert " 1/4 " in _last_bar(capsys.readouterr().err, "IMP")


def test_compile_notice_once_and_only_after_the_delay():
    quick = CompileNotice(io.StringIO(), delay=5.0)
    quick.start(); quick.end()  # a cache load: over before the delay
    assert quick.stream.getvalue() == ""
    slow = CompileNotice(io.StringIO(), delay=0.05)
    slow.start(); slow.start()
    for _ in range(200):  # the timer thread fires after 0.05 s; a loaded machine may take longer
        if slow.stream.getvalue():
            break
        time.sleep(0.05)
    slow.end(); slow.end()
    slow.start(); time.sleep(0.2); slow.end()  # a later compile in the same process: no second line
    assert slow.stream.getvalue() == MESSAGE + "\n"
