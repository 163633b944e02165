"""One writer per run directory (issue 27): many processes contending for ``writer_lock``
never hold it together, and a dead holder's lock is taken over."""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

from bipartite_expanders.adapters.torch.lth import rundir

CONTENDER = textwrap.dedent("""
    import os, sys, time, random
    from pathlib import Path
    from bipartite_expanders.adapters.torch.lth.rundir import writer_lock, RunLockedError
    d, trials, start, die_at = Path(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4])
    random.seed(os.getpid())
    while time.time() < start:  # all contenders begin together
        time.sleep(0.001)
    got = clashes = 0
    while got < trials:
        try:
            with writer_lock(d):
                # a second holder would find the marker of the first
                try:
                    fd = os.open(d / "inside", os.O_CREAT | os.O_EXCL | os.O_WRONLY)
                except FileExistsError:
                    clashes += 1
                    continue
                os.close(fd)
                time.sleep(random.random() * 0.002)
                os.unlink(d / "inside")
                got += 1
                if got == die_at:
                    os._exit(3)  # dies holding the lock: the kernel drops the OS lock, the file stays
        except RunLockedError:
            time.sleep(random.random() * 0.001)
    print(got, clashes)
""")


def test_many_contending_processes_never_hold_the_lock_together(tmp_path):
    """8 processes x 30 acquisitions each, all starting at once, two of them dying while they
    hold the lock (a stale lock file naming a dead PID, to be taken over): no acquisition ever
    finds another holder inside. (The lock written after O_EXCL creation let a competitor read
    it empty and delete it: 3 of 40 trials had two holders with 6 processes.)"""
    import time

    d = tmp_path / "run"
    d.mkdir()
    start = time.time() + 3.0
    procs = [subprocess.Popen([sys.executable, "-c", CONTENDER, str(d), "30", str(start), str(10 if i < 2 else 0)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for i in range(8)]
    outs = [p.communicate(timeout=300) for p in procs]
    codes = [p.returncode for p in procs]
    assert codes == [3, 3] + [0] * 6, [o[1][-500:] for o in outs]
    got = [tuple(map(int, out.split())) for out, _ in outs[2:]]
    assert got == [(30, 0)] * 6
    assert not (d / "inside").exists() and not rundir.lock_path(d).exists()


def test_a_lock_file_naming_a_dead_process_is_taken_over(tmp_path):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    rundir.lock_path(tmp_path).write_text(f"{dead.pid} {os.uname().nodename}\n")
    with rundir.writer_lock(tmp_path) as p:
        assert p.read_text() == f"{os.getpid()} {os.uname().nodename}\n"
    assert not p.exists()


def test_a_held_lock_is_refused_naming_its_holder(tmp_path):
    holder = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import sys, time
        from bipartite_expanders.adapters.torch.lth.rundir import writer_lock
        with writer_lock({str(tmp_path)!r}):
            print("held", flush=True)
            sys.stdin.readline()
    """)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(rundir.RunLockedError, match=f"PID {holder.pid}"):
            with rundir.writer_lock(tmp_path):
                pass
    finally:
        holder.communicate("\n", timeout=60)
    with rundir.writer_lock(tmp_path):  # released: free again
        pass


def test_a_lock_file_of_another_host_is_refused(tmp_path):
    rundir.lock_path(tmp_path).write_text("12345 some-other-host\n")
    with pytest.raises(rundir.RunLockedError, match="PID 12345 on some-other-host"):
        with rundir.writer_lock(tmp_path):
            pass
