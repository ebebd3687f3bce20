"""SRSS kernel modules (utadem, utdisk, utdiskctl, utio): rebuilt for every
kernel, kernel hooks, DKMS export.

Where things are, in the order a rebuild uses them:

* ``rebuild`` -- the entry points: rebuild, boot_check, status (doctor's view);
* ``settings`` -- the ``sunray.modules`` settings checked, and ``Job``, one run's inputs;
* ``discover`` -- kernels, headers, module sources, digests (read-only);
* ``plan`` -- what each (kernel, module) pair is built from, and whether it is current;
* ``leftovers`` -- what killed runs left, found and removed;
* ``build`` -- kbuild per kernel, side by side, and signing;
* ``install`` -- all-or-nothing install of a kernel's modules, depmod, the record;
* ``index`` -- depmod, and whether modules.dep names our modules;
* ``record`` -- the per-kernel record and the build logs;
* ``results`` -- the report rows and their table;
* ``tools`` -- running make, patch, modinfo, depmod; safe directories;
* ``remove`` -- remove-modules, for the kernel removal hooks and as the undo;
* ``kernel_hooks``, ``dkms_export``, ``checks`` -- the other tasks and the doctor's checks.

Writing runs hold the run journal and the one lock (``sunray.core.journal``).

Nothing is imported here: ``sunray --help`` stays fast.
"""
