"""doctor for monitoring: --format nagios (exit code, status line, perfdata,
one line per problem; UNKNOWN on bad input) run the way Nagios runs a
plugin, and --format prometheus parsed with prometheus_client's parser,
written whole for node_exporter's textfile collector."""

import os
import shutil
import stat
import subprocess

import pytest
from conftest import PYTHON, REPO, run_sunray, tree_snapshot

from sunray import doctor
from sunray.core.config import defaults
from sunray.core.report import Check
from sunray.core.rootfs import Root
from sunray.doctor import nagios, prometheus


@pytest.fixture(scope="module")
def healthy(tmp_path_factory):
    """A sandbox server every check passes on: `sunray demo` (apply on the
    demo's CentOS 6 tree; builds the modules with the host's headers)."""
    path = tmp_path_factory.mktemp("demo") / "demo"
    proc = run_sunray("demo", "--path", path, timeout=900)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return path


@pytest.fixture
def server(healthy, tmp_path):
    """A copy of the healthy sandbox to break."""
    copy = tmp_path / "server"
    shutil.copytree(healthy, copy, symlinks=True)
    return copy


def plugin(*args, env=None):
    """Run `sunray doctor --format nagios ARGS` as Nagios does: (exit code,
    first line, perfdata, the other lines). Nagios reads stdout only."""
    full_env = {k: v for k, v in os.environ.items() if k != "SUNRAY_DEBUG"}
    full_env.update(env or {})
    proc = subprocess.run([PYTHON, "-m", "sunray", "doctor", "--format", "nagios", *map(str, args)],
                          capture_output=True, text=True, env=full_env, cwd=str(REPO), timeout=60)
    assert "Traceback" not in proc.stderr, proc.stderr
    first, *rest = proc.stdout.splitlines() or [""]
    status, _, perf = first.partition(" | ")
    return proc.returncode, status, perf, rest


@pytest.mark.system
def test_nagios_ok_warning_critical_on_a_real_tree(server):
    code, status, perf, rest = plugin("--root", server)
    assert (code, status) == (0, "SUNRAY OK - 11 checks ok"), rest
    assert perf == "ok=11 warn=0 fail=0 skip=2" and rest == []

    (server / "etc/cron.daily/tmpwatch.rpmnew").write_text("#! /bin/sh\n")
    code, status, perf, rest = plugin("--root", server)
    assert code == 1 and status.startswith("SUNRAY WARNING - ")
    assert "pending-merges" in status and "fail=0" in perf
    assert any(line.startswith("WARN pending-merges: ") and "; fix: " in line for line in rest)

    esd = server / "tmp/.esd"
    esd.rmdir()
    esd.write_text("not a directory\n")
    code, status, perf, rest = plugin("--root", server)
    assert code == 2 and status.startswith("SUNRAY CRITICAL - 1 failed: esd-dir; ")
    assert "warning(s): " in status and "fail=1" in perf
    [line] = [x for x in rest if x.startswith("FAIL esd-dir: ")]
    assert line.endswith(f"fix: sunray esd-dir --root {server}")


@pytest.mark.parametrize("args, env, says", [
    (["--root", "/nonexistent/sunray-root"], {}, "/nonexistent/sunray-root"),
    (["--bogus"], {}, "--bogus"),
    (["--output", "/tmp/x.prom"], {}, "--output FILE goes with --format prometheus"),
    ([], {"INVOKE_SUNRAY_MODULES_JOBS": "abc"}, "jobs"),
])
def test_nagios_bad_input_is_unknown(args, env, says):
    code, status, perf, rest = plugin(*args, env=env)
    assert code == 3 and status.startswith("SUNRAY UNKNOWN - "), status
    assert says in status


def _report(*rows, crash=False):
    def rows_check(root, settings):
        return list(rows)

    def check_broken(root, settings):
        raise OSError(5, "Input/output error", "/etc/fstab")

    checks = [rows_check] + ([check_broken] if crash else [])
    return doctor.run(Root("/"), defaults(), checks=checks)


