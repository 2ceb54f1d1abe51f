"""The run folder: ``runs/<env>/<algo>/<stamp>_s<seed>/`` and what lives in it.

```
config.yaml        resolved config + hyperparameters (enough to rebuild the model)
tb/                TensorBoard events
checkpoints/       step_<n>.pt (latest two, full training state), best.pt (weights of the best eval)
evaluations.json   periodic evaluation history (the learning curve)
eval.json          final evaluation summary;  episodes.csv  its episodes
curve.png          learning curve;  video.mp4  the final policy
```
"""
from __future__ import annotations

import dataclasses
import datetime
import json
import os
import pathlib
from typing import Any

import yaml


@dataclasses.dataclass(frozen=True)
class RunFolder:
    """Paths of one run; creating the object creates nothing, :meth:`create` does."""

    path: pathlib.Path

    @classmethod
    def create(cls, log_folder: str | os.PathLike, env_id: str, algo: str, seed: int) -> RunFolder:
        """A new, unique folder ``<log_folder>/<env>/<algo>/<UTC stamp>_s<seed>``."""
        stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%d-%H%M%S")
        base = pathlib.Path(log_folder) / env_id.replace("/", "_") / algo / f"{stamp}_s{seed}"
        path, n = base, 1
        while path.exists():
            n += 1
            path = base.with_name(f"{base.name}-{n}")
        path.mkdir(parents=True)
        return cls(path)

    @classmethod
    def open(cls, path: str | os.PathLike) -> RunFolder:
        """An existing run folder (it must hold ``config.yaml``)."""
        run = cls(pathlib.Path(path))
        if not run.config.is_file():
            raise FileNotFoundError(f"{path} is not a run folder: no config.yaml in it")
        return run

    config = property(lambda self: self.path / "config.yaml")
    tensorboard = property(lambda self: self.path / "tb")
    checkpoints = property(lambda self: self.path / "checkpoints")
    best = property(lambda self: self.path / "checkpoints" / "best.pt")
    evaluations = property(lambda self: self.path / "evaluations.json")
    eval_json = property(lambda self: self.path / "eval.json")
    episodes_csv = property(lambda self: self.path / "episodes.csv")
    curve = property(lambda self: self.path / "curve.png")
    video = property(lambda self: self.path / "video.mp4")

    def write_yaml(self, data: dict[str, Any]) -> None:
        write_text_atomic(self.config, yaml.safe_dump(data, sort_keys=False))

    def read_yaml(self) -> dict[str, Any]:
        with self.config.open() as f:
            return yaml.safe_load(f)

    def read_record(self) -> tuple[dict[str, Any], dict[str, Any]]:
        """``config.yaml``'s ``config`` and ``hyperparams`` mappings, checked for shape (safe YAML).

        Raises:
            ValueError: the file is not YAML, or lacks either mapping.
        """
        try:
            record = self.read_yaml()
        except (yaml.YAMLError, UnicodeDecodeError) as err:
            raise ValueError(f"{self.config} is not readable YAML: {err}") from None
        if not (isinstance(record, dict) and isinstance(record.get("config"), dict)
                and isinstance(record.get("hyperparams"), dict)):
            raise ValueError(f"{self.config} must map 'config' and 'hyperparams' to mappings (a train.py run folder)")
        if not isinstance(record["config"].get("env_id"), str):
            raise ValueError(f"{self.config}: config.env_id must be a gymnasium id string, "
                             f"got {record['config'].get('env_id')!r}")
        return record["config"], record["hyperparams"]

    def write_json(self, path: pathlib.Path, data: Any) -> None:
        write_text_atomic(path, json.dumps(data, indent=2))


def write_text_atomic(path: pathlib.Path, text: str) -> None:
    """Write ``text`` to a temp file, then rename it over ``path``."""
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    tmp.write_text(text)
    os.replace(tmp, path)
