"""scripts/pretrain_encoder.py end to end on a registered pixel env, tiny budget."""
import json
import runpy

import gymnasium as gym
import torch

from perception.checkpoint import load_encoder

ENV_ID = "ForesightTest/MovingSquare-v0"
if ENV_ID not in gym.registry:
    gym.register(ENV_ID, entry_point="tests.perception.synthetic:MovingSquare")


def test_script_writes_encoder_losses_and_picture(tmp_path):
    main = runpy.run_path("scripts/pretrain_encoder.py")["main"]
    out = main(["--env", ENV_ID, "--frames", "64", "--objective", "autoencoder", "--steps", "5",
                "--batch-size", "16", "--features-dim", "8", "--device", "cpu", "--out", str(tmp_path)])  # fmt: skip
    encoder = load_encoder(out / "encoder.pt")
    assert encoder(torch.zeros(1, 3, 40, 40, dtype=torch.uint8)).shape == (1, 8)
    assert len(json.loads((out / "losses.json").read_text())["losses"]) == 5
    assert (out / "reconstructions.png").stat().st_size > 0


def test_an_env_without_images_is_refused_before_collecting(tmp_path, capsys):
    """The default env observes its state unless told otherwise: the script says what to pass."""
    import pytest

    main = runpy.run_path("scripts/pretrain_encoder.py")["main"]
    with pytest.raises(SystemExit, match="gives no image to pre-train on .*pass e.g. --env-kwargs obs_mode=rgb"):
        main(["--env", "Foresight/PandaReach-v0", "--env-kwargs", "obs_mode=state", "--out", str(tmp_path)])
    assert not any(tmp_path.iterdir())
