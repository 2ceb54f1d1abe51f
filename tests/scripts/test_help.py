"""Every script's ``--help`` names each default once, and shows the defaults of the flags users tune."""
import re

import pytest

from agents.runs.cli import evaluate_parser, train_parser, tune_parser
from agents.runs.distill_cli import distill_parser
from tests.test_docs import _script

PARSERS = {"train": train_parser, "tune": tune_parser, "evaluate": evaluate_parser, "distill": distill_parser}


def _help(name: str, capsys) -> str:
    if name in PARSERS:
        return PARSERS[name]().format_help()
    module = _script(name)
    with pytest.raises(SystemExit):
        (getattr(module, "parse", None) or module.parse_args)(["--help"])
    return capsys.readouterr().out


@pytest.mark.parametrize("name", ["train", "tune", "evaluate", "distill", "collect", "plan", "fit_world_model",
                                  "pretrain_encoder", "robot_server"])
def test_help_states_each_default_once(name, capsys):
    text = " ".join(_help(name, capsys).split())  # argparse wraps lines
    assert "(default: None)" not in text
    flags = re.split(r"\s(?=--?[a-z])", text)
    doubled = [f for f in flags
               if f.count("(default") > 1 or ("default:" in f.replace("(default:", "") and "(default:" in f)]
    assert not doubled, doubled


@pytest.mark.parametrize("name, flags", [
    ("plan", ["--horizon", "--candidates", "--iterations", "--episodes"]),
    ("collect", ["--episodes", "--noise", "--policy"]),
    ("fit_world_model", ["--train-steps", "--seq-len", "--max-epochs", "--ensemble-size"]),
])
def test_help_shows_the_defaults_users_tune(name, flags, capsys):
    text = " ".join(_help(name, capsys).split())
    for flag in flags:
        assert re.search(rf"{flag} \S+ .*?default", text), flag
