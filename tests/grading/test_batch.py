"""tatamu.batch: a child's output kept within bounds, its wall-clock limit, what it started
killed with it, its result apart from its prints; the limits a child sets on itself; jobs on a
local pool and on a real Dask cluster giving the same results."""

from __future__ import annotations

import json
import os
import signal
import sys
import time

import pytest
from dask_cluster import local_cluster

from tatamu.batch import child, engine, start
from tatamu.errors import ConfigError

PY = sys.executable


def python(code: str) -> list[str]:
    return [PY, "-c", code]


# -- a child's output, time and result ---------------------------------------------------------
def test_output_keeps_its_first_and_last_bytes_and_counts_them_all():
    lines = 50_000  # 50,000 numbered lines of 21 bytes: about 1 MB
    out = child.run_child(python(
        f"import sys\nfor i in range({lines}): sys.stdout.write(f'line {{i:09d}} .....\\n')"),
        keep=1000)
    assert out.returncode == 0 and not out.timed_out
    assert out.stdout.total == lines * 21
    assert len(out.stdout.head) == 1000 and len(out.stdout.tail) == 1000
    text = out.stdout.text()
    assert text.startswith("line 000000000")
    assert text.rstrip().endswith(f"line {lines - 1:09d} .....")
    assert f"{lines * 21 - 2000:,} bytes not kept" in text


def test_a_child_past_its_wall_limit_is_killed_with_what_it_started(tmp_path):
    marker = tmp_path / "grandchild.pid"
    code = (f"import subprocess, sys, time\n"
            f"p = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'])\n"
            f"open({str(marker)!r}, 'w').write(str(p.pid))\n"
            f"time.sleep(60)\n")
    begun = time.monotonic()
    out = child.run_child(python(code), wall_limit=2)
    assert out.timed_out and out.signal_name == "SIGKILL"
    assert time.monotonic() - begun < 10
    grandchild = int(marker.read_text())
    time.sleep(0.2)
    assert not alive(grandchild)


