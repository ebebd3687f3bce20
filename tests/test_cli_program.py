"""The sunray program: usage errors exit 2 in one line, only the core flags
it honours, long task flags only, -h is help; Invoke in a checkout sees
the same tasks."""

import os
import re
import subprocess
import sys

import pytest
from cli_support import sunray
from conftest import PYTHON, REPO, assert_clean_error, run_sunray, tree_snapshot

RUN_ONLY_FLAGS = [
    ["--dry"], ["-R"], ["-d"], ["--debug"], ["--echo"], ["-e"], ["--warn-only"], ["-w"],
    ["--hide", "both"], ["--pty"], ["-p"], ["--prompt-for-sudo-password"],
    ["--command-timeout", "5"], ["-T", "5"], ["--write-pyc"], ["--search-root", "/"],
    ["-r", "/"], ["--collection", "x"], ["-c", "x"], ["--no-dedupe"],
]



def test_the_program_runs_on_the_interpreter_under_test():
    """The 3.6 tier must not pass on the wrong Python: run_sunray's
    interpreter (SUNRAY_TEST_PYTHON, else pytest's) imports this checkout's
    sunray, and is the version SUNRAY_TEST_PYTHON_VERSION names when that is
    set (./bootstrap test sets 3.6 for the tier)."""
    if os.environ.get("SUNRAY_TEST_PYTHON"):
        assert os.environ.get("SUNRAY_TEST_PYTHON_VERSION"), \
            "SUNRAY_TEST_PYTHON is set: name its version in SUNRAY_TEST_PYTHON_VERSION too"
    proc = subprocess.run([PYTHON, "-c", "import sys, sunray; "
                           "print('%d.%d' % sys.version_info[:2]); print(sunray.__file__)"],
                          capture_output=True, text=True, cwd=REPO, timeout=120)
    assert proc.returncode == 0, proc.stderr
    version, module = proc.stdout.split()
    assert os.path.realpath(module) == str(REPO / "sunray" / "__init__.py")
    expected = os.environ.get("SUNRAY_TEST_PYTHON_VERSION") or "%d.%d" % sys.version_info[:2]
    assert version == expected
    assert run_sunray("--list").returncode == 0

@pytest.mark.parametrize("flag", RUN_ONLY_FLAGS, ids=[" ".join(f) for f in RUN_ONLY_FLAGS])
def test_invoke_run_flags_are_refused_and_nothing_changes(home, sandbox, flag):
    # Before: `sunray --dry esd-dir` ran the real job (no task uses Invoke's run()).
    before = tree_snapshot(sandbox)
    proc = sunray(home, *flag, "esd-dir", "--root", sandbox)
    assert_clean_error(proc, 2, flag[0])
    assert tree_snapshot(sandbox) == before
    assert not (sandbox / "tmp/.esd").exists()
    if flag[0] in ("--dry", "-R", "-d"):
        assert "give the task --dry-run" in proc.stderr


def test_core_help_shows_only_the_flags_sunray_honours(home):
    proc = sunray(home, "--help")
    assert proc.returncode == 0, proc.stderr
    core = proc.stdout.split("Subcommands:")[0]
    for shown in ("--help", "--version", "--list", "--config", "--complete",
                  "--print-completion-script", "--list-format", "--list-depth"):
        assert shown in core
    for gone in ("--dry", "--debug", "--echo", "--warn-only", "--hide", "--pty",
                 "--prompt-for-sudo-password", "--command-timeout", "--write-pyc",
                 "--search-root", "--collection", "--no-dedupe"):
        assert gone not in core
    assert sunray(home, "--version").stdout.startswith("sunray ")
    assert "esd-dir" in sunray(home, "--list").stdout
    assert '"esd-dir"' in sunray(home, "--list", "--list-format", "json").stdout


def test_completion_still_works(home):
    proc = sunray(home, "--complete", "--", "sunray", "patch-tmpwatch", "--")
    assert proc.returncode == 0, proc.stderr
    assert "--dry-run" in proc.stdout.split()
    proc = sunray(home, "--print-completion-script", "bash")
    assert proc.returncode == 0 and "complete" in proc.stdout


def task_names(home):
    import json

    proc = sunray(home, "--list", "--list-format", "json")
    return [t["name"] for t in json.loads(proc.stdout)["tasks"]]


def test_every_task_help_renders_with_long_flags_only(home):
    names = task_names(home)
    assert len(names) >= 15
    for name in names:
        proc = sunray(home, "--help", name)
        assert proc.returncode == 0, (name, proc.stderr)
        options = proc.stdout.split("Options:")[1]
        assert "--" in options, name
        short = re.findall(r"^\s+(-[a-zA-Z])\b", options, re.M)
        assert short == [], (name, short)


