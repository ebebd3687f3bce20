"""What the figures say, in plain words: the report's headline.

Three sentences for page 1 (``summary``): the verdict (money over the
horizon and why, or energy when there are no prices), energy and CO2e with
the main reason they rise or fall, and the one change that moves the
result most (the suggested "servers off out of hours" scenario or the input
with the widest sensitivity swing). Where energy or CO2e rise, nothing is
called a saving. ``cards`` are the summary cards with the same words.
"""

from typing import Any, Callable, Dict, List, Optional, Tuple

from . import i18n, model
from .display import KG, money, show
from .evaluate import Proposal
from .i18n import t


def energy_words(kwh: float) -> Tuple[str, str]:
    """(figure, unit) of an amount of energy: kWh, then MWh from 1,000,000
    kWh and GWh from 1,000,000,000 kWh, so a big proposal's figure fits."""
    size = abs(kwh)
    if size >= 1e9:
        return show(kwh / 1e6), "GWh"
    if size >= 1e6:
        return show(kwh / 1e3), "MWh"
    return show(kwh), "kWh"


def energy_text(kwh: float) -> str:
    figure, unit = energy_words(kwh)
    return f"{figure} {unit}"


def _hours_a_year(proposal: Proposal) -> Tuple[float, float]:
    """Server hours and desktop hours a year of the largest site."""
    s = max(proposal.results, key=lambda r: r.site.seats).site
    return s.server_hours * s.server_days, s.hours_before * s.days


def _lever(proposal: Proposal) -> Optional[str]:
    """The one change that moves the yearly net result most, in words."""
    total = proposal.total
    use_money = total.money is not None and total.currency is not None
    base = total.money["net_saving"] if use_money and total.money else total.kwh["net_saving"]

    def amount(value: float) -> str:
        return money(value, total.currency) if use_money else energy_text(value)

    best: Tuple[float, Optional[str]] = (0.0, None)
    for sc in proposal.scenarios:
        if not sc.suggested:
            continue
        value = sc.total.money["net_saving"] if use_money and sc.total.money else \
            sc.total.kwh["net_saving"]
        s = proposal.results[0].site
        words = t("The change that moves it most: servers off out of hours (on for {hours} h "
                  "a day on the {days} days of use) make it {result} a year.",
                  hours=show(sc.changes["server_hours"]),
                  days=show(sc.changes["server_days"]) if s else "",
                  result=_yearly(value, amount))
        best = (abs(value - base), words)
    for x in proposal.sensitivity or []:
        if x.swing > best[0]:
            # The end that helps most.
            better, sign = (x.low, "-") if x.low > x.high else (x.high, "+")
            label = t(x.label)
            if i18n.active().lang != "de":  # German nouns keep their capital
                label = label[:1].lower() + label[1:]
            words = t("It depends most on the {input}: {sign}20 % makes it {result} a year.",
                      input=label, sign=sign, result=_yearly(better, amount))
            best = (x.swing, words)
    return best[1]


def _yearly(value: float, amount: Callable[[float], str]) -> str:
    return t("a saving of {amount}" if value >= 0 else "an extra cost of {amount}",
             amount=amount(abs(value)))