def alive(pid: int) -> bool:
    """Running (a zombie that no one reaped, as in a container whose init does not, is dead)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def test_a_result_comes_back_apart_from_what_the_child_prints():
    code = ("import os, sys\nprint('{\"fake\": 1}')\n"
            "fd = int(sys.argv[sys.argv.index('--result-fd') + 1])\n"
            "os.write(fd, b'{\"real\": 2}')\n")
    out = child.run_child([PY, "-c", code, "x"], result=True)
    assert json.loads(out.result) == {"real": 2}
    assert "fake" in out.stdout.text()


def test_a_grandchild_holding_the_pipe_open_does_not_hold_the_parent():
    code = ("import subprocess, sys\n"
            "subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'])\n")
    begun = time.monotonic()
    out = child.run_child(python(code))
    assert out.returncode == 0
    assert time.monotonic() - begun < 10


def test_stop_all_ends_running_children_and_refuses_new_ones():
    import threading

    results = []
    worker = threading.Thread(target=lambda: results.append(
        child.run_child(python("import time; time.sleep(60)"))))
    worker.start()
    time.sleep(1.0)
    try:
        child.stop_all()
        worker.join(timeout=10)
        assert not worker.is_alive() and results[0].signal_name == "SIGKILL"
        with pytest.raises(child.Stopped):
            child.run_child(python("pass"))
    finally:
        child.allow_new()


def test_a_stopped_child_may_first_save_its_work_on_sigint(tmp_path):
    import threading

    saved = tmp_path / "saved"
    code = (f"import time\ntry:\n    time.sleep(60)\nexcept KeyboardInterrupt:\n"
            f"    open({str(saved)!r}, 'w').write('checkpoint')\n")
    worker = threading.Thread(target=lambda: child.run_child(python(code)))
    worker.start()
    time.sleep(1.0)
    try:
        child.stop_all(grace=5)
        worker.join(timeout=10)
    finally:
        child.allow_new()
    assert saved.read_text() == "checkpoint"


# -- the limits a child sets on itself (tatamu.batch.start) ------------------------------------
def limited(code: str, tmp_path, **limits) -> child.ChildResult:
    """Run ``code`` (a module's text defining main(args, notes)) through start.py."""
    module = tmp_path / "limited_job.py"
    module.write_text(code)
    spec = {"limits": limits, "entry": "limited_job:main", "args": {}}
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    # no -I here: the test's module is found through PYTHONPATH
    return child.run_child([PY, start.__file__, json.dumps(spec)], env=env, result=True,
                           wall_limit=60, cwd=tmp_path)


def test_cpu_time_is_limited(tmp_path):
    out = limited("def main(args, notes):\n    while True: pass\n", tmp_path, cpu_seconds=1)
    assert out.signal_name in ("SIGXCPU", "SIGKILL") and not out.timed_out


def test_memory_is_limited(tmp_path):
    code = ("def main(args, notes):\n    try:\n        b = bytearray(600 * 2**20)\n"
            "    except MemoryError:\n        return 'refused'\n    return len(b)\n")
    out = limited(code, tmp_path, memory_mb=300)
    assert json.loads(out.result) == "refused"


def test_a_file_written_without_end_stops_at_the_file_limit(tmp_path):
    code = ("def main(args, notes):\n    try:\n        with open('big', 'wb') as f:\n"
            "            for _ in range(100): f.write(b'x' * 2**20)\n"
            "    except OSError as e:\n        return e.errno\n    return 0\n")
    out = limited(code, tmp_path, file_mb=5)
    import errno

    assert json.loads(out.result) == errno.EFBIG


def test_the_network_is_cut_off_or_the_reason_is_said(tmp_path):
    code = ("import socket\ndef main(args, notes):\n    try:\n"
            "        socket.create_connection(('127.0.0.1', 9), timeout=2)\n"
            "    except OSError as e:\n        return [notes, e.errno]\n    return [notes, 0]\n")
    notes, errno_seen = json.loads(limited(code, tmp_path, network=False).result)
    if notes:  # this system refused the network namespace: said in one note
        assert any(n.startswith("network not cut off") for n in notes)
    else:
        import errno

        assert errno_seen == errno.ENETUNREACH  # no route at all, not just nothing listening


# -- the engine --------------------------------------------------------------------------------
def test_local_jobs_come_back_with_their_index_and_a_failing_job_is_its_own_outcome():
    outcomes = list(engine.run_jobs(lambda j: 10 // j, [1, 2, 0, 5], jobs_at_once=2))
    by_index = {o.index: o for o in outcomes}
    assert [by_index[i].result for i in (0, 1, 3)] == [10, 5, 2]
    assert by_index[2].error.startswith("ZeroDivisionError")


def test_an_unreachable_cluster_is_one_line(monkeypatch):
    pytest.importorskip("distributed")
    from dask_cluster import free_port

    monkeypatch.setattr(engine, "CONNECT_TIMEOUT", 2.0)
    with pytest.raises(ConfigError, match="cannot reach a Dask scheduler at tcp://127.0.0.1"):
        list(engine.run_jobs(len, ["ab"], cluster=f"tcp://127.0.0.1:{free_port()}"))


def test_jobs_on_a_real_dask_cluster_equal_the_local_ones(tmp_path):
    jobs = [{"argv": ["python", "-c", "print(6 * 7)"]}, {"argv": ["true"]},
            {"argv": ["python", "-c", "import sys; sys.exit('no')"]}]

    def seen(outcomes):
        return {o.index: (o.error, o.result["returncode"], o.result["stdout"].strip(),
                          o.result["stderr"].strip()) for o in outcomes}

    local = seen(engine.run_jobs(child.run_command, jobs, jobs_at_once=2))
    with local_cluster(tmp_path, workers=1, threads=2) as address:
        remote = seen(engine.run_jobs(child.run_command, jobs, cluster=address))
    assert remote == local == {0: (None, 0, "42", ""), 1: (None, 0, "", ""),
                               2: (None, 1, "", "no")}


def test_sigusr1_makes_a_limited_child_say_where_it_is(tmp_path):
    code = "import time\ndef main(args, notes):\n    time.sleep(60)\n"
    module = tmp_path / "sleeper.py"
    module.write_text(code)
    spec = {"limits": {}, "entry": "sleeper:main", "args": {}}
    out = child.run_child([PY, start.__file__, json.dumps(spec)], wall_limit=3,
                          env={**os.environ, "PYTHONPATH": str(tmp_path)},
                          dump_signal=signal.SIGUSR1)
    assert out.timed_out
    assert 'sleeper.py", line 3 in main' in out.stderr.text()
