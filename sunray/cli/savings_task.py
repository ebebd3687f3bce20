"""The ``savings`` task: the power, cost and CO2e calculator for customer
proposals (a workstation task). Its many input flags and their help live
here so that sunray/cli/tasks.py stays short; the task is part of the same
namespace (tasks.py imports it)."""

from typing import Optional

import invoke

from sunray.cli.output import finish, guarded, settings
from sunray.cli.taskdef import task


@task(
    help={
        "preset": "Starting figures: home (the posts' 150 W desktop, 3 -> 0.5 h/day) or "
        "office (100 W desktops all year, 400 W server per 15 seats, PUE 1.5). "
        "Default: sunray.savings.preset (office).",
        "config": "YAML proposal FILE: title, customer, defaults: and sites: (each with its "
        "own name, seats and inputs). One table per site and a total.",
        "format": "text (default), json, yaml, csv, markdown, html (a report for the customer, "
        "self-contained), pdf (that report printed by headless Chromium; needs --output) or xlsx "
        "(a workbook of live formulas to play with; needs --output and XlsxWriter).",
        "output": "Write to FILE (atomically) instead of stdout. Never through a symlink, "
        "never over an input; over a file that is not an earlier savings report only "
        "with --force.",
        "force": "Let --output replace an existing file that is not a savings report.",
        "lang": "Report language: en (default: sunray.savings.lang), de or nl; numbers as it "
        "writes them (de: --price 0,32).",
        "paper": "Paper of the html and pdf report: a4 (default: sunray.savings.paper) or letter.",
        "title": "Title of the proposal (default: the file's, or 'Sun Ray thin clients: energy, "
        "money and CO2e compared').",
        "site": "Name of the site (without --config).",
        "servers": "per-site (default: each site buys whole servers, ceil(seats / seats per "
        "server)) or shared (the sites share a pool of whole servers).",
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
        "desktop_off_watts": "Desktop power in W when off or asleep, outside use hours "
        "(default 2).",
        "desktop_life": "Years a desktop lasts before it is replaced (default 4).",
        "thin_client_life": "Years a thin client lasts (default 8).",
        "server_life": "Years a server lasts (default 5).",
        "running_cost": "Other extra yearly cost per seat of the thin clients "
        "(negative: a saving; default 0).",
        "admin_before": "Administration and help-desk cost per desktop seat and year "
        "(default 0: not counted).",
        "admin_after": "Administration and help-desk cost per thin-client seat and year "
        "(default 0).",
        "licence_cost": "Extra licence cost per seat and year of the thin clients "
        "(server or session licences; negative: licences saved; default 0).",
        "deployment_cost": "One-off deployment and migration cost per seat, at the switch "
        "(default 0).",
        "residual_value": "yes (default) or no: count devices still inside their life at the "
        "horizon's end at their remaining straight-line value.",
        "thin_client_standby_watts": "Thin client power in W when plugged in but not used "
        "(default 0).",
        "thin_client_standby_hours": "Hours per year a thin client is plugged in but not "
        "used (default: the rest of the year).",
        "price_escalation": "Electricity price change in % per year (default 0).",
        "discount_rate": "Discount rate in % per year for the horizon's value (default 0).",
        "desktop_embodied_kg": "Manufacturing CO2e per desktop in kg (default: not counted).",
        "thin_client_embodied_kg": "Manufacturing CO2e per thin client in kg.",
        "server_embodied_kg": "Manufacturing CO2e per server in kg.",
        "embodied_saving_kg": "Manufacturing CO2e avoided per seat in 5 years without those three (default 80).",
    }
)
@guarded
def savings(c: invoke.Context, preset: Optional[str] = None, config: Optional[str] = None, format: str = "text",
            output: Optional[str] = None, force: bool = False, lang: Optional[str] = None,
            paper: Optional[str] = None, title: Optional[str] = None, site: Optional[str] = None,
            servers: Optional[str] = None, seats: Optional[str] = None, desktop_watts: Optional[str] = None,
            hours_before: Optional[str] = None, hours_after: Optional[str] = None,
            thin_client_watts: Optional[str] = None, thin_client_hours: Optional[str] = None,
            server_watts: Optional[str] = None, server_hours: Optional[str] = None, server_days: Optional[str] = None,
            seats_per_server: Optional[str] = None, pue: Optional[str] = None, days: Optional[str] = None,
            price: Optional[str] = None, currency: Optional[str] = None, g_per_kwh: Optional[str] = None,
            country: Optional[str] = None, thin_client_price: Optional[str] = None,
            server_price: Optional[str] = None, desktop_price: Optional[str] = None, years: Optional[str] = None,
            desktop_off_watts: Optional[str] = None, desktop_life: Optional[str] = None,
            thin_client_life: Optional[str] = None, server_life: Optional[str] = None,
            running_cost: Optional[str] = None, price_escalation: Optional[str] = None,
            discount_rate: Optional[str] = None, desktop_embodied_kg: Optional[str] = None,
            thin_client_embodied_kg: Optional[str] = None, server_embodied_kg: Optional[str] = None,
            embodied_saving_kg: Optional[str] = None, admin_before: Optional[str] = None,
            admin_after: Optional[str] = None, licence_cost: Optional[str] = None,
            deployment_cost: Optional[str] = None, residual_value: Optional[str] = None,
            thin_client_standby_watts: Optional[str] = None,
            thin_client_standby_hours: Optional[str] = None) -> None:
    """Energy, money and CO2 saved by replacing desktop PCs with Sun Rays.

    Per seat and year: desktops before against residual desktop use + thin
    clients + the server share (server W x hours x days x PUE / seats per
    server), as the gross saving on the desktops (the usual figure) and the
    net saving (the honest one) side by side. With prices: payback and a
    horizon. Flags override the preset, the config file and every site.

    sunray savings --preset home              (the posts: 164 -> 27 kWh, 137 kWh, 34 EUR, 62 kg)
    sunray savings --seats 40 --country DEU --price 0.32
    sunray savings --config proposal.yaml --format html --output report.html
    sunray savings --config proposal.yaml --lang de --format pdf --output angebot.pdf

    Carbon intensity: Ember and Our World in Data (CC BY 4.0), via CodeCarbon (MIT).
    """
    # Every parameter but the context is an input; the module names them.
    given = {name: value for name, value in locals().items() if name != "c"}
    from sunray.savings import job

    for name in ("config", "format", "output", "force", "lang", "paper"):
        given.pop(name)
    # --config is the proposal file, not Invoke's configuration (that is settings).
    finish(job.run(settings(c, "savings"), given, proposal_path=config, fmt=format,
                        output=output, force=force, lang=lang, paper=paper))
