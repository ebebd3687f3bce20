"""Doctor checks for the installed esound.

Read-only; each returns a list of Check rows."""

from typing import Any, Dict, List

from ..core.report import Check
from ..core.rootfs import Root
from .scan import check_installed


def check_esound(root: Root, settings: Dict[str, Any]) -> List[Check]:
    """The installed esd and libesd do not use ALSA (SRSS emulates OSS)."""
    title = "esd without ALSA"
    result = check_installed(root)
    if result.failure:
        return [Check("esound", title, "fail", result.failure,
                      "sunray build-esound --srpm esound-*.src.rpm, then "
                      "rpm -Uvh dist/esound-*.oss.*.rpm")]
    if result.data.get("daemon_missing"):
        return [Check("esound", title, "warn", "libesd is installed but not the daemon /usr/bin/esd",
                      "sunray build-esound --srpm esound-*.src.rpm, then "
                      "rpm -Uvh dist/esound-*.oss.*.rpm")]
    if not result.data.get("installed"):
        return [Check("esound", title, "skip", "esound is not installed")]
    return [Check("esound", title, "ok", "esd and libesd need no libasound")]


CHECKS = (check_esound,)
