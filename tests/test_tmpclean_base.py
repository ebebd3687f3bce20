"""What every cleaner shares (sunray/tmpclean/base.py): the shell syntax check."""

import pytest

from sunray.tmpclean.base import NotUnderstood, check_sh_syntax


def test_sh_syntax_check_needs_no_temporary_file(tmp_path, monkeypatch):
    # issue 11, case 5: a kill during the check left $TMPDIR/sunray-check-*.sh
    # behind. The text now goes to `sh -n` on stdin: there is no file to leave.
    tmpdir = tmp_path / "tmp"
    tmpdir.mkdir()
    import tempfile
    monkeypatch.setattr(tempfile, "tempdir", str(tmpdir / "missing"))  # mkstemp fails here
    check_sh_syntax("#!/bin/sh\n/usr/sbin/tmpwatch 240 /tmp\n", "/etc/cron.daily/tmpwatch")
    assert list(tmpdir.iterdir()) == []


def test_sh_syntax_error_names_the_file_and_line():
    with pytest.raises(NotUnderstood) as caught:
        check_sh_syntax("#!/bin/sh\n\nif then\n", "/etc/cron.daily/tmpwatch")
    message = str(caught.value)
    assert message.startswith("/etc/cron.daily/tmpwatch: the edited text fails 'sh -n' (")
    assert "3" in message and "\n" not in message
    assert "sunray-check" not in message
