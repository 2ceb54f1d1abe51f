"""scripts/benchmark.py gpu: the dry run end to end (so the GPU call cannot rot), flags, the budget, failures,
and the docs that hold the device call."""
import json
import math
import subprocess
import sys

import pytest
import torch

from scripts.benchmarks import gpu
from scripts.benchmarks._gpu_report import Figure, Report, Row
from tests.helpers import ROOT, subprocess_env

MAY_BE_MISSING = {"egl"}  # a CI box may have no EGL library


def test_dry_run_measures_every_group_and_writes_json_and_markdown(tmp_path):
    result = subprocess.run([sys.executable, "scripts/benchmark.py", "gpu", "--dry-run", "--out", str(tmp_path)],
                            cwd=ROOT, env=subprocess_env(), capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    data = json.loads((tmp_path / "gpu.json").read_text())
    assert data["meta"]["dry_run"] is True and data["meta"]["device"] == "cpu"
    rows = data["rows"]
    assert {row["group"] for row in rows} == set(gpu.GROUPS)
    for row in rows:
        allowed = {"ok", "not available"} if row["group"] in MAY_BE_MISSING else {"ok"}
        assert row["status"] in allowed, row
        if row["status"] == "ok":
            assert row["figures"] and all(math.isfinite(f["value"]) and f["value"] > 0 for f in row["figures"]), row
    worlds = [row["name"] for row in rows if row["group"] == "worlds"]
    assert worlds == ["cartpole steps/s, N = 2^6", "cartpole steps/s, N = 2^8",
                      "pendulum steps/s, N = 2^6", "pendulum steps/s, N = 2^8"]
    planning = " ".join(row["name"] for row in rows if row["group"] == "planning")
    assert "CEM" in planning and "MPPI" in planning and "GEMM" in planning
    assert [row["name"].split(" (")[0].split(",")[0] for row in rows if row["group"] == "latent"] == [
        "lmpc updates/s", "lmpc ms per planned action"]
    markdown = (tmp_path / "gpu.md").read_text()
    assert "| group | measurement | figures | speed-up | target | status |" in markdown
    assert markdown.count("\n| ") == len(rows) + 2  # header and separator, then one line per row


@pytest.mark.parametrize("argv, message", [
    (["--dry-run", "--only", "worlds,rendr"], "unknown group(s) ['rendr'] in --only; valid: planning, worlds"),
    (["--dry-run", "--device", "tpu"], "unknown device 'tpu'; valid: 'auto', 'cpu', 'cuda'"),
    (["--dry-run", "--budget-s", "0"], "--budget-s must be > 0, got 0.0"),
    (["--dry-run", "--threads", "0"], "--threads must be >= 1, got 0"),
    (["--device", "cpu"], "the full-size run needs a CUDA device, got cpu; use --dry-run"),
])
def test_bad_flags_fail_before_any_work_naming_what_is_valid(argv, message, capsys):
    with pytest.raises(SystemExit):
        gpu.parse_args(argv)
    assert message in capsys.readouterr().err


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the message of a machine without CUDA")
def test_asking_for_cuda_without_one_says_so(capsys):
    with pytest.raises(SystemExit):
        gpu.parse_args([])
    assert "--device cuda but torch sees no CUDA device" in capsys.readouterr().err


def test_groups_that_no_longer_fit_the_budget_are_skipped_not_started(tmp_path):
    args, device = gpu.parse_args(["--dry-run", "--budget-s", "0.5", "--out", str(tmp_path)])
    report = gpu.run(args, device)
    assert [row.group for row in report.rows] == list(gpu.GROUPS)
    assert all(row.status == "skipped" and "budget left" in row.note for row in report.rows)
    assert len(json.loads((tmp_path / "gpu.json").read_text())["rows"]) == len(gpu.GROUPS)


def test_a_failing_measurement_is_recorded_and_keeps_the_rows_it_took(tmp_path):
    report = Report(tmp_path, {"date_utc": "-", "device": "cpu", "cpu": "-", "cpu_cores": 1, "python": "-",
                               "packages": {}, "command": "-", "dry_run": True})

    def rows():
        yield Row("worlds", "first", [Figure("ours", 2.0, "steps/s")])
        raise RuntimeError("CUDA error: out of memory")

    gpu.run_group("worlds", rows, report)
    assert [(row.name, row.status) for row in report.rows] == [("first", "ok"), ("worlds (stopped)", "failed")]
    assert "RuntimeError: CUDA error: out of memory" in report.rows[1].note
    assert "failed: RuntimeError" in (tmp_path / "gpu.md").read_text()


def test_speedup_is_higher_is_better_for_rates_and_inverted_for_times():
    rate = Row("worlds", "r", [Figure("ours", 30.0, "steps/s"), Figure("peer", 10.0, "steps/s")], peer="peer")
    time_ = Row("planning", "t", [Figure("ours", 5.0, "ms"), Figure("peer", 20.0, "ms")], peer="peer")
    assert rate.speedup == pytest.approx(3.0) and time_.speedup == pytest.approx(4.0)
    with pytest.raises(ValueError, match="unknown status 'done'; valid: ok, failed"):
        Row("worlds", "x", status="done")


def test_the_carried_wheels_and_the_device_call_are_written_down_in_the_docs():
    pins = [line.split("==") for line in (ROOT / "scripts/gpu/wheels.txt").read_text().splitlines()
            if line.strip() and not line.startswith("#")]
    docs = (ROOT / "docs/benchmarks.md").read_text()
    assert {name for name, _ in pins} >= {"gymnasium", "stable-baselines3", "pybullet"}
    for name, version in pins:
        assert f"{name.replace('-', '_')}-{version}-" in docs, f"{name}=={version} missing from docs/benchmarks.md"
    for text in ("command: `bash scripts/gpu/run.sh`", 'carry: `[".gpu"]`', "timeout_s: `480`"):
        assert text in docs
    assert gpu.parse_args(["--dry-run"])[0].budget_s < 480  # the benchmark ends inside the call's timeout


@pytest.mark.parametrize("script", ["scripts/gpu/fetch_wheels.sh", "scripts/gpu/run.sh"])
def test_the_device_shell_scripts_parse(script):
    subprocess.run(["bash", "-n", str(ROOT / script)], check=True, timeout=10)
