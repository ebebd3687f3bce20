"""sunray.core.tasklist is the one list of tasks: it must agree with the tasks
the program defines, and doctor's fix lines get --root from it."""

import inspect

import pytest

from sunray.cli import tasks as cli_tasks
from sunray.core import tasklist
from sunray.core.rootfs import Root


def _defined():
    """{task name: its parameters} as the sunray program defines them."""
    return {name: inspect.signature(task.body).parameters
            for name, task in cli_tasks.ns.tasks.items()}


def test_every_defined_task_is_listed_once_and_nothing_else():
    names = [info.name for info in tasklist.TASKS]
    assert len(names) == len(set(names))
    assert sorted(names) == sorted(_defined())


@pytest.mark.parametrize("info", tasklist.TASKS, ids=lambda info: info.name)
def test_what_the_list_says_a_task_takes_is_what_it_takes(info):
    params = _defined()[info.name]
    assert ("root" in params) == info.root
    assert ("dry_run" in params) == info.dry_run


def test_apply_steps_and_fleet_tasks_come_from_the_list():
    from sunray import apply, fleet

    assert [name for name, _ in apply.STEPS] == list(tasklist.APPLY_STEPS)
    assert tasklist.APPLY_STEPS == ("patch-tmpwatch", "esd-dir", "install-boot-hook",
                                    "install-kernel-hooks", "rebuild-modules")
    assert set(fleet.TASKS) == {"doctor", "apply", "rebuild-modules", "patch-tmpwatch"}
    assert set(fleet.DRY_RUN_TASKS) == {"apply", "rebuild-modules", "patch-tmpwatch"}


def test_with_root_adds_the_tree_to_tasks_that_take_it(tmp_path):
    tree = Root(tmp_path)
    assert tasklist.with_root("sunray esd-dir", Root("/")) == "sunray esd-dir"
    assert tasklist.with_root("sunray esd-dir", tree) == f"sunray esd-dir --root {tmp_path}"
    assert (tasklist.with_root("sunray rebuild-modules --kernel 6.1; then `sunray boot`", tree)
            == f"sunray rebuild-modules --root {tmp_path} --kernel 6.1; then `sunray boot --root {tmp_path}`")
    # not a task that takes --root, and not a longer word that starts like one
    assert tasklist.with_root("sunray savings --preset home", tree) == "sunray savings --preset home"
    assert tasklist.with_root("sunray boot-x; sunray esd-dir.sh", tree) == "sunray boot-x; sunray esd-dir.sh"
    (tmp_path / "a b").mkdir()
    spaced = Root(tmp_path / "a b")
    assert tasklist.with_root("sunray doctor", spaced) == f"sunray doctor --root '{tmp_path}/a b'"
