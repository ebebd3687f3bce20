"""The savings model's inputs: each field's kind, range, unit and label,
the defaults no preset sets (each with its source), the presets that
reproduce the blog posts, and the checks every value passes where it is
read (a flag, the settings, a proposal file).

Pure data and validation, no I/O; ``model`` computes with them.
"""

import math
from dataclasses import dataclass
from typing import Any, Dict, Optional, Tuple, Union

from ..core.errors import UsageError


@dataclass(frozen=True)
class Field:
    """One model input: its kind, allowed range and how to describe it."""

    name: str
    kind: str  # "int", "number", "switch" (true/false), "text" or "country"
    low: float
    high: float
    unit: str
    label: str

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")

    def allowed(self) -> str:
        if self.kind == "text":
            return f"allowed: text of {self.low:g} to {self.high:g} characters"
        if self.kind == "country":
            return "allowed: an ISO 3166 alpha-3 code such as NLD"
        if self.kind == "switch":
            return "allowed: true or false (flag: yes or no)"
        whole = "a whole number " if self.kind == "int" else ""
        unit = f" {self.unit}" if self.unit else ""
        return f"allowed: {whole}{_plain(self.low)}..{_plain(self.high)}{unit}"


def _plain(x: float) -> str:
    """1000000 -> '1,000,000', 0.5 -> '0.5' (never '1e+06' in a message)."""
    return f"{int(x):,}" if float(x).is_integer() else f"{x:g}"


FIELDS = (
    Field("seats", "int", 1, 1_000_000, "seats", "Seats (desktops replaced)"),
    Field("desktop_watts", "number", 0, 5000, "W", "Desktop power"),
    Field("hours_before", "number", 0, 24, "h/day", "Desktop use before"),
    Field("hours_after", "number", 0, 24, "h/day", "Residual desktop use after"),
    Field("thin_client_watts", "number", 0, 1000, "W", "Thin client power"),
    Field("thin_client_hours", "number", 0, 24, "h/day", "Thin client use"),
    Field("server_watts", "number", 0, 100_000, "W", "Server power (or extra load)"),
    Field("server_hours", "number", 0, 24, "h/day", "Server hours"),
    Field("server_days", "number", 1, 366, "days/year", "Server days"),
    Field("seats_per_server", "number", 1, 10_000, "seats", "Seats per server"),
    Field("pue", "number", 1, 3, "", "PUE (server room cooling overhead)"),
    Field("days", "number", 1, 366, "days/year", "Days of use"),
    Field("price", "number", 0, 1_000_000, "per kWh", "Electricity price"),
    Field("currency", "text", 1, 8, "", "Currency"),
    Field("g_per_kwh", "number", 0, 2000, "g CO2e/kWh", "Grid carbon intensity"),
    Field("country", "country", 0, 0, "", "Country (grid carbon intensity)"),
    Field("thin_client_price", "number", 0, 10_000_000, "per thin client", "Thin client price"),
    Field("server_price", "number", 0, 10_000_000, "per server", "Server price"),
    Field("desktop_price", "number", 0, 10_000_000, "per seat",
          "Avoided desktop replacement"),
    Field("years", "int", 1, 30, "years", "Horizon"),
    Field("desktop_off_watts", "number", 0, 500, "W", "Desktop power when off or asleep"),
    Field("desktop_life", "number", 1, 30, "years", "Desktop lifetime (refresh cycle)"),
    Field("thin_client_life", "number", 1, 30, "years", "Thin client lifetime"),
    Field("server_life", "number", 1, 30, "years", "Server lifetime"),
    Field("running_cost", "number", -1_000_000, 1_000_000, "per seat and year",
          "Other yearly cost of the thin clients per seat (negative: a saving)"),
    Field("admin_before", "number", 0, 1_000_000, "per seat and year",
          "Administration and help desk, desktops"),
    Field("admin_after", "number", 0, 1_000_000, "per seat and year",
          "Administration and help desk, thin clients"),
    Field("licence_cost", "number", -1_000_000, 1_000_000, "per seat and year",
          "Extra licences of the thin clients (negative: licences saved)"),
    Field("deployment_cost", "number", 0, 10_000_000, "per seat, once",
          "Deployment and migration"),
    Field("residual_value", "switch", 0, 1, "", "Residual value at the horizon's end"),
    Field("thin_client_standby_watts", "number", 0, 100, "W",
          "Thin client power when not in use"),
    Field("thin_client_standby_hours", "number", 0, 8784, "h/year",
          "Thin client hours not in use but plugged in"),
    Field("price_escalation", "number", -20, 50, "% per year", "Electricity price escalation"),
    Field("discount_rate", "number", 0, 50, "% per year", "Discount rate"),
    Field("desktop_embodied_kg", "number", 0, 10_000, "kg CO2e per desktop",
          "Desktop manufacturing CO2e"),
    Field("thin_client_embodied_kg", "number", 0, 10_000, "kg CO2e per thin client",
          "Thin client manufacturing CO2e"),
    Field("server_embodied_kg", "number", 0, 100_000, "kg CO2e per server",
          "Server manufacturing CO2e"),
    Field("embodied_saving_kg", "number", 0, 10_000, "kg CO2e per seat in 5 years",
          "Manufacturing CO2e avoided per workplace (without per-device figures)"),
)
FIELD = {f.name: f for f in FIELDS}
_NUMBERS = ("int", "number")
COST_FIELDS = ("thin_client_price", "server_price", "desktop_price")
HOURS_PER_YEAR = 24 * 365

