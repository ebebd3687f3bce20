"""Running the real program with a HOME of the test's own, so that neither
the host's ~/.invoke.yaml nor another test's leaks into a run."""

from conftest import run_sunray


def sunray(home, *args, env=None, cwd=None):
    return run_sunray(*args, env={"HOME": str(home), **(env or {})}, cwd=cwd)


def esd_dir_dry(home, sandbox, *core, env=None, cwd=None):
    """A harmless task that reads the settings: what would esd-dir do?"""
    return sunray(home, *core, "esd-dir", "--root", sandbox, "--dry-run", env=env, cwd=cwd)
