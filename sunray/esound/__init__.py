"""esound without ALSA: rebuild the RPM OSS-only and prove the result has no libasound.

build.py      build-esound: build() and its BuildReport
sources.py    its input, the source RPM or an upstream tarball, checked
spec.py       the spec rewrite (--disable-alsa, no ALSA requirements, .oss)
builduser.py  whom rpmbuild runs as, in a new session with a minimal environment
buildtree.py  the private rpmbuild tree, and the results taken out of it
check.py      check-esound: check_rpms(), check_installed(), CheckReport
rpm.py        RPM files read as untrusted input (rpmfile)
elf.py        the DT_NEEDED entries of an ELF file, in pure Python
checks.py     the doctor's check of the installed esd
"""