# Inputs no preset sets: (value, where it comes from). The report lists each
# one it used with this source; ours are marked as ours.
OURS = "our assumption"
DEFAULTS: Dict[str, Tuple[Any, str]] = {
    "desktop_off_watts": (2, f"{OURS}: a PC switched off or asleep but plugged in; "
                          "measure yours"),
    "desktop_life": (4, f"{OURS}: a common office PC refresh cycle"),
    "thin_client_life": (8, f"{OURS}: thin-client vendors claim about twice a PC's life"),
    "server_life": (5, f"{OURS}: a common server refresh cycle"),
    "running_cost": (0, "not counted unless given"),
    "admin_before": (0, "not counted unless given"),
    "admin_after": (0, "not counted unless given"),
    "licence_cost": (0, "not counted unless given"),
    "deployment_cost": (0, "not counted unless given"),
    "residual_value": (True, "straight line: a device still in its life at the horizon's "
                       "end counts at its remaining share of the price"),
    "thin_client_standby_watts": (0, "not counted unless given"),
    # None: the rest of the year (8,760 h - thin client h/day x days).
    "thin_client_standby_hours": (None, "the rest of the year"),
    "price_escalation": (0, f"{OURS}: today's price throughout"),
    "discount_rate": (0, f"{OURS}: money not discounted"),
    "desktop_embodied_kg": (0, "not counted unless given (your vendor's product "
                            "carbon footprint sheet)"),
    "thin_client_embodied_kg": (0, "not counted unless given"),
    "server_embodied_kg": (0, "not counted unless given"),
    "embodied_saving_kg": (80, "Maga, Hiebel, Knermann 2013, Int J Life Cycle Assess 18: a "
                           "lower bound, scaled to the horizon; per-device figures replace it"),
}

