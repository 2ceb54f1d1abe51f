"""One device rule for every package: ``auto`` falls back to the CPU, a missing accelerator is refused."""
import pytest
import torch

from envs.batched import make_batched
from foresight_base.devices import resolve_device
from perception.pretrain import pretrain
from world_models.planners import make_planner

NO_CUDA = not torch.cuda.is_available()


def test_auto_is_cuda_when_present_else_cpu_and_names_pass_through():
    assert resolve_device("auto").type == ("cuda" if torch.cuda.is_available() else "cpu")
    assert resolve_device("cpu") == torch.device("cpu")
    assert resolve_device(torch.device("cpu")) == torch.device("cpu")


@pytest.mark.parametrize("bad", ["tpu", "gpu0", 3.5])
def test_a_bad_name_is_refused_with_the_valid_ones(bad):
    with pytest.raises(ValueError, match=r"unknown device .*; valid: 'auto', 'cpu', 'cuda', 'cuda:<index>', 'mps'$"):
        resolve_device(bad)


@pytest.mark.skipif(not NO_CUDA, reason="this machine has CUDA")
def test_every_package_refuses_cuda_on_a_machine_without_it_in_the_same_words():
    message = "device 'cuda(:1)?' asked for but CUDA is not available; use 'auto' or 'cpu'"
    with pytest.raises(ValueError, match=message):
        resolve_device("cuda:1")  # an index changes nothing
    with pytest.raises(ValueError, match=message):
        make_batched("cartpole", 2, device="cuda")  # envs
    with pytest.raises(ValueError, match=message):
        pretrain(torch.nn.Identity(), dataset=None, steps=0, device="cuda")  # perception: refused before any work
    with pytest.raises(ValueError, match=message):
        make_planner("cem", torch.zeros(1), torch.ones(1), device="cuda")  # world_models
    assert make_planner("cem", torch.zeros(1), torch.ones(1), device="auto").device.type == "cpu"
