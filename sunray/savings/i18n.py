"""The languages of the savings report (``--lang en|de|nl``): words, numbers,
money, dates, and numbers as people type them.

Words go through ``t("English text")``: the catalogue
(``sunray/savings/data/translations.csv``: columns en, de, nl, one text a
row, ``{name}`` fields kept in every language) is keyed by the English text,
so English needs no entry; a missing translation shows as English and is
recorded in ``MISSING`` (a test renders every report in every language and
asserts it stays empty). Terms kept the same throughout: de "Einsparung"
(saving), "Arbeitsplatz" (seat), "Standort" (site); nl "besparing",
"werkplek", "locatie".

Numbers, per language's convention:

* en: ``1,234.5``; money ``1,234 EUR`` (the amount, then the currency as given)
* de: ``1.234,5``; money ``1.234 €`` (DIN 5008: amount, space, sign; other
  currencies by their code: ``1.234 USD``)
* nl: ``1.234,5``; money ``€ 1.234`` (sign, space, amount; ``USD 1.234``)

One language is *active* at a time (``using(locale)``, set by the report
for the length of a render), so the display code formats and words without
passing a locale through every call; functions also take one explicitly.

Typed numbers (``--price 0,32``): the language's own form is always read
(de ``0,32``, ``1.234,5``; en ``0.32``, ``1,234.5``); the other decimal mark
is read as decimal only where it cannot be a thousands separator (one mark,
not followed by exactly three digits: en ``0,32`` is 0.32, de ``0.32`` is
0.32); anything else (en ``1,2,3``, de ``1.23.4``) is refused.
"""

import contextlib
import csv
import datetime
import functools
import io
import re
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Collection, Dict, Iterator, Mapping, Optional, Set, Tuple

from ..core.errors import UsageError
from ..core.resources import read

LANGS = ("en", "de", "nl")
TRANSLATIONS = "savings/data/translations.csv"  # a resource inside the sunray package
MONTHS = {
    "en": ("January", "February", "March", "April", "May", "June", "July", "August",
           "September", "October", "November", "December"),
    "de": ("Januar", "Februar", "März", "April", "Mai", "Juni", "Juli", "August",
           "September", "Oktober", "November", "Dezember"),
    "nl": ("januari", "februari", "maart", "april", "mei", "juni", "juli", "augustus",
           "september", "oktober", "november", "december"),
}
DATE_FORMS = {"en": "{d} {month} {y}", "de": "{d}. {month} {y}", "nl": "{d} {month} {y}"}
# Currency signs written as signs in de and nl (en keeps the code as given).
SIGNS = {"EUR": "€"}

# Country names in other languages: the translations of Debian's iso-codes
# package (gettext domain iso_3166-1), when the machine has them.
ISO_3166_JSON = "/usr/share/iso-codes/json/iso_3166-1.json"
LOCALE_DIR = "/usr/share/locale"

# English texts looked up in a language that lacks them (see the module doc).
MISSING: Set[Tuple[str, str]] = set()


@dataclass(frozen=True)
class Locale:
    """One language's words and number conventions."""

    lang: str
    decimal: str
    group: str

    def t(self, text: str, **values: object) -> str:
        """``text`` in this language, with ``{name}`` fields filled in."""
        if self.lang != "en":
            translated = catalogue().get(text)
            if translated is None:
                MISSING.add((self.lang, text))
            else:
                text = translated[self.lang]
        return text.format(**values) if values else text

    def number(self, value: Optional[float], decimals: int = 0) -> str:
        """Rounded half up, with this language's separators; '-' for None; no '-0'."""
        if value is None:
            return "-"
        v = float(value)
        if decimals == 0 and abs(v) < 2 ** 52:
            # Whole units, the common case (10,000 sites: 60,000 numbers):
            # int() and the exact remainder round half away from zero as
            # Decimal's ROUND_HALF_UP does, in a tenth of the time.
            whole = int(abs(v))
            whole += abs(v) - whole >= 0.5
            text = f"{-whole if v < 0 and whole else whole:,}"
        else:
            d = Decimal(repr(v)).quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP)
            text = f"{abs(d) if d == 0 else d:,.{decimals}f}"
        if self.decimal == ",":
            text = text.translate(_SWAP)
        return text

    def plain(self, value: float) -> str:
        """An input figure as typed, shortest form (0.5, 24, 1.5; de 0,5)."""
        text = f"{value:g}"
        return text.replace(".", ",") if self.decimal == "," else text

    def money(self, amount: str, currency: Optional[str]) -> str:
        """A formatted amount with its currency, placed as the language places it."""
        if not currency:
            return amount
        if self.lang == "en":
            return f"{amount} {currency}"
        sign = SIGNS.get(currency, currency)
        return f"{sign} {amount}" if self.lang == "nl" else f"{amount} {sign}"

    def currency_heading(self, currency: Optional[str]) -> str:
        """A money column's heading: the sign or code; 'money' when mixed."""
        if not currency:
            return self.t("money")
        return currency if self.lang == "en" else SIGNS.get(currency, currency)

    def date(self, text: str) -> str:
        """An ISO date (2026-11-30) in words; any other text as it is."""
        try:
            day = datetime.datetime.strptime(text, "%Y-%m-%d").date()
        except (TypeError, ValueError):
            return text
        return DATE_FORMS[self.lang].format(d=day.day, month=MONTHS[self.lang][day.month - 1],
                                            y=day.year)

    def parse_number(self, text: str) -> float:
        """A typed number in this language (see the module doc), or ValueError."""
        s = text.strip().replace("\u2212", "-")
        own = _own_pattern(self.decimal, self.group)
        if own.fullmatch(s):
            return float(s.replace(self.group, "").replace(self.decimal, "."))
        other = self.group  # the other convention's decimal mark
        m = re.fullmatch(r"([-+]?\d*)" + re.escape(other) + r"(\d+)", s)
        if m and len(m.group(2)) != 3:
            return float(f"{m.group(1)}.{m.group(2)}")
        raise ValueError(text)

    def number_example(self) -> str:
        """How a number is written here, for error messages."""
        return self.number(1234.5, 1)


