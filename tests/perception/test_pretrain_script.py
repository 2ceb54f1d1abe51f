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
