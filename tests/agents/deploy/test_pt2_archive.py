"""``.pt2`` policies are parsed before torch loads them: no crafted archive runs code, real exports load."""
import gymnasium as gym
import numpy as np
import pytest
from gymnasium import spaces
from stable_baselines3 import PPO, SAC

from agents.deploy.export import export_program
from agents.deploy.pt2_check import UnsafeFileError, check_expression, check_pt2_archive
from agents.deploy.runtime import load_policy
from tests.attacks.pt2 import crafted_archives


class _Static(gym.Env):
    """Spaces only: exporting needs no stepping."""

    def __init__(self, observation_space, action_space):
        self.observation_space, self.action_space = observation_space, action_space


@pytest.fixture(scope="module")
def exports(tmp_path_factory):
    """Real exports: SAC on a box, SAC on a goal dict (its guards compare batch sizes), PPO with a
    discrete action (its graph wraps torch.no_grad in a subgraph)."""
    folder = tmp_path_factory.mktemp("pt2")
    box = spaces.Box(-1, 1, (3,), np.float32)
    goal = spaces.Dict({k: box for k in ("observation", "achieved_goal", "desired_goal")})
    models = {
        "sac": SAC("MlpPolicy", _Static(box, spaces.Box(-1, 1, (2,))), policy_kwargs={"net_arch": [8]}, device="cpu"),
        "sac_dict": SAC("MultiInputPolicy", _Static(goal, spaces.Box(-1, 1, (2,))), policy_kwargs={"net_arch": [8]},
                        device="cpu"),
        "ppo_discrete": PPO("MlpPolicy", _Static(box, spaces.Discrete(3)), policy_kwargs={"net_arch": [8]},
                            device="cpu"),
    }
    return {name: export_program(model, folder / f"{name}.pt2") for name, model in models.items()}


def test_real_exports_pass_the_parse(exports):
    for path in exports.values():
        check_pt2_archive(path)
        assert load_policy(path).meta["inputs"]


def test_no_crafted_archive_runs_code(exports, tmp_path):
    marker = tmp_path / "pwned"
    cases = crafted_archives(exports["sac"], tmp_path, marker)
    assert len(cases) == 16
    for name, path in cases.items():
        with pytest.raises(UnsafeFileError):
            load_policy(path)
        assert not marker.exists(), name


@pytest.mark.parametrize("text", [
    "__import__('os').system('id')", "Symbol('s0', positive=True).__class__", "Integer(9)**9**9",
    "Symbol('s0')[0]", "Symbol(\"__builtins__\")", "lambda: 1", "Max(s0, 2)", "x" * 5000,
])
def test_shape_expressions_outside_the_grammar_are_refused(text):
    with pytest.raises(UnsafeFileError):
        check_expression(text)


def test_shape_expressions_torch_writes_pass():
    for text in ("Symbol('s32', positive=True, integer=True)", "Mul(Integer(2), Symbol('s0', integer=True))",
                 "Max(Integer(1), Add(Symbol('s1', positive=True), Integer(-1)))"):
        check_expression(text)
