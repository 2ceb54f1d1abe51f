"""Crafted run folders: a copy of a real run whose ``config.yaml`` asks us to import or call code.

Each attack returns the edit of the parsed ``config.yaml`` record; ``marker`` is a directory that
exists afterwards only if code from the file ran. ``EVIL_MODULE`` is a module a shared folder on
``sys.path`` could hold (it makes ``imported`` when imported).
"""
from __future__ import annotations

import pathlib
import shutil
from collections.abc import Callable
from typing import Any

import yaml

EVIL_MODULE = "evil_pkg"


def _hyperparams(update: Callable[[pathlib.Path], dict[str, Any]]):
    return lambda record, marker: record["hyperparams"].update(update(marker))


ATTACKS: dict[str, Callable[[dict, pathlib.Path], None]] = {
    # standard-library callables that run their ``cmd`` keyword in a shell, called as cls(env, **kwargs)
    "pydoc.pipepager": _hyperparams(lambda m: {"env_wrapper": [{"pydoc.pipepager": {"cmd": f"mkdir {m}"}}]}),
    "pydoc.tempfilepager": _hyperparams(lambda m: {"env_wrapper": [{"pydoc.tempfilepager": {"cmd": f"mkdir {m}"}}]}),
    "import side effect": _hyperparams(lambda m: {"env_wrapper": f"{EVIL_MODULE}.Wrapper"}),
    "os.system by name": _hyperparams(lambda m: {"env_wrapper": {"os.system": {}}}),
    "policy_kwargs class": _hyperparams(lambda m: {"policy_kwargs": {"features_extractor_class": "pydoc.pipepager"}}),
    "env id module": lambda record, marker: record["config"].update(env_id=f"{EVIL_MODULE}:Anything-v0"),
}


def write_evil_module(folder: pathlib.Path, marker: pathlib.Path) -> None:
    """``folder/evil_pkg/__init__.py``, which makes ``marker`` when imported."""
    (folder / EVIL_MODULE).mkdir(parents=True, exist_ok=True)
    (folder / EVIL_MODULE / "__init__.py").write_text(
        f"import os\nos.makedirs({str(marker)!r}, exist_ok=True)\nclass Wrapper:\n    pass\n")


def crafted_run(run: pathlib.Path, folder: pathlib.Path, attack: str, marker: pathlib.Path) -> pathlib.Path:
    """A copy of ``run`` at ``folder`` with ``attack`` written into its config.yaml."""
    shutil.rmtree(folder, ignore_errors=True)
    shutil.copytree(run, folder)
    record = yaml.safe_load((folder / "config.yaml").read_text())
    ATTACKS[attack](record, marker)
    (folder / "config.yaml").write_text(yaml.safe_dump(record))
    return folder
