"""Sun Ray server maintenance tasks.

Run them as ``invoke TASK`` in a checkout or ``sunray TASK`` anywhere.
Every task that touches the system takes ``--root DIR`` (work on DIR as if it
were /); every task that changes files takes ``--dry-run``.
Exit status: 0 done (or nothing to do), 1 the job failed, 2 bad input or usage.

This file stays thin and fast to import: each task parses its flags, calls
one function in the sunray package, and prints the result.
"""

import sys

from invoke import Collection, task

from sunray.config import defaults
from sunray.taskkit import finish, guarded, root_of, settings

ROOT_HELP = "Work on the tree under DIR as if it were / (default: /, or sunray.root)."
DRY_RUN_HELP = "Show the diff or plan; change nothing."
FORMAT_HELP = "Output format: text or json (one JSON document on stdout)."
REVERT_HELP = "Undo what this task installed: restore the saved originals."


# --- /tmp cleaners, /tmp/.esd, boot hook ---------------------------------


@task(
    help={
        "root": ROOT_HELP,
        "cleaner": "Which cleaner to protect against: auto (every one found), "
        "tmpwatch, tmpfiles or tmpreaper.",
        "dry_run": DRY_RUN_HELP,
        "revert": REVERT_HELP,
        "format": FORMAT_HELP,
    }
)
@guarded
def patch_tmpwatch(c, root=None, cleaner="auto", dry_run=False, revert=False, format="text"):
    """Stop the daily /tmp cleaner from deleting /tmp/SUNWut and /tmp/.esd.

    Finds tmpwatch (/etc/cron.daily/tmpwatch, RHEL 5/6), systemd-tmpfiles
    (/etc/tmpfiles.d, RHEL 7+, Debian) and tmpreaper (/etc/tmpreaper.conf,
    Debian) under the root and adds an exclusion for every protected path
    (sunray.tmp.protect). Safe to run again: a second run changes nothing.
    """
    from sunray import tmpcleaners

    result = tmpcleaners.patch(
        root_of(c, root),
        settings(c),
        cleaner=cleaner,
        dry_run=dry_run,
        revert=revert,
    )
    finish(result, format)


@task(help={"root": ROOT_HELP, "dry_run": DRY_RUN_HELP, "format": FORMAT_HELP})
@guarded
def esd_dir(c, root=None, dry_run=False, format="text"):
    """Make /tmp/.esd a root-owned directory with mode 1777, safely, now.

    Whatever is there already (symlink, file, another user's directory) is
    never followed: it is repaired or moved aside, and the report says what
    was found. SRSS sound (esd) fails without this directory.
    """
    from sunray import esddir

    finish(esddir.ensure(root_of(c, root), settings(c), dry_run=dry_run), format)


@task(
    help={
        "root": ROOT_HELP,
        "init": "auto, sysv or systemd. auto picks systemd when the root has "
        "/run/systemd/system or systemd is PID 1 style (/sbin/init -> systemd), "
        "else sysv.",
        "dry_run": DRY_RUN_HELP,
        "revert": REVERT_HELP,
        "format": FORMAT_HELP,
    }
)
@guarded
def install_boot_hook(c, root=None, init="auto", dry_run=False, revert=False, format="text"):
    """Run `sunray boot` at every boot, before SRSS starts.

    SysV: an init script with chkconfig and LSB headers plus rc?.d links.
    systemd: a oneshot unit ordered before utsvc/utstorage, enabled, plus the
    tmpfiles.d drop-in. Warns when /tmp is mounted nodev.
    """
    from sunray import boothook

    result = boothook.install(
        root_of(c, root), settings(c), init=init, dry_run=dry_run, revert=revert
    )
    finish(result, format)


@task(help={"root": ROOT_HELP, "format": FORMAT_HELP})
@guarded
def boot(c, root=None, format="text"):
    """Boot-time check, run by the boot hook before SRSS starts.

    Creates /tmp/.esd safely and makes sure the SRSS kernel modules exist for
    the running kernel (rebuilding them when missing or stale).
    """
    from sunray import boothook

    finish(boothook.boot(root_of(c, root), settings(c)), format)