# Presets reproduce the posts (FACTS.md section 1). Figures the posts do not
# give are ours and say so in the README:
# - home: the posts' server is on 24x7 anyway and "only uses a bit more power
#   when using the SunRay": 10 W extra while the Sun Ray is in use (2.5 h,
#   the time moved off the desktop), at home, so no cooling (PUE 1).
# - office: a 400 W server for 15 seats in a PUE 1.5 room is 40 W per seat,
#   24x7: 350 kWh, 40 % of the 876 kWh desktop, inside the posts' "at most
#   half of those savings need to be invested in servers" (15 seats fill
#   the one whole server a site buys).
# - price: the post gives 34 euros for 137 kWh, about 0.25 EUR/kWh; it does
#   not state a price. The desktops of both are used, not left on standby
#   (home: off power 0, as the post counts only hours of use).
PRESETS = {
    "home": dict(
        seats=1, desktop_watts=150, hours_before=3, hours_after=0.5,
        thin_client_watts=4, thin_client_hours=2.5,
        server_watts=10, server_hours=2.5, server_days=365, seats_per_server=1, pue=1.0,
        days=365, price=0.25, currency="EUR", g_per_kwh=450, years=5,
        desktop_off_watts=0,
    ),
    "office": dict(
        seats=1, desktop_watts=100, hours_before=24, hours_after=0,
        thin_client_watts=4, thin_client_hours=24,
        server_watts=400, server_hours=24, server_days=365, seats_per_server=15, pue=1.5,
        days=365, price=0.25, currency="EUR", g_per_kwh=450, years=5,
    ),
}


def check(name: str, value: Any, where: str, shown: Optional[str] = None) -> Union[float, str]:
    """``value`` for field ``name`` if allowed, else a UsageError that names
    where it came from, the value (``shown``: as typed) and the allowed range."""
    f = FIELD[name]
    # The usual value first, at once: a number of the field's kind in range
    # (NaN compares false, so it goes the long way below).
    kind = type(value)
    if ((kind is int and f.kind in _NUMBERS) or (kind is float and f.kind == "number")) \
            and f.low <= value <= f.high:
        return value

    def refused(problem: str) -> UsageError:
        # Worded only when refused: 10,000 sites are 350,000 checks.
        said = f"{where} {shown}" if shown is not None else f"{where} = {value!r}"
        return UsageError(f"{said}: {problem}")

    if f.kind == "switch":
        if not isinstance(value, bool):
            raise refused(f"not true or false; {f.allowed()}")
        return value
    if f.kind in _NUMBERS:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise refused(f"not a number; {f.allowed()}")
        if isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
            raise refused(f"not a finite number; {f.allowed()}")
        if f.kind == "int":
            if value != int(value):
                raise refused(f"not a whole number; {f.allowed()}")
            value = int(value)
        if not f.low <= value <= f.high:
            raise refused(f"out of range; {f.allowed()}")
        return value
    if not isinstance(value, str):
        raise refused(f"expected text; {f.allowed()}")
    if f.kind == "text":
        value = value.strip()
        if not f.low <= len(value) <= f.high or not value.isprintable():
            raise refused(f"{f.allowed()}, printable")
    return value


# A switch on the command line.
SWITCH_WORDS = {"yes": True, "true": True, "on": True, "1": True,
                "no": False, "false": False, "off": False, "0": False}


def parse_flag(name: str, text: str) -> Union[float, str]:
    """A command-line value (always a string) converted and checked."""
    f = FIELD[name]
    where = f.flag
    if f.kind == "switch":
        word = str(text).strip().lower()
        if word in SWITCH_WORDS:
            return SWITCH_WORDS[word]
        raise UsageError(f"{where} {text!r}: {f.allowed()}")
    if f.kind in ("int", "number"):
        try:
            value = float(str(text).strip())
        except ValueError:
            raise UsageError(f"{where} {text!r}: not a number; {f.allowed()}") from None
        return check(name, value, where, shown=text)
    return check(name, str(text), where, shown=text)


def check_name(value: Any, where: str) -> str:
    """A site's name: printable text, 1..200 characters."""
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise UsageError(f"{where} = {value!r}: expected text (the site's name)")
    text = str(value).strip()
    if not 1 <= len(text) <= 200 or not text.isprintable():
        raise UsageError(f"{where} = {value!r}: allowed: printable text of 1 to 200 "
                         "characters")
    return text


# Site, SiteResult and lifecycle's Devices and Costs are values: never
# assigned to once built (dataclasses.replace makes a variant). They are not
# frozen because a frozen dataclass sets each field through
# object.__setattr__: 10,000 sites build 40,000 of them, 0.08 s of the 1 s
# that proposal is given.
