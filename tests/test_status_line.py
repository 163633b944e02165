"""The core's status line (issue 25, deliverable 7): the exact universal-cover radius reports its
narrowing bracket on a terminal, once it has run for the delay, and erases the line at the end;
a pipe, a log or a library caller sees nothing."""
import io

import numpy as np
import pytest
import scipy.sparse as sp

from bipartite_expanders import progress, universal_cover_radius


@pytest.fixture(autouse=True)
def _status_off():
    yield
    progress.show_on(None)


def _graph_with_a_fold():
    # a random sparse graph with cycles: no closed form, not a tree: the fold search runs
    B = sp.random(60, 40, density=0.12, random_state=np.random.default_rng(3), data_rvs=lambda k: np.ones(k))
    return sp.csr_array(B)


class _Terminal(io.StringIO):
    def isatty(self):
        return True


def test_cover_radius_shows_its_bracket_and_erases_the_line():
    term = _Terminal()
    assert progress.show_on(term, delay=0.0, interval=0.0)
    r = universal_cover_radius(_graph_with_a_fold(), scope="largest", method="fold")
    out = term.getvalue()
    assert "universal-cover radius (" in out and "fold step 1, bracket relative width " in out, out[:300]
    states = [s for s in out.split("\r") if s.strip()]
    assert len(states) >= 2  # one line rewritten in place, never a newline
    assert "\n" not in out
    assert out.endswith("\r") and out.rsplit("\r", 2)[-2].strip() == ""  # erased at the end
    width = float(states[-1].split("relative width ")[1].split(",")[0])
    assert width <= 1.0 and r.converged  # the widths shown are relative: scale-free


def test_bisection_reports_its_sweeps():
    term = _Terminal()
    progress.show_on(term, delay=0.0, interval=0.0)
    universal_cover_radius(_graph_with_a_fold(), scope="largest", method="bisect", tol=1e-6)
    assert "bisection, bracket relative width " in term.getvalue() and " sweeps" in term.getvalue()


def test_nothing_on_a_pipe_or_before_the_delay():
    pipe = io.StringIO()
    assert not progress.show_on(pipe)  # not a terminal
    universal_cover_radius(_graph_with_a_fold(), scope="largest", method="fold")
    assert pipe.getvalue() == ""
    term = _Terminal()
    assert progress.show_on(term, delay=3600.0)
    universal_cover_radius(_graph_with_a_fold(), scope="largest", method="fold")
    assert term.getvalue() == ""


def test_update_outside_a_task_and_a_closed_stream_are_harmless():
    term = _Terminal()
    progress.show_on(term, delay=0.0, interval=0.0)
    progress.update("no task open")
    assert term.getvalue() == ""
    term.close()
    with progress.task("closed"):
        progress.update("still fine")  # writing to a closed stream raises ValueError: swallowed
