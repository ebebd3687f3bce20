"""Putting esd back into a spec that deletes it (sunray/esound/daemon.py), pure text."""

from esound_support import EL6_SPEC, STOCK_SPEC

from sunray.esound.daemon import esd_packaged, esd_removals, restore_daemon
from sunray.esound.spec import rewrite

EVR = "1:%{version}-%{release}"
RM_LINE = "rm -f $RPM_BUILD_ROOT%{_bindir}/esd $RPM_BUILD_ROOT%{_mandir}/man1/esd.1*\n"


def test_spec_that_ships_esd_is_unchanged():
    restored = restore_daemon(STOCK_SPEC, EVR)
    assert (restored.text, restored.changes, restored.package) == (STOCK_SPEC, [], "")
    assert rewrite(STOCK_SPEC, "oss", "0.2.36", "2").daemon_package == ""


def test_el6_spec_gets_a_daemon_subpackage():
    assert RM_LINE in EL6_SPEC
    line = EL6_SPEC.splitlines().index(RM_LINE.strip()) + 1
    assert esd_removals(EL6_SPEC) == [(line, RM_LINE.strip())]
    restored = restore_daemon(EL6_SPEC, EVR)
    assert restored.package == "esound-daemon"
    assert RM_LINE not in restored.text
    assert esd_removals(restored.text) == []
    assert "%package daemon\n" in restored.text
    assert "Requires: %{name}-libs%{?_isa} = 1:%{version}-%{release}\n" in restored.text
    files = restored.text.split("%files daemon\n", 1)[1].split("\n\n", 1)[0].splitlines()
    assert files == ["%defattr(-,root,root,-)", "%{_bindir}/esd", "%{_mandir}/man1/esd.1*"]
    # The new %package comes before %prep, its %files before %changelog.
    text = restored.text
    assert text.index("%package daemon") < text.index("%prep") < text.index("%files daemon") \
        < text.index("%changelog")
    assert esd_packaged(text.splitlines(keepends=True)) == ("%{name}-daemon", False)
    assert restored.changes == [
        f"%install: line {line} ({RM_LINE.strip()}) dropped: it deleted the daemon",
        "%package daemon added (esound-daemon: /usr/bin/esd and its man page, "
        "requires esound-libs = 1:%{version}-%{release})",
    ]


def test_el6_rewrite_changelog_has_epoch_and_maintainer():
    edit = rewrite(EL6_SPEC, "oss", "0.2.41", "3.1.el6", when=0, epoch="1",
                   packager="Jo Admin <jo@example.com>")
    entry = edit.text.split("%changelog\n", 1)[1].split("\n\n", 1)[0].splitlines()
    assert entry[0] == "* Thu Jan 01 1970 Jo Admin <jo@example.com> - 1:0.2.41-3.1.el6.oss"
    assert entry[-1] == "- The daemon put back: /usr/bin/esd ships in esound-daemon."
    assert edit.daemon_package == "esound-daemon"
    assert "alsa-lib-devel" not in edit.text.split("%changelog")[0]


def test_other_deletions_on_the_line_stay():
    spec = EL6_SPEC.replace(RM_LINE, "rm -f $RPM_BUILD_ROOT%{_bindir}/esd $RPM_BUILD_ROOT%{_bindir}/esdrec\n")
    restored = restore_daemon(spec, EVR)
    assert "rm -f $RPM_BUILD_ROOT%{_bindir}/esdrec\n" in restored.text
    # No man page deleted, so none listed (the build may not install one).
    assert "%{_mandir}/man1/esd.1*" not in restored.text.split("%files daemon")[1]


def test_without_libs_split_esd_goes_to_the_main_package():
    spec = STOCK_SPEC.replace("make install DESTDIR=$RPM_BUILD_ROOT\n",
                              "make install DESTDIR=$RPM_BUILD_ROOT\n" + RM_LINE)
    spec = spec.replace("%{_bindir}/esd\n%{_libdir}", "%{_libdir}")
    restored = restore_daemon(spec, "%{version}-%{release}")
    assert restored.package == "esound"
    assert "%package daemon" not in restored.text
    main = restored.text.split("%files\n", 1)[1].split("\n\n", 1)[0].splitlines()
    assert main[-2:] == ["%{_bindir}/esd", "%{_mandir}/man1/esd.1*"]


def test_not_packaged_without_deletion_is_put_back():
    spec = STOCK_SPEC.replace("%{_bindir}/esd\n", "")
    restored = restore_daemon(spec, "%{version}-%{release}")
    assert restored.package == "esound"
    assert "%{_bindir}/esd" in restored.text.split("%files\n", 1)[1]


def test_glob_in_another_package_ships_it_once_the_deletion_is_gone():
    spec = EL6_SPEC.replace("%{_bindir}/esdcat\n", "%{_bindir}/*\n")
    restored = restore_daemon(spec, EVR)
    assert restored.package == "esound-tools"
    assert "%package daemon" not in restored.text
    assert restored.changes[-1] == "%files: /usr/bin/esd now ships in esound-tools (its %files already lists it)"


def test_excluded_esd_is_not_packaged():
    spec = STOCK_SPEC.replace("%{_bindir}/esd\n", "%{_bindir}/*\n%exclude %{_bindir}/esd\n")
    assert esd_packaged(spec.splitlines(keepends=True)) == (None, False)
    assert esd_packaged(STOCK_SPEC.splitlines(keepends=True)) == ("%{name}", False)


def test_removals_found_in_other_forms():
    spec = EL6_SPEC.replace(RM_LINE, "find $RPM_BUILD_ROOT -name esd -delete\n")
    (found,) = esd_removals(spec)
    assert found[1] == "find $RPM_BUILD_ROOT -name esd -delete"
    # esd-config, esd.conf: not the daemon.
    assert esd_removals(EL6_SPEC.replace(RM_LINE, "rm -f $RPM_BUILD_ROOT%{_bindir}/esd-config\n")) == []
