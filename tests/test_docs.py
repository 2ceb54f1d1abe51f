"""The README and docs cannot drift from the code: every ``python scripts/...`` command they show
parses with that script's own parser (flags exist, choices and values are valid), every docstring
example runs (doctest), and the README's and the env guide's Python snippets run as written.

What each command then does at its defaults is measured, not tested here: the issue-14 closing
note lists each script's default wall time, and the fresh-venv run of the README tour.
"""
from __future__ import annotations

import doctest
import importlib
import importlib.util
import re
import runpy
import shlex
import sys

import pytest

from agents.runs.cli import evaluate_parser, train_config_kwargs, train_parser, tune_parser
from agents.runs.distill_cli import distill_parser
from tests.helpers import ROOT, SCRIPTS

DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
COMMAND = re.compile(r"python3? scripts/([\w]+)\.py(.*)")


def _commands() -> list[tuple[str, str, list[str]]]:
    """(where, script, argv) of every ``python scripts/X.py ...`` line, continuations joined."""
    found = []
    for path in DOCS:
        text = path.read_text().replace("\\\n", " ")
        for number, line in enumerate(text.splitlines(), 1):
            quoted = re.findall(r"`(python3? scripts/[^`]+)`", line)  # prose and tables: inline code
            for command in quoted or [line.strip()]:
                match = COMMAND.search(command)
                if match is None:
                    continue
                rest = match.group(2).split(" # ")[0].split("  #")[0].strip().rstrip("&").strip()
                found.append((f"{path.name}:{number}", match.group(1), shlex.split(rest)))
    return found


def _script(name: str):
    spec = importlib.util.spec_from_file_location(f"doc_{name}", SCRIPTS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _parse(script: str, argv: list[str]) -> None:
    if script == "train":
        from agents.training.run import RunConfig

        args = train_parser().parse_args(argv)
        if not args.resume:
            RunConfig(**train_config_kwargs(args))  # values the config refuses (n_envs 0, a bad device)
    elif script in ("evaluate", "tune", "distill"):
        {"evaluate": evaluate_parser, "tune": tune_parser, "distill": distill_parser}[script]().parse_args(argv)
    elif script == "benchmark":
        section = argv[0]
        path = SCRIPTS / "benchmarks" / f"{section}.py"
        assert path.is_file(), f"no benchmark section {section!r}"
        namespace = runpy.run_path(str(path), run_name="doc_check")
        if "parse_args" in namespace:
            saved, sys.argv = sys.argv, [f"benchmark.py {section}", *argv[1:]]
            try:
                namespace["parse_args"]()
            finally:
                sys.argv = saved
    else:
        module = _script(script)
        (getattr(module, "parse", None) or module.parse_args)(argv)


COMMANDS = _commands()


def test_the_docs_show_commands_of_every_script():
    shown = {script for _, script, _ in COMMANDS}
    scripts = {p.stem for p in SCRIPTS.glob("*.py")}
    assert scripts <= shown, f"scripts no doc shows: {sorted(scripts - shown)}"


@pytest.mark.parametrize("where, script, argv", COMMANDS, ids=[f"{w}-{s}" for w, s, _ in COMMANDS])
def test_every_documented_command_parses(where, script, argv, capsys):
    try:
        _parse(script, argv)
    except SystemExit as stop:
        if stop.code == 0:  # --help
            return
        pytest.fail(f"{where}: python scripts/{script}.py {' '.join(argv)} is refused by its parser: "
                    f"{capsys.readouterr().err.strip()} (exit {stop.code})")


MODULES = sorted({".".join(p.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
                  for package in ("envs", "perception", "world_models", "agents")
                  for p in (ROOT / package).rglob("*.py") if ">>>" in p.read_text()})


@pytest.mark.parametrize("module", MODULES)
def test_docstring_examples_run(module):
    result = doctest.testmod(importlib.import_module(module),
                             optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0 and result.failed == 0, f"{module}: {result.failed} of {result.attempted} failed"


def _python_blocks(path) -> list[str]:
    return re.findall(r"```python\n(.*?)```", path.read_text(), re.S)


@pytest.mark.parametrize("doc", ["README.md", "docs/envs.md"])
def test_the_first_python_snippet_runs_as_written(doc):
    code = _python_blocks(ROOT / doc)[0].replace("num_envs=4096", "num_envs=64")  # same call, a lighter world
    exec(compile(code, doc, "exec"), {"__name__": "doc_snippet"})  # noqa: S102 - our own docs, in a test
