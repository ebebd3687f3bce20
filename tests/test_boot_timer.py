"""install-doctor-timer: a systemd timer (checked by systemd-analyze) or a
cron.d entry that writes doctor's Prometheus file every N minutes; dry run,
revert, bad flags refused before any write, and doctor's doctor-timer row
(installed, the file fresh or stale)."""

import json
import os
import shutil
import subprocess
import time

import pytest
from conftest import PROGRAM, assert_clean_error, need, run_sunray, tree_snapshot
from test_boot_hook import make_systemd, make_sysv

SERVICE = "etc/systemd/system/sunray-doctor.service"
TIMER = "etc/systemd/system/sunray-doctor.timer"
WANTS = "etc/systemd/system/timers.target.wants/sunray-doctor.timer"
CRON = "etc/cron.d/sunray-doctor"


def timer(top, *args):
    return run_sunray("install-doctor-timer", "--root", top, *args,
                      env={"INVOKE_SUNRAY_PROGRAM": str(PROGRAM)})


def doctor_row(top):
    proc = run_sunray("doctor", "--root", top, "--format", "json")
    return {c["id"]: c for c in json.loads(proc.stdout)["checks"]}.get("doctor-timer")


def test_systemd_timer_install_is_idempotent_and_reverts(sandbox):
    make_systemd(sandbox)
    before = tree_snapshot(sandbox)
    assert doctor_row(sandbox) is None  # not installed: no row
    proc = timer(sandbox, "--interval", "10", "--output", "/srv/metrics/sunray.prom", "--dry-run")
    assert proc.returncode == 0 and "would be created" in proc.stdout, proc.stderr
    assert tree_snapshot(sandbox) == before

    proc = timer(sandbox, "--interval", "10", "--output", "/srv/metrics/sunray.prom")
    assert proc.returncode == 0, proc.stderr
    assert "/srv/metrics does not exist under the root" in proc.stderr  # a warning only
    unit = (sandbox / SERVICE).read_text()
    assert f"ExecStart={PROGRAM} doctor --format prometheus --output /srv/metrics/sunray.prom\n" in unit
    assert "OnUnitActiveSec=10min\n" in (sandbox / TIMER).read_text()
    assert os.readlink(sandbox / WANTS) == "/" + TIMER
    assert timer(sandbox, "--interval", "10", "--output",
                 "/srv/metrics/sunray.prom").stdout.rstrip().endswith("nothing to change")

    row = doctor_row(sandbox)
    assert row["status"] == "warn" and "/srv/metrics/sunray.prom missing" in row["detail"]
    metrics = sandbox / "srv/metrics/sunray.prom"
    metrics.parent.mkdir(parents=True)
    metrics.write_text("sunray_checks{status=\"ok\"} 1\n")
    assert doctor_row(sandbox)["status"] == "ok"
    stale = time.time() - 3600
    os.utime(metrics, (stale, stale))
    row = doctor_row(sandbox)
    assert row["status"] == "warn" and "60 minutes old (every 10 min expected)" in row["detail"]

    metrics.unlink()
    metrics.parent.rmdir()
    (sandbox / "srv").rmdir()
    proc = timer(sandbox, "--revert")
    assert proc.returncode == 0, proc.stderr
    assert tree_snapshot(sandbox) == before
    assert "nothing to revert" in timer(sandbox, "--revert").stdout


@pytest.mark.system
def test_timer_and_service_pass_systemd_analyze_verify(sandbox, tmp_path):
    need("systemd-analyze")
    make_systemd(sandbox)
    assert timer(sandbox).returncode == 0
    copy = tmp_path / "verify"
    copy.mkdir()
    for unit in (SERVICE, TIMER):
        shutil.copy(sandbox / unit, copy)
    check = subprocess.run(["systemd-analyze", "verify", "sunray-doctor.timer", "sunray-doctor.service"],
                           capture_output=True, text=True, cwd=copy)
    assert check.returncode == 0 and check.stderr.strip() == "", check.stderr


@pytest.mark.parametrize("interval, schedule", [("5", "*/5 * * * *"), ("1", "* * * * *"),
                                                ("120", "0 */2 * * *"), ("1440", "0 0 * * *")])
def test_sysv_gets_a_cron_entry(sandbox, interval, schedule):
    make_sysv(sandbox)
    proc = timer(sandbox, "--interval", interval)
    assert proc.returncode == 0, proc.stderr
    line = (sandbox / CRON).read_text().splitlines()[-1]
    assert line == (f"{schedule} root {PROGRAM} doctor --format prometheus "
                    "--output /var/lib/prometheus/node-exporter/sunray.prom")
    assert not (sandbox / SERVICE).exists()


@pytest.mark.parametrize("args, says", [
    (["--interval", "0"], "--interval '0': expected whole minutes"),
    (["--interval", "5m"], "expected whole minutes"),
    (["--interval", "7"], "cron runs a job evenly only"),
    (["--output", "relative.prom"], "expected an absolute FILE.prom"),
    (["--output", "/srv/m etrics.prom"], "without blanks"),
    (["--output", "/srv/metrics.txt"], "FILE.prom"),
    (["--init", "upstart"], "--init 'upstart'"),
])
def test_bad_flags_change_nothing(sandbox, args, says):
    make_sysv(sandbox)
    before = tree_snapshot(sandbox)
    assert_clean_error(timer(sandbox, *args), 2, says)
    assert tree_snapshot(sandbox) == before
