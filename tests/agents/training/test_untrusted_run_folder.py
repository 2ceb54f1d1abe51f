"""A downloaded run folder runs no code: every loader refuses what config.yaml asks us to import."""
import shutil
import sys

import pytest
import yaml

from agents.deploy.flows import export_run
from agents.runs.evaluate import EvalRequest, evaluate_run
from agents.runs.loading import load_run
from agents.training import wrapper_allowlist
from agents.training.run import execute, prepare_resume, train
from agents.training.wrapper_allowlist import UntrustedWrapperError
from tests.agents.training.test_resume import config
from tests.attacks.run_folder import (
    ATTACKS,
    EVIL_MODULE,
    crafted_run,
    write_evil_module,
)


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory):
    return train(config(tmp_path_factory.mktemp("runs"), n=120, eval_freq=0, save_freq=0)).run.path


def crafted(trained_run, tmp_path, edit):
    """A copy of a real run folder whose config.yaml was edited by ``edit(record)``."""
    folder = tmp_path / "downloaded_run"
    shutil.copytree(trained_run, folder)
    record = yaml.safe_load((folder / "config.yaml").read_text())
    edit(record)
    (folder / "config.yaml").write_text(yaml.safe_dump(record))
    return folder


def loaders(folder, tmp_path):
    """What reads a run folder: evaluate.py, deploy.py export --run, train.py --resume, load_run."""
    return {
        "load_run": lambda: load_run(folder),
        "evaluate": lambda: evaluate_run(folder, EvalRequest(n_episodes=1)),
        "export": lambda: export_run(folder, tmp_path / "policy.onnx", check=2),
        "resume": lambda: execute(prepare_resume(folder, progress=False)),
    }


@pytest.fixture
def evil_module(tmp_path, monkeypatch):
    """A module on sys.path that makes a directory when imported (as a shared folder on the path would)."""
    write_evil_module(tmp_path, tmp_path / "imported")
    monkeypatch.syspath_prepend(str(tmp_path))
    yield tmp_path / "imported"
    sys.modules.pop(EVIL_MODULE, None)


@pytest.mark.parametrize("attack", list(ATTACKS))
def test_crafted_config_runs_nothing_in_any_loader(trained_run, tmp_path, evil_module, attack):
    marker = tmp_path / "pwned"
    folder = crafted_run(trained_run, tmp_path / "downloaded_run", attack, marker)
    for name, load in loaders(folder, tmp_path).items():
        with pytest.raises(ValueError, match="not allowed|not a known wrapper|unknown env id"):
            load()
        assert not marker.exists() and not evil_module.exists(), f"{attack} ran code in {name}"


def test_known_wrappers_load_and_trust_is_explicit_and_named(trained_run, tmp_path):
    limit = {"env_wrapper": [{"gymnasium.wrappers.TimeLimit": {"max_episode_steps": 7}}]}
    folder = crafted(trained_run, tmp_path, lambda r: r["hyperparams"].update(limit))
    loaded = load_run(folder)
    assert loaded.make_env().spec is not None  # the known wrapper is applied without any flag
    custom = {"env_wrapper": "gymnasium.wrappers.TransformReward"}  # a real wrapper, but it takes callables
    folder = crafted(trained_run, tmp_path / "b", lambda r: r["hyperparams"].update(custom))
    with pytest.raises(UntrustedWrapperError, match="--trust-wrapper gymnasium.wrappers.TransformReward"):
        load_run(folder)
    try:
        wrapper_allowlist.trust_wrappers(["pydoc.pipepager"])  # trusted by name, still not a Wrapper
        with pytest.raises(UntrustedWrapperError, match="not a gymnasium.Wrapper subclass"):
            wrapper_allowlist.resolve_wrapper("pydoc.pipepager")
    finally:
        wrapper_allowlist.clear_trusted()


def test_malformed_config_files_give_clear_errors(trained_run, tmp_path):
    folder = crafted(trained_run, tmp_path, lambda r: r["config"].update(surprise=1))
    with pytest.raises(ValueError, match=r"unknown config fields \['surprise'\]"):
        prepare_resume(folder)
    (folder / "config.yaml").write_text("!!python/object/apply:os.system ['mkdir x']\n")
    with pytest.raises(ValueError, match="not readable YAML"):
        load_run(folder)