def test_nagios_names_checks_and_a_check_that_could_not_run_is_unknown():
    ok = Check("a", "A", "ok", "fine")
    warn = Check("b", "B", "warn", "so so", "sunray b")
    fail = Check("c", "C", "fail", "bad | worse\nreally", "sunray c")
    assert nagios.render(_report(ok))[1] == 0
    text, code = nagios.render(_report(ok, warn))
    assert code == 1 and text.startswith("SUNRAY WARNING - 1 warning(s): b | ok=1 warn=1 fail=0 skip=0\n")
    text, code = nagios.render(_report(ok, warn, fail))
    lines = text.splitlines()
    assert code == 2 and lines[0] == ("SUNRAY CRITICAL - 1 failed: c; 1 warning(s): b "
                                      "| ok=1 warn=1 fail=1 skip=0")
    assert lines[1:] == ["WARN b: so so; fix: sunray b", "FAIL c: bad / worse really; fix: sunray c"]
    text, code = nagios.render(_report(ok, fail, crash=True))
    assert code == 3 and text.startswith("SUNRAY UNKNOWN - check(s) could not run: broken; 1 failed: c |")
    many = [Check(f"m{i}", "M", "fail", "x") for i in range(9)]
    assert "m5 and 3 more |" in nagios.render(_report(*many))[0].splitlines()[0]


def parse(text):
    from prometheus_client.parser import text_string_to_metric_families

    return {family.name: family for family in text_string_to_metric_families(text)}


def samples(family):
    return {tuple(sorted(s.labels.items())): s.value for s in family.samples}


def test_prometheus_metrics_parse_one_series_per_check_and_status():
    rows = [Check("a", "A", "ok"), Check("b\"x", "B", "warn", "", "fix"), Check("c", "C", "fail")]
    text = prometheus.render(_report(*rows, crash=True), 1800000000.5, 0.25, "0.1.0")
    families = parse(text)
    checks = samples(families["sunray_check"])
    assert checks[(("check", "a"), ("status", "ok"))] == 1
    assert checks[(("check", "a"), ("status", "fail"))] == 0
    assert checks[(("check", 'b"x'), ("status", "warn"))] == 1
    assert checks[(("check", "broken"), ("status", "fail"))] == 1
    assert len(checks) == 4 * 4  # every check has all four statuses
    assert samples(families["sunray_checks"])[(("status", "fail"),)] == 2
    assert samples(families["sunray_doctor_checks_not_run"])[()] == 1
    assert samples(families["sunray_doctor_last_run_timestamp_seconds"])[()] == 1800000000.5
    assert samples(families["sunray_doctor_info"])[(("root", "/"), ("version", "0.1.0"))] == 1
    assert all(s.timestamp is None for f in families.values() for s in f.samples)
    assert all(f.type == "gauge" for f in families.values())


@pytest.mark.system
def test_prometheus_output_file_is_written_whole_for_the_textfile_collector(server, tmp_path):
    textfile_dir = tmp_path / "textfile"
    textfile_dir.mkdir()
    target = textfile_dir / "sunray.prom"
    proc = run_sunray("doctor", "--root", server, "--format", "prometheus", "--output", target)
    assert proc.returncode == 0 and proc.stdout == "", proc.stderr
    assert stat.S_IMODE(target.stat().st_mode) == 0o644
    assert os.listdir(textfile_dir) == ["sunray.prom"]  # no temporary file left
    families = parse(target.read_text())
    assert samples(families["sunray_checks"])[(("status", "ok"),)] == 11

    (server / "tmp/.esd").rmdir()
    (server / "tmp/.esd").write_text("x\n")
    inode = target.stat().st_ino
    proc = run_sunray("doctor", "--root", server, "--format", "prometheus", "--output", target)
    assert proc.returncode == 0, proc.stderr  # the state is in the metrics
    assert target.stat().st_ino != inode  # replaced by a rename, never rewritten in place
    checks = samples(parse(target.read_text())["sunray_check"])
    assert checks[(("check", "esd-dir"), ("status", "fail"))] == 1


@pytest.mark.parametrize("output, says", [
    ("metrics.txt", "expected a FILE.prom"),
    ("/nonexistent/dir/sunray.prom", "no such directory"),
    ("DIR", "exists and is not a regular file"),
])
def test_prometheus_bad_output_is_refused_before_anything(sandbox, tmp_path, output, says):
    if output == "DIR":
        (tmp_path / "d.prom").mkdir()
        output = str(tmp_path / "d.prom")
    before = tree_snapshot(tmp_path)
    proc = run_sunray("doctor", "--root", sandbox, "--format", "prometheus", "--output", output)
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.startswith("sunray: --output") and says in proc.stderr, proc.stderr
    assert tree_snapshot(tmp_path) == before