@functools.lru_cache(maxsize=None)
def catalogue() -> Dict[str, Dict[str, str]]:
    """{English text: {language: text}} from the translations table, read once."""
    rows = csv.DictReader(io.StringIO(read(TRANSLATIONS).decode("utf-8")))
    return {row["en"]: {lang: row[lang] for lang in LANGS[1:]} for row in rows}


_SWAP = str.maketrans({",": ".", ".": ","})


def _own_pattern(decimal: str, group: str) -> "re.Pattern[str]":
    d, g = re.escape(decimal), re.escape(group)
    return re.compile(rf"[-+]?(\d+|\d{{1,3}}({g}\d{{3}})+)({d}\d+)?|[-+]?{d}\d+")


LOCALES: Dict[str, Locale] = {
    "en": Locale("en", ".", ","),
    "de": Locale("de", ",", "."),
    "nl": Locale("nl", ",", "."),
}
_active = [LOCALES["en"]]


def get(lang: Optional[str], where: str = "--lang") -> Locale:
    """The Locale of ``lang`` (en, de, nl; any case), or a UsageError."""
    if lang is None:
        return LOCALES["en"]
    key = lang.strip().lower() if isinstance(lang, str) else lang
    if key not in LOCALES:
        raise UsageError(f"{where} {lang!r}: unknown language; allowed: {', '.join(LANGS)}")
    return LOCALES[key]


def active() -> Locale:
    """The language being rendered in (en outside ``using``)."""
    return _active[-1]


@contextlib.contextmanager
def using(locale: Locale) -> Iterator[Locale]:
    """Make ``locale`` the active language for the ``with`` block."""
    _active.append(locale)
    try:
        yield locale
    finally:
        _active.pop()


def t(text: str, **values: object) -> str:
    """``text`` in the active language (see Locale.t)."""
    return _active[-1].t(text, **values)


def country(iso3: str, english: str) -> str:
    """The name of country ``iso3`` in the active language: iso-codes'
    translation when the machine has one, else ``english`` (our table's)."""
    lang = _active[-1].lang
    if lang == "en":
        return english
    translation = _iso_translation(lang)
    for name in _iso_names().get(iso3, ()):
        translated = translation.gettext(name)
        if translated != name:
            return translated
    return english


@functools.lru_cache(maxsize=None)
def _iso_names() -> Dict[str, Tuple[str, ...]]:
    """alpha-3 code -> the English names iso-codes translates (common first)."""
    import json

    try:
        with open(ISO_3166_JSON, encoding="utf-8") as f:
            entries = json.load(f).get("3166-1", [])
    except (OSError, ValueError, AttributeError):
        return {}
    names = {}
    for entry in entries:
        if isinstance(entry, dict) and isinstance(entry.get("alpha_3"), str):
            names[entry["alpha_3"]] = tuple(
                entry[key] for key in ("common_name", "name") if isinstance(entry.get(key), str))
    return names


@functools.lru_cache(maxsize=None)
def _iso_translation(lang: str) -> Any:
    import gettext

    return gettext.translation("iso_3166-1", LOCALE_DIR, languages=[lang], fallback=True)


def typed_numbers(flags: Mapping[str, Optional[str]], numeric: Collection[str],
                  locale: Locale) -> Dict[str, Optional[str]]:
    """``flags`` with the numbers among ``numeric`` read in ``locale`` and
    given back in the program's own form (0.32), the others untouched; a
    number the language cannot read is a UsageError naming the flag."""
    out = dict(flags)
    for name in numeric:
        text = out.get(name)
        if text is None:
            continue
        try:
            out[name] = repr(locale.parse_number(str(text)))
        except ValueError:
            flag = "--" + name.replace("_", "-")
            raise UsageError(f"{flag} {text!r}: not a number as {locale.lang} writes it "
                             f"(like {locale.number_example()})") from None
    return out
