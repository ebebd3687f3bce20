"""remove-modules: the kernel is required and checked; a kernel sunray never
built for is nothing to change. (Removal of real builds: the kernel hook tests.)"""

from conftest import assert_clean_error, run_sunray


def test_remove_modules_needs_a_valid_kernel(sandbox):
    assert_clean_error(run_sunray("remove-modules", "--root", sandbox), 2, "--kernel K is required")
    assert_clean_error(run_sunray("remove-modules", "--root", sandbox, "--kernel", "x;y"),
                       2, "refused")
    proc = run_sunray("remove-modules", "--root", sandbox, "--kernel", "6.1.0-1-amd64")
    assert proc.returncode == 0 and "nothing to change" in proc.stdout
