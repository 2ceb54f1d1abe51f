"""Hyperparameter files: rl-zoo format, literals only, a preset for every registered Foresight id."""
import gymnasium as gym
import pytest

import envs  # noqa: F401  (registers the Foresight ids)
from agents.training.hyperparams import available_algos, load_hyperparams, parse_literal, parse_overrides, read_table


def test_every_registered_foresight_id_has_a_preset():
    presets = set(read_table("sac")) | set(read_table("ppo"))
    ours = [i for i in gym.registry if i.startswith("Foresight/")]
    missing = [i for i in ours if i not in presets]
    assert ours and not missing, f"add presets to agents/training/hyperparams/sac.yml or ppo.yml for {missing}"


def test_every_algorithm_file_loads_for_any_id():
    for algo in available_algos():
        hp = load_hyperparams(algo, "SomeoneElses-v0")
        assert "n_timesteps" in hp, algo


def test_zoo_style_strings_parse_as_literals_only():
    assert parse_literal("dict(net_arch=[64, 64], n_critics=2)") == {"net_arch": [64, 64], "n_critics": 2}
    assert parse_literal("{'norm_obs': True}") == {"norm_obs": True}
    assert parse_literal("dict(activation_fn=nn.ReLU)") == {"activation_fn": "nn.ReLU"}
    for code in ("__import__('os').system('x')", "dict(a=open('f'))", "[x for x in y]"):
        with pytest.raises(ValueError, match="only literals"):
            parse_literal(code)


def test_overrides_read_numbers_lists_and_zoo_dicts():
    got = parse_overrides(["gamma=0.9", "learning_rate=1e-3", "train_freq=[1, episode]",
                           "policy_kwargs=dict(net_arch=[8])"])
    assert got == {"gamma": 0.9, "learning_rate": 1e-3, "train_freq": [1, "episode"],
                   "policy_kwargs": {"net_arch": [8]}}
    with pytest.raises(ValueError, match="expected key=value"):
        parse_overrides(["gamma"])


def test_overrides_also_take_one_json_mapping_as_every_script_did():
    assert parse_overrides(['{"obs_mode": "goal", "image_size": 64}', "reward_type=dense"]) == {
        "obs_mode": "goal", "image_size": 64, "reward_type": "dense"}
    with pytest.raises(ValueError, match="mapping"):
        parse_overrides(["{not a mapping"])


def test_unknown_algo_names_the_valid_ones():
    with pytest.raises(ValueError, match="valid: a2c, ddpg, dqn, lmpc, mpc, ppo, sac, td3, tqc"):
        read_table("sacc")
