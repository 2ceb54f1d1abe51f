"""The checkpoint file format: every damaged byte is caught, nothing in a file runs, a full disk is clear."""
import errno
import subprocess
import sys
import textwrap
import warnings

import pytest
import torch

from foresight_base import tensor_file
from foresight_base.tensor_file import TensorFileError, UnverifiedFileWarning
from tests.helpers import MkdirOnUnpickle, subprocess_env


def small_checkpoint(path):
    state = {"format": "test", "step": 3, "weights": torch.linspace(-1, 1, 16), "name": "policy"}
    tensor_file.save(state, path)
    return state


def test_round_trip_leaves_no_temp_file(tmp_path):
    state = small_checkpoint(tmp_path / "a.pt")
    loaded = tensor_file.load(tmp_path / "a.pt")
    assert loaded["step"] == 3 and torch.equal(loaded["weights"], state["weights"])
    assert [p.name for p in tmp_path.iterdir()] == ["a.pt"]


def test_every_flipped_byte_and_every_overwrite_is_detected(tmp_path):
    path = tmp_path / "a.pt"
    small_checkpoint(path)
    good = path.read_bytes()
    damaged = [bytes([b ^ 0x01]) for b in good]  # one bit flipped at each position in turn
    for position, byte in enumerate(damaged):
        path.write_bytes(good[:position] + byte + good[position + 1:])
        with pytest.raises(TensorFileError):
            tensor_file.load(path)
    for start in range(0, len(good) - 16, 16):  # 16 bytes of zeros at every 16-byte offset
        path.write_bytes(good[:start] + bytes(16) + good[start + 16:])
        if path.read_bytes() != good:
            with pytest.raises(TensorFileError):
                tensor_file.load(path)
    for size in range(0, len(good), 64):  # truncated anywhere
        path.write_bytes(good[:size])
        with pytest.raises(TensorFileError):
            tensor_file.load(path)
    assert len(good) > 1000  # the loops above really covered a whole checkpoint


def test_a_pickle_with_a_valid_digest_still_runs_nothing(tmp_path):
    """An attacker can write a correct digest: weights_only is what stops the code."""
    marker = tmp_path / "pwned"
    tensor_file.save({"format": "x", "payload": MkdirOnUnpickle(marker)}, tmp_path / "evil.pt")
    with pytest.raises(TensorFileError, match="does not load as tensors"):
        tensor_file.load(tmp_path / "evil.pt")
    assert not marker.exists()


def test_files_without_a_digest_load_with_a_warning(tmp_path):
    torch.save({"format": "old", "w": torch.ones(3)}, tmp_path / "old.pt")
    with pytest.warns(UnverifiedFileWarning, match="no digest"):
        assert tensor_file.load(tmp_path / "old.pt")["format"] == "old"
    (tmp_path / "other.pt").write_bytes(b"not a checkpoint at all, just text")
    with pytest.raises(TensorFileError, match="not a Foresight tensor file"):
        tensor_file.load(tmp_path / "other.pt")
    with pytest.raises(TensorFileError, match="does not exist"):
        tensor_file.load(tmp_path / "missing.pt")


def test_a_full_disk_raises_a_plain_os_error_and_keeps_the_previous_file(tmp_path):
    """A real write failure: the child may not grow any file past 64 KiB (RLIMIT_FSIZE -> EFBIG)."""
    small_checkpoint(tmp_path / "ckpt.pt")
    code = textwrap.dedent(f"""
        import resource, signal, sys, torch
        from foresight_base import tensor_file
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (1 << 16, 1 << 16))
        try:
            tensor_file.save({{"format": "big", "w": torch.zeros(1 << 18)}}, {str(tmp_path / "ckpt.pt")!r})
        except OSError as err:
            print(err.errno, err)
            sys.exit(0)
        sys.exit("no error")
    """)
    out = subprocess.run([sys.executable, "-c", code], check=False, capture_output=True, text=True,
                         env=subprocess_env(), timeout=60)
    assert out.returncode == 0, out.stderr
    code_seen, message = out.stdout.split(" ", 1)
    assert int(code_seen) == errno.EFBIG and "could not write" in message and "ckpt.pt" in message
    assert "inline_container" not in message
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert tensor_file.load(tmp_path / "ckpt.pt")["format"] == "test"  # the old one, intact
    assert [p.name for p in tmp_path.iterdir()] == ["ckpt.pt"]  # no temp file left behind