# --- savings ----------------------------------------------------------------


@task(
    # 25 flags: Invoke's automatic one-letter flags would be arbitrary (-h for
    # --hours-before) and it runs out of letters; long flags only.
    auto_shortflags=False,
    help={
        "preset": "Starting figures: home (the posts' 150 W desktop, 3 -> 0.5 h/day) or "
        "office (100 W desktops all year, 400 W server per 15 seats, PUE 1.5). "
        "Default: sunray.savings.preset (office).",
        "config": "YAML proposal FILE: title, customer, defaults: and sites: (each with its "
        "own name, seats and inputs). One table per site and a total.",
        "format": "text (default), json, yaml, csv, markdown or html (a report for the "
        "customer, self-contained).",
        "output": "Write to FILE (atomically) instead of stdout. Never through a symlink.",
        "title": "Title of the proposal (default: the file's, or 'Sun Ray savings estimate').",
        "site": "Name of the site (without --config).",
        "seats": "Desktops replaced by Sun Rays (1..1000000).",
        "desktop_watts": "Desktop power in W while on (0..5000).",
        "hours_before": "Desktop hours per day before (0..24).",
        "hours_after": "Residual desktop hours per day after (0..hours before).",
        "thin_client_watts": "Thin client power in W (Sun Ray 2: about 4).",
        "thin_client_hours": "Thin client hours per day (0..24).",
        "server_watts": "Server power in W, or the extra load on an existing server.",
        "server_hours": "Server hours per day (0..24; servers usually run 24).",
        "server_days": "Server days per year (1..366; usually 365).",
        "seats_per_server": "Seats sharing one server (1..10000).",
        "pue": "Power usage effectiveness of the server room, cooling included (1..3).",
        "days": "Days per year the desktops and thin clients are used (1..366).",
        "price": "Electricity price per kWh (0 or more).",
        "currency": "Currency of --price and the costs, e.g. EUR.",
        "g_per_kwh": "Grid carbon intensity in g CO2 per kWh (0..2000).",
        "country": "Take the grid carbon intensity of this ISO 3166 alpha-3 country "
        "(NLD, DEU, FRA, GBR, USA...) from the bundled table instead.",
        "thin_client_price": "Price of one thin client (enables payback figures).",
        "server_price": "Price of one server (shared by --seats-per-server seats).",
        "desktop_price": "Avoided desktop replacement cost per seat.",
        "years": "Horizon in years for the totals of the costs (1..30, default 5).",
    }
)
@guarded
def savings(c, preset=None, config=None, format="text", output=None, title=None, site=None,
            seats=None, desktop_watts=None, hours_before=None, hours_after=None,
            thin_client_watts=None, thin_client_hours=None, server_watts=None,
            server_hours=None, server_days=None, seats_per_server=None, pue=None,
            days=None, price=None, currency=None, g_per_kwh=None, country=None,
            thin_client_price=None, server_price=None, desktop_price=None, years=None):
    """Energy, money and CO2 saved by replacing desktop PCs with Sun Rays.

    Per seat and year: desktops before against residual desktop use + thin
    clients + the server share (server W x hours x days x PUE / seats per
    server), as the gross saving on the desktops (the usual figure) and the
    net saving (the honest one) side by side. With prices: payback and a
    horizon. Flags override the preset, the config file and every site.

    sunray savings --preset home              (the posts: 164 -> 27 kWh, 137 kWh, 34 EUR, 62 kg)
    sunray savings --seats 40 --country DEU --price 0.32
    sunray savings --config proposal.yaml --format html --output report.html

    Carbon intensity: Ember and Our World in Data (CC BY 4.0), via CodeCarbon (MIT).
    """
    # Every parameter but the context is an input; the module names them.
    given = {name: value for name, value in locals().items() if name != "c"}
    from sunray import savings_proposal

    for name in ("config", "format", "output"):
        given.pop(name)
    finish(savings_proposal.run(settings(c, "savings"), given, config=config, fmt=format,
                                output=output))


ns = Collection.from_module(sys.modules[__name__], config={"sunray": defaults()})
