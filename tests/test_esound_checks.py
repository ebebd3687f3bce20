"""The doctor's esound row (sunray/esound/checks.py) for libesd without esd."""

from pathlib import Path

import pytest
from esound_support import install_rpm

from sunray.core.rootfs import Root
from sunray.esound.checks import check_esound

pytest_plugins = ["esound_fixtures"]


@pytest.mark.system
def test_doctor_warns_when_the_daemon_is_missing(sandbox, el6_build):
    (libs,) = Path(el6_build["out"]).glob("esound-libs-*.rpm")
    install_rpm(sandbox, libs)
    (row,) = check_esound(Root(sandbox), {})
    assert (row.status, row.detail) == ("warn", "libesd is installed but not the daemon /usr/bin/esd")
    assert "sunray build-esound --srpm" in row.fix
