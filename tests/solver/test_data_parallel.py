"""Data-parallel training on the CPU (gloo): 2 processes x batch B == 1 process x batch 2B."""

import os
import subprocess
import sys

import numpy as np
import paddle

from conftest import ROOT

WORKER = os.path.join(ROOT, "tests", "scripts", "data_parallel_worker.py")


def _run(args, tmp_path, name):
    env = dict(os.environ, OMP_NUM_THREADS="1")
    result = subprocess.run([sys.executable, *args], cwd=tmp_path, env=env, capture_output=True, text=True)
    logs = ""
    log_dir = tmp_path / "log"
    if log_dir.exists():
        logs = "\n".join(f.read_text(errors="replace")[-3000:] for f in sorted(log_dir.glob("workerlog.*")))
    assert result.returncode == 0, f"{name} failed:\n{result.stdout[-2000:]}\n{result.stderr[-3000:]}\n{logs}"


def test_two_processes_match_one_process_with_double_batch(tmp_path):
    _run(["-m", "paddle.distributed.launch", "--nproc_per_node", "2", "--log_dir", str(tmp_path / "log"),
          WORKER, str(tmp_path / "dp"), "8"], tmp_path, "2-process run")
    _run([WORKER, str(tmp_path / "single"), "16"], tmp_path, "1-process run")
    for name in ("latest_gen.pdparams", "latest_dis.pdparams"):
        dp = paddle.load(str(tmp_path / "dp" / "checkpoints" / name))
        single = paddle.load(str(tmp_path / "single" / "checkpoints" / name))
        assert dp.keys() == single.keys()
        for key in single:
            # 6 generator iterations x (2 critic + 1 generator) Adam steps at lr 1e-3, float64:
            # only the order of the gradient sums differs.
            np.testing.assert_allclose(dp[key].numpy(), single[key].numpy(), rtol=0, atol=1e-10, err_msg=key)
    # Only rank 0 writes files: one checkpoint set, one history.
    assert sorted(os.listdir(tmp_path / "dp" / "checkpoints")) == ["latest.pdckpt", "latest_dis.pdparams",
                                                                   "latest_gen.pdparams"]