def summary(proposal: Proposal) -> List[str]:
    """The three sentences of page 1."""
    total = proposal.total
    costs = total.costs
    kwh = total.kwh["net_saving"]
    before = total.kwh["before"]
    lines = []
    if costs is not None and total.currency:
        benefit = costs.horizon_benefit
        horizon = costs.years or max(r.site.years for r in proposal.results)
        avoided = _avoided_total(costs)
        energy_money = (total.money or {}).get("net_saving", 0.0) * horizon
        if avoided > 0 and avoided >= abs(energy_money):
            reason = t("mainly because {amount} of desktop purchases are not made",
                       amount=money(avoided, total.currency))
        elif energy_money >= 0:
            reason = t("mainly through the energy it saves")
        else:
            reason = t("mainly through the hardware it costs")
        verdict = ("Over {years} years the switch comes out {amount} ahead of keeping the "
                   "desktops, {reason}." if benefit >= 0 else
                   "Over {years} years the switch costs {amount} more than keeping the "
                   "desktops, {reason}.")
        lines.append(t(verdict, years=horizon, amount=money(abs(benefit), total.currency),
                       reason=reason))
    pct = show(100 * abs(kwh) / before) if before > 0 else "-"
    server_h, desktop_h = _hours_a_year(proposal)
    if kwh < 0:
        why = t("the servers run {server} h a year, the desktops ran {desktop} h",
                server=show(server_h), desktop=show(desktop_h)) \
            if total.kwh["server"] > total.kwh["gross_saving"] else \
            t("the thin clients and servers use more than the desktops did")
        lines.append(t("It uses {kwh} more energy a year ({pct} % more than the desktops): "
                       "{why}.", kwh=energy_text(-kwh), pct=pct, why=why))
    else:
        lines.append(t("It uses {kwh} less energy a year ({pct} % less than the desktops), "
                       "the thin clients and the servers' share counted.",
                       kwh=energy_text(kwh), pct=pct))
    if costs is not None:
        co2 = costs.net_co2_kg
        lines[-1] += " " + t(
            "Over the horizon, manufacturing included, that is {co2} CO2e saved." if co2 >= 0
            else "Over the horizon, manufacturing included, that is {co2} CO2e more.",
            co2=f"{show(abs(co2))} kg")
    lever = _lever(proposal)
    if lever:
        lines.append(lever)
    return lines


def _avoided_total(costs: model.Costs) -> float:
    """Desktop purchases not made in the horizon (discounted)."""
    years = costs.years or len(costs.spent)
    return sum(s - p for s, p in zip(costs.spent[:years], costs.purchases[:years]))


def cards(proposal: Proposal) -> List[Dict[str, Any]]:
    """The summary cards: energy a year (saved or extra), money over the
    horizon, CO2e over the horizon, payback; each says which way it goes."""
    total = proposal.total
    kwh = total.kwh["net_saving"]
    figure, unit = energy_words(abs(kwh))
    detail = money(abs(total.money["net_saving"]), total.currency) if total.money else ""
    first = {"title": t("Energy saved per year") if kwh >= 0 else t("Extra energy per year"),
             "value": figure, "unit": unit, "good": kwh >= 0,
             "detail": t("{amount} a year less for electricity", amount=detail) if kwh >= 0
             else t("{amount} a year more for electricity", amount=detail) if detail else ""}
    out = [first]
    costs = total.costs
    if costs is not None and total.currency:
        benefit = costs.horizon_benefit
        horizon = costs.years or max(r.site.years for r in proposal.results)
        roi = costs.roi
        out.append({"title": t("Net benefit over {years} years", years=horizon) if benefit >= 0
                    else t("Net cost over {years} years", years=horizon),
                    "value": show(abs(benefit)), "unit": _currency(total.currency),
                    "good": benefit >= 0,
                    "detail": t("net present value; ROI {roi} %", roi=show(100 * roi))
                    if roi is not None else t("net present value")})
        co2 = costs.net_co2_kg
        out.append({"title": t("CO2e saved over {years} years", years=horizon) if co2 >= 0
                    else t("Extra CO2e over {years} years", years=horizon),
                    "value": show(abs(co2)), "unit": KG, "good": co2 >= 0,
                    "detail": t("operation and manufacturing")})
        from .display import payback_text
        out.append({"title": t("Payback"), "value": payback_text(costs.payback_years,
                                                                 short=True),
                    "unit": "", "good": costs.payback_years is not None,
                    "detail": t("running total never below zero") if not costs.below_zero
                    else t("running total below zero for a while")})
    else:
        co2 = total.co2_kg["net_saving"]
        out.append({"title": t("CO2e saved per year") if co2 >= 0 else t("Extra CO2e per year"),
                    "value": show(abs(co2)), "unit": KG, "good": co2 >= 0, "detail": ""})
    return out


def _currency(code: Optional[str]) -> str:
    return i18n.active().currency_heading(code)
