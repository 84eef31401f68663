"""One writer per run folder: a second writer is refused, a killed one leaves no stale lock."""

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ddpg_agent import ACTOR_FILE, CRITIC2_FILE
from run_folder import LOCK_FILE, RunFolderBusyError, writer_lock
from train import cli, main

REPO = Path(__file__).resolve().parents[1]
FAST = ["--env", "sim", "--max-steps", "20", "--no-progress", "--episodes", "1"]
FAST += ["--set", "batch_size=32", "buffer_size=5000"]


def test_a_second_writer_is_refused_with_the_holders_pid(tmp_path):
    with (
        writer_lock(tmp_path),
        pytest.raises(RunFolderBusyError, match=r"another run \(pid \d+\)"),
        writer_lock(tmp_path),
    ):
        pass
    with writer_lock(tmp_path):  # released: the next writer takes it
        pass


def test_train_refuses_a_folder_another_run_is_writing(tmp_path, capsys):
    out = tmp_path / "run"
    out.mkdir()
    with writer_lock(out):
        assert cli([*FAST, "--out", str(out), "--overwrite"]) == 1
    assert "is being written by another run" in capsys.readouterr().err
    assert not (out / "scores.csv").exists()


@pytest.mark.timeout(60)
def test_a_killed_writer_leaves_no_stale_lock(tmp_path):
    code = f"from run_folder import writer_lock\nwith writer_lock({str(tmp_path)!r}):\n"
    code += "    print('locked', flush=True)\n    import time; time.sleep(60)\n"
    holder = subprocess.Popen(
        [sys.executable, "-c", code], cwd=REPO, stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout.readline() == "locked\n"
        with pytest.raises(RunFolderBusyError, match=f"pid {holder.pid}"), writer_lock(tmp_path):
            pass
        holder.send_signal(signal.SIGKILL)
        holder.wait(timeout=10)
    finally:
        holder.kill()
    time.sleep(0.1)
    with writer_lock(tmp_path):  # the kernel dropped the dead holder's lock
        assert (tmp_path / LOCK_FILE).read_text() != f"{holder.pid}\n"


def test_overwrite_leaves_nothing_of_the_former_run(tmp_path):
    out = tmp_path / "run"
    main(
        [
            *FAST,
            "--out",
            str(out),
            "--set",
            "batch_size=32",
            "buffer_size=5000",
            "twin_critics=true",
        ]
    )
    assert (out / CRITIC2_FILE).exists() and (out / "best" / CRITIC2_FILE).exists()
    main([*FAST, "--out", str(out), "--overwrite"])
    assert not (out / CRITIC2_FILE).exists() and not (out / "best" / CRITIC2_FILE).exists()
    assert (out / ACTOR_FILE).exists() and (out / "best" / ACTOR_FILE).exists()