def test_h_is_help_and_task_short_flags_are_gone(home, sandbox):
    proc = sunray(home, "fleet", "-h")  # was --hosts
    assert proc.returncode == 0 and "--hosts" in proc.stdout
    before = tree_snapshot(sandbox)
    for args in (["patch-tmpwatch", "--root", sandbox, "-d"],  # was --dry-run
                 ["check-esound", "-r", "x.rpm"],  # was --rpm
                 ["esd-dir", "-o", sandbox]):  # was --root
        proc = sunray(home, *args)
        assert proc.returncode == 2, (args, proc.stderr)
        assert "Traceback" not in proc.stderr
    assert tree_snapshot(sandbox) == before


def test_readme_examples_use_long_task_flags(home):
    pages = [REPO / "README.md"] + sorted((REPO / "docs").glob("*.md"))
    readme = "".join(page.read_text() for page in pages)
    uses = re.findall(r"(?:sunray|invoke) [^\n`|]*", readme)
    assert uses
    for use in uses:
        # -f FILE (core --config) and -h (help) are the only one-letter flags.
        assert not re.search(r"\s-(?![fh]\b)[a-zA-Z]\b", use), use


def test_cli_usage_errors_exit_2_without_traceback(sandbox):
    assert_clean_error(run_sunray("no-such-task"), 2, "no-such-task")
    assert_clean_error(run_sunray("esd-dir", "--no-such-flag"), 2, "--no-such-flag")
    assert_clean_error(run_sunray("esd-dir", "--root", sandbox / "missing"), 2, "does not exist")
    assert_clean_error(
        run_sunray("patch-tmpwatch", "--root", sandbox, "--format", "xml"), 2, "--format"
    )


def test_cli_help_lists_every_task():
    proc = run_sunray("--list")
    assert proc.returncode == 0
    for name in ("patch-tmpwatch", "esd-dir", "install-boot-hook", "boot"):
        assert name in proc.stdout
    helptext = run_sunray("--help", "patch-tmpwatch").stdout
    assert "--dry-run" in helptext and "--root" in helptext


def test_invoke_in_checkout_sees_the_same_tasks():
    invoke = os.path.join(os.path.dirname(sys.executable), "invoke")
    proc = subprocess.run([invoke, "--list"], cwd=REPO, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert "patch-tmpwatch" in proc.stdout and "esd-dir" in proc.stdout


# --- every usage error: one line starting "sunray: ", exit 2, nothing written ----------

LONG = "/x" * 3000
# (id, arguments, needles); SANDBOX is the test's root
BAD_COMMAND_LINES = [
    ("help for no such task", ["--help", "frobnicate"], ["sunray: ", "'frobnicate'"]),
    ("list no such collection", ["--list", "nosuch"], ["sunray: ", "'nosuch'"]),
    ("list depth with json", ["--list", "--list-depth", "2", "--list-format", "json"],
     ["sunray: ", "--list-depth"]),
    ("list depth not a number", ["--list", "--list-depth", "abc"], ["sunray: ", "abc"]),
    ("no such task", ["frobnicate"], ["sunray: no task 'frobnicate'; `sunray --list` lists the tasks"]),
    ("task name with a newline", ["esd\n-dir"], ["'esd\\n-dir'"]),
    ("root with a newline", ["esd-dir", "--root", "/a\nb"], ["root /a\\nb does not exist"]),
    ("root with an escape", ["esd-dir", "--root", "/a\x1b[2Jb"], ["root /a\\x1b[2Jb"]),
    ("root not UTF-8", ["esd-dir", "--root", "/a\udcffb"], ["root /a\\xffb does not exist"]),
    ("root very long", ["esd-dir", "--root", LONG], ["root /x/x", "...", "x/x: File name too long"]),
    ("format with a newline", ["patch-tmpwatch", "--root", "SANDBOX", "--format", "x\ny"],
     ["--format", "x\\ny"]),
    ("flag without its value", ["esd-dir", "--root"], ["--root needed value"]),
    ("settings flag without its value", ["-f"], ["sunray: "]),
    ("unknown flag with a newline", ["esd-dir", "--ro\not", "SANDBOX"], ["--ro\\not"]),
    ("jobs huge", ["rebuild-modules", "--root", "SANDBOX", "--dry-run", "--jobs", "9" * 40],
     ["--jobs 9999", "1 to 256"]),
    ("settings file a directory", ["-f", "SANDBOX", "esd-dir", "--root", "SANDBOX"],
     ["sunray: config: ", "not a file"]),
    # Invoke said "No idea what 'docter' is!" and nothing more.
    ("task mistyped", ["docter"], ["sunray: no task 'docter'; did you mean 'doctor'?"]),
    ("task mistyped with flags", ["esd-dri", "--root", "SANDBOX"], ["no task 'esd-dri'; did you mean 'esd-dir'?"]),
    ("dry run before the task", ["--dry-run", "esd-dir", "--root", "SANDBOX"],
     ["sunray: --dry-run is a task's flag: give it after the task (sunray TASK --dry-run)"]),
    ("root before the task", ["--root", "SANDBOX", "esd-dir"], ["--root is a task's flag: give it after the task"]),
    ("flag mistyped", ["esd-dir", "--root", "SANDBOX", "--dry-rn"], ["no flag --dry-rn; did you mean '--dry-run'?"]),
]


@pytest.mark.parametrize("args, needles", [row[1:] for row in BAD_COMMAND_LINES],
                         ids=[row[0] for row in BAD_COMMAND_LINES])
def test_bad_command_line_exits_2_in_one_line(home, sandbox, args, needles):
    """Before: `sunray --help frobnicate` printed Invoke's "No idea what
    'frobnicate' is!" (no "sunray:", exit 1), a --root with a newline gave
    a two-line error, --list nosuch exited 1."""
    before = tree_snapshot(sandbox)
    args = [str(sandbox) if arg == "SANDBOX" else arg for arg in args]
    proc = sunray(home, *args)
    lines = proc.stderr.splitlines()
    assert proc.returncode == 2, (proc.returncode, proc.stderr[-2000:])
    assert len(lines) == 1, proc.stderr[-2000:]
    assert lines[0].startswith("sunray: ") and len(lines[0]) <= 300, lines[0]
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])
    assert tree_snapshot(sandbox) == before


