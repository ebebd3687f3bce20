"""The docs stay true to the program: docs/tasks.md is the task help as the
program prints it now, and README.md stays a short guide for the admin."""

import importlib.util
from pathlib import Path
from types import ModuleType

from conftest import REPO

README_MAX_LINES = 300


def load_generator() -> ModuleType:
    """docs/generate_tasks.py as a module (docs/ is not a package)."""
    path = REPO / "docs" / "generate_tasks.py"
    spec = importlib.util.spec_from_file_location("generate_tasks", str(path))
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_tasks_md_is_what_the_generator_writes_now() -> None:
    generated = load_generator().render()
    on_disk = (REPO / "docs" / "tasks.md").read_text(encoding="utf-8")
    assert on_disk == generated, (
        "docs/tasks.md differs from the task help: run "
        ".venv/bin/python docs/generate_tasks.py and commit the result")


def test_tasks_md_has_one_section_per_task() -> None:
    from sunray.core.tasklist import TASKS

    text = (REPO / "docs" / "tasks.md").read_text(encoding="utf-8")
    headings = [line[3:] for line in text.splitlines() if line.startswith("## ")]
    assert headings == [info.name for info in TASKS]


def test_readme_is_under_300_lines() -> None:
    lines = (REPO / "README.md").read_text(encoding="utf-8").splitlines()
    assert len(lines) < README_MAX_LINES, (
        "README.md has %d lines: keep it under %d, move detail to docs/"
        % (len(lines), README_MAX_LINES))


def test_topic_pages_exist() -> None:
    pages = set(load_generator().TOPIC_PAGES.values())
    missing = sorted(page for page in pages if not Path(REPO, "docs", page).is_file())
    assert not missing, missing


def test_every_task_has_a_topic_page() -> None:
    """A task added to sunray.core.tasklist needs its page in docs/ too: the
    generated reference links every task to one."""
    from sunray.core.tasklist import TASKS

    assert sorted(load_generator().TOPIC_PAGES) == sorted(info.name for info in TASKS)
