"""The GPU benchmark's record: one row per measurement, rewritten as JSON and Markdown after every row.

Writing after every row means a run stopped by its time limit still leaves every figure it took.
A row holds the contenders' figures side by side, which one is the peer, the speed-up of the
first figure over the peer, the target and whether it was met.
"""
from __future__ import annotations

import dataclasses
import datetime
import importlib.metadata
import json
import os
import pathlib
import platform
import subprocess
import sys
from dataclasses import dataclass, field

import torch

from foresight_base.checks import check_choice

STATUSES = ("ok", "failed", "not available", "skipped")
TIME_UNITS = ("ms", "s", "us")
PACKAGES = ("torch", "numpy", "gymnasium", "stable_baselines3", "pybullet")


@dataclass(frozen=True)
class Figure:
    """One contender's figure."""

    label: str
    """Who and where, e.g. ``"ours, NVIDIA H200"`` or ``"gymnasium CartPoleVectorEnv, CPU"``."""
    value: float
    unit: str
    """``steps/s``, ``frames/s``, ``ms``, ``GFLOP/s`` ...; a time unit means lower is better."""


@dataclass
class Row:
    """One measurement: contenders side by side, the first is ours."""

    group: str
    """Measurement group (``--only`` names): worlds, render, ppo, planning, latent, egl."""
    name: str
    figures: list[Figure] = field(default_factory=list)
    peer: str | None = None
    """Label of the figure the speed-up is taken against (``None``: no ratio)."""
    target: str = "-"
    met: bool | None = None
    status: str = "ok"
    note: str = ""
    seconds: float = 0.0
    """Wall time the measurement took."""

    def __post_init__(self) -> None:
        check_choice("status", self.status, STATUSES)

    @property
    def speedup(self) -> float | None:
        """First figure over the peer's, as a speed-up (a time ratio is inverted so > 1 means faster)."""
        peer = next((f for f in self.figures if f.label == self.peer), None)
        if peer is None or not self.figures or self.figures[0] is peer:
            return None
        ours = self.figures[0]
        if min(ours.value, peer.value) <= 0:
            return None
        return peer.value / ours.value if ours.unit in TIME_UNITS else ours.value / peer.value

    def as_dict(self) -> dict:
        return {**dataclasses.asdict(self), "speedup": self.speedup}


def device_label(device: torch.device) -> str:
    """How a figure names where ours ran: the GPU's name, or the CPU of a dry run."""
    return torch.cuda.get_device_name(device) if device.type == "cuda" else f"{device.type} (dry run)"


def machine_info(device: torch.device) -> dict:
    """Date, accelerator, CPU and package versions: what a figure was measured on."""
    info = {
        "date_utc": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "device": str(device),
        "cpu": _cpu_model(),
        "cpu_cores": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "python": platform.python_version(),
        "packages": {name: _version(name) for name in PACKAGES},
    }
    if device.type == "cuda":
        props = torch.cuda.get_device_properties(device)
        info.update(gpu=props.name, gpu_memory_gib=round(props.total_memory / 2**30, 1),
                    multiprocessors=props.multi_processor_count, cuda=torch.version.cuda, driver=_driver())
    return info


def _cpu_model() -> str:
    try:
        for line in pathlib.Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _version(name: str) -> str:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def _driver() -> str:
    try:
        result = subprocess.run(["nvidia-smi", "--query-gpu=driver_version", "--format=csv,noheader"],
                                capture_output=True, text=True, timeout=10, check=True)
        return result.stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"


class Report:
    """Rows so far, kept on disk as ``gpu.json`` and ``gpu.md`` in ``out``."""

    def __init__(self, out: pathlib.Path, meta: dict) -> None:
        self.out, self.meta, self.rows = out, meta, []
        out.mkdir(parents=True, exist_ok=True)
        self.write()

    def add(self, row: Row) -> None:
        self.rows.append(row)
        self.write()

    def write(self) -> None:
        data = {"meta": self.meta, "rows": [row.as_dict() for row in self.rows]}
        _atomic_write(self.out / "gpu.json", json.dumps(data, indent=1))
        _atomic_write(self.out / "gpu.md", self.markdown())

    def markdown(self) -> str:
        meta = self.meta
        gpu = f" ({meta['gpu_memory_gib']} GiB, CUDA {meta['cuda']}, driver {meta['driver']})" if "gpu" in meta else ""
        packages = ", ".join(f"{k} {v}" for k, v in meta["packages"].items())
        lines = [f"GPU benchmark, {meta['date_utc']}: {meta.get('gpu', meta['device'])}{gpu}; CPU {meta['cpu']}, "
                 f"{meta['cpu_cores']} cores; Python {meta['python']}, {packages}.",
                 f"Command: `{meta['command']}`" + (" (dry run: tiny sizes, not figures)" if meta["dry_run"] else ""),
                 "", "| group | measurement | figures | speed-up | target | status |",
                 "| --- | --- | --- | --- | --- | --- |"]
        for row in self.rows:
            figures = "; ".join(f"{f.label}: {_number(f.value)} {f.unit}" for f in row.figures) or "-"
            speedup = f"{row.speedup:.2f}x {row.peer}" if row.speedup is not None else "-"
            met = {True: " (met)", False: " (**not met**)", None: ""}[row.met]
            status = row.status + (f": {row.note}" if row.note else "")
            lines.append(f"| {row.group} | {row.name} | {figures} | {speedup} | {row.target}{met} | {status} |")
        return "\n".join(lines) + "\n"


def _number(value: float) -> str:
    if abs(value) >= 1e9:
        return f"{value / 1e9:.2f} G"
    if abs(value) >= 1e6:
        return f"{value / 1e6:.2f} M"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    return f"{value:.3g}"


def _atomic_write(path: pathlib.Path, text: str) -> None:
    temporary = path.with_suffix(path.suffix + ".tmp")
    temporary.write_text(text)
    os.replace(temporary, path)


def command_line() -> str:
    return " ".join(["python", "scripts/benchmark.py", "gpu", *sys.argv[1:]])