@pytest.mark.parametrize("name", ["invoke.yaml", "invoke.yml", "invoke.json"])
def test_the_system_settings_file_is_read_with_bounds_too(tmp_path, name):
    """/etc/invoke.yaml goes through the same reader as -f and ~/.invoke.yaml
    (here with the system prefix moved to a directory of the test's own)."""
    from invoke.exceptions import Exit

    from sunray.cli.program import SunrayConfig, config_errors

    bad = tmp_path / name
    bad.write_bytes(b'{"sunray": {"esd": {"dir": "/tmp/\xff"}}}\n')
    config = SunrayConfig(lazy=True, system_prefix=f"{tmp_path}/", user_prefix=f"{tmp_path}/none.")
    with pytest.raises(Exit) as caught, config_errors(config):
        config.load_base_conf_files()
    assert caught.value.code == 2
    assert caught.value.message == \
        f"sunray: config: {bad}: not UTF-8 text (byte 0xff at offset 33, line 1)"


@pytest.mark.parametrize("content, problem", [
    (b'{"sunray": {"root": "/",\n "root": "/x"}}\n',
     "line 2, column 2: duplicate key 'root' (first given on line 1); give each key once"),
    (b'{"sunrey": {"root": "/x"}}\n', "unknown section 'sunrey' (did you mean 'sunray'?)"),
])
def test_the_system_settings_file_refuses_duplicates_and_misspelt_sections(tmp_path, content, problem):
    from invoke.exceptions import Exit

    from sunray.cli.program import SunrayConfig, config_errors

    for name in ("invoke.yaml", "invoke.json"):
        bad = tmp_path / name
        bad.write_bytes(content)
        config = SunrayConfig(lazy=True, system_prefix=f"{tmp_path}/", user_prefix=f"{tmp_path}/none.")
        with pytest.raises(Exit) as caught, config_errors(config):
            config.load_base_conf_files()
        assert (caught.value.code, caught.value.message) == (2, f"sunray: config: {bad}: {problem}")
        bad.unlink()


@pytest.mark.system
@pytest.mark.parametrize("args", [["patch-tmpwatch"], ["esd-dir"], ["apply"], ["install-boot-hook"],
                                  ["install-kernel-hooks"], ["rebuild-modules"], ["remove-modules", "--kernel", "1"],
                                  ["export-dkms"], ["boot"]])
def test_a_writing_task_on_the_real_root_says_it_needs_root(args):
    """Before: "cannot open the lock ...: Permission denied" or "cannot create
    the state directory", after the task had started. Run as nobody on the
    host's own / (nobody can write nothing there, so the host is safe
    whatever the program does); --dry-run still runs."""
    from conftest import need, need_root

    need_root()
    need("setpriv")
    env = {k: v for k, v in os.environ.items() if k != "SUNRAY_DEBUG"}
    env["HOME"] = "/nonexistent"
    nobody = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", PYTHON, "-m", "sunray"]
    proc = subprocess.run(nobody + args, capture_output=True, text=True, env=env, cwd=REPO, timeout=120)
    assert_clean_error(proc, 2, f"sunray: {args[0]} changes files under / and needs root")
    assert len(proc.stderr.splitlines()) == 1, proc.stderr
    if args[0] in ("esd-dir", "patch-tmpwatch"):
        proc = subprocess.run(nobody + args + ["--dry-run"], capture_output=True, text=True, env=env,
                              cwd=REPO, timeout=120)
        assert proc.returncode == 0 and "needs root" not in proc.stderr, proc.stderr
