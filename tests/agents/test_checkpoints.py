"""Checkpoints: atomic under kill -9, typed errors for bad files, fallback to the previous one."""
import multiprocessing
import os
import random
import signal
import time

import pytest
import torch

from agents import checkpoints
from tests.helpers import MkdirOnUnpickle


def state(step: int) -> dict:
    # ~4 MB, so a kill often lands in the middle of a write
    return {"format": "test", "step": step, "weights": torch.full((1_000_000,), float(step))}


def write_forever(folder: str) -> None:
    """What a training process does: continue from the newest checkpoint, write more."""
    torch.set_num_threads(1)  # no OpenMP region in a forked child (it can deadlock after fork)
    files = checkpoints.step_files(folder)
    step = checkpoints.load(files[0])["step"] if files else 0
    while True:
        step += 1
        checkpoints.save_step(state(step), folder, step)


def wait_for_a_new_checkpoint(folder, newest: int, timeout: float = 30.0) -> None:
    """Kill only once the child is really writing, so kills land at random points of its write loop."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        files = checkpoints.step_files(folder)
        if files and int(files[0].stem.split("_")[1]) > newest:
            return
        time.sleep(0.01)
    raise AssertionError("the writer made no progress")


def test_kill_9_at_random_moments_always_leaves_a_complete_newest_checkpoint(tmp_path):
    torch.set_num_threads(1)
    ctx = multiprocessing.get_context("fork")
    rng = random.Random(0)
    newest, mid_write = 0, 0
    for _ in range(20):
        child = ctx.Process(target=write_forever, args=(str(tmp_path),))
        child.start()
        wait_for_a_new_checkpoint(tmp_path, newest)
        time.sleep(rng.uniform(0.0, 0.2))
        os.kill(child.pid, signal.SIGKILL)
        child.join()
        mid_write += any(tmp_path.glob(".step_*.tmp*"))
        for path in checkpoints.step_files(tmp_path):
            loaded = checkpoints.load(path)  # none corrupt
            assert torch.all(loaded["weights"] == loaded["step"])
        latest, path, warnings = checkpoints.load_latest(tmp_path)
        assert not warnings and latest["step"] >= newest  # progress is never lost
        newest = latest["step"]
    assert newest >= 20 and mid_write >= 1  # some kills really did land inside a write


def test_truncated_checkpoint_raises_a_typed_error_and_latest_falls_back(tmp_path):
    checkpoints.save_step(state(1), tmp_path, 1)
    second = checkpoints.save_step(state(2), tmp_path, 2)
    second.write_bytes(second.read_bytes()[: second.stat().st_size // 2])
    with pytest.raises(checkpoints.CheckpointError, match="damaged"):
        checkpoints.load(second)
    loaded, path, warnings = checkpoints.load_latest(tmp_path)
    assert loaded["step"] == 1 and path.name == "step_0000000001.pt"
    assert "step_0000000002.pt" in warnings[0]


def test_files_that_would_run_code_are_refused(tmp_path):
    marker = tmp_path / "pwned"
    path = tmp_path / "step_0000000001.pt"
    torch.save({"format": "x", "payload": MkdirOnUnpickle(marker)}, path)
    with pytest.raises(checkpoints.CheckpointError):
        checkpoints.load(path)
    assert not marker.exists()


def test_keeps_only_the_newest_files_and_reports_when_none_is_readable(tmp_path):
    for step in (1, 2, 3):
        checkpoints.save_step(state(step), tmp_path, step, keep=2)
    assert [p.name for p in checkpoints.step_files(tmp_path)] == ["step_0000000003.pt", "step_0000000002.pt"]
    for path in checkpoints.step_files(tmp_path):
        path.write_bytes(b"garbage")
    with pytest.raises(checkpoints.CheckpointError, match="no readable checkpoint"):
        checkpoints.load_latest(tmp_path)


def test_a_flipped_exponent_bit_in_a_weight_is_caught_and_latest_falls_back(tmp_path):
    """The silent -3.8e37 weight of issue 13: one bit in the middle of the tensor data."""
    checkpoints.save_step(state(1), tmp_path, 1)
    second = checkpoints.save_step(state(2), tmp_path, 2)
    data = bytearray(second.read_bytes())
    data[len(data) // 2 | 3] ^= 0x40  # the high byte of a little-endian float32: its exponent
    second.write_bytes(bytes(data))
    with pytest.raises(checkpoints.CheckpointError, match="damaged"):
        checkpoints.load(second)
    loaded, path, warnings = checkpoints.load_latest(tmp_path)
    assert loaded["step"] == 1 and "step_0000000002.pt" in warnings[0]


def test_a_damaged_best_checkpoint_falls_back_to_the_newest_step_file(tmp_path, caplog):
    from agents.runs.loading import checkpoint_path
    from agents.training.run_folder import RunFolder
    from agents.training.state import REQUIRED

    run = RunFolder(tmp_path)
    full = {key: None for key in REQUIRED} | {"format": "test", "step": 7, "extra": {}}
    checkpoints.save_step(full, run.checkpoints, 7)
    checkpoints.atomic_save({**full, "step": 9}, run.best)
    run.best.write_bytes(run.best.read_bytes()[:100])  # truncated, as a full disk or a bad copy leaves it
    loaded, path = checkpoint_path(run, "best")
    assert loaded["step"] == 7 and path.name == "step_0000000007.pt"
    assert "best.pt" in caplog.text and "newest readable step" in caplog.text
    with pytest.raises(checkpoints.CheckpointError, match="no 'missing' key"):
        checkpoints.load(run.checkpoints / "step_0000000007.pt", ("format", "algo", "missing"))
