"""Step one of a savings run: a proposal read into sites, from presets,
settings, a YAML or JSON file and flags (``evaluate`` computes them, ``render``
formats them, ``job`` glues the three).

Every site's values are layered, later winning:

1. the preset (``home`` or ``office``; the site's ``preset:``, else the
   file's, else ``sunray.savings.preset``; ``--preset`` wins over all),
2. ``sunray.savings.defaults`` from Invoke's configuration,
3. the proposal file's ``defaults:``,
4. the site's own entry under ``sites:``,
5. command-line flags (a what-if: they apply to every site).

Inputs no preset sets start from ``model.DEFAULTS``. Every Site keeps where
each of its inputs came from, so the report can list inputs and defaults
with their sources. ``servers:`` (file) or ``--servers`` says whether each
site buys whole servers of its own (``per-site``, the default) or the sites
share a pool of whole servers, each carrying its seats' share (``shared``).
``scenarios:`` names variants of the inputs for every site (``scenarios``).
A JSON proposal is read with json's parser (JSON is YAML, and 100x faster).

A layer that gives ``country`` drops a lower layer's ``g_per_kwh`` and the
other way round; one layer giving both is an error. Every value is checked
where it is read, so an error names the flag or the file, site and key.
"""

import datetime
import math
from pathlib import Path
from typing import Any, Collection, Dict, List, Mapping, Optional, Tuple, Union

from ..core.errors import UsageError
from ..core.safeio import stat_input
from . import carbon, model

TOP_KEYS = ("title", "customer", "prepared_by", "date", "preset", "servers", "defaults",
            "scenarios", "sites")
MAX_SCENARIOS = 6
SERVER_MODES = ("per-site", "shared")
MAX_PROPOSAL_BYTES = 64 * 1024 * 1024
# Values with aliases written out: 10,000 sites are about 100,000.
MAX_PROPOSAL_VALUES = 5_000_000
DEFAULT_TITLE = "Sun Ray thin clients: energy, money and CO2e compared"
# The source of the seats of a run without --seats (one full server's worth).
ASSUMED_SEATS = "assumed"

PathLike = Union[str, Path]
# One layer of inputs: {field: value} and {field: where it came from}.
_Layer = Tuple[Dict[str, Any], Dict[str, str]]


def _check_preset(value: Any, where: str) -> str:
    if value not in model.PRESETS:
        raise UsageError(f"{where} = {value!r}: unknown preset; allowed: "
                         f"{', '.join(model.PRESETS)}")
    return value


def _check_servers(value: Any, where: str) -> str:
    if value not in SERVER_MODES:
        raise UsageError(f"{where} = {value!r}: allowed: {', '.join(SERVER_MODES)}")
    return value


def _layer(mapping: Any, where: str, allowed: Collection[str]) -> _Layer:
    """Check one mapping of input values; returns {field: value} and origins."""
    if not isinstance(mapping, dict):
        raise UsageError(f"{where}: expected a mapping of keys to values, got "
                         f"{type(mapping).__name__}")
    values, origin = {}, {}
    for key, value in mapping.items():
        name = key.replace("-", "_") if isinstance(key, str) else key
        if name not in allowed:
            raise UsageError(f"{where}: unknown key {key!r}; allowed: {', '.join(allowed)}")
        here = f"{where}.{key}"
        if name == "name":
            value = model.check_name(value, here)
        elif name == "preset":
            value = _check_preset(value, here)
        else:
            value = model.check(name, value, here)
        values[name] = value
        origin[name] = here
    if "country" in values and "g_per_kwh" in values:
        raise UsageError(f"{where}: give country or g_per_kwh, not both")
    return values, origin


def _merge(values: Dict[str, Any], origin: Dict[str, str], layer: _Layer) -> None:
    new_values, new_origin = layer
    if "country" in new_values:
        values.pop("g_per_kwh", None)
    if "g_per_kwh" in new_values:
        values.pop("country", None)
    values.update(new_values)
    origin.update(new_origin)


def _build(values: Dict[str, Any], origin: Dict[str, str], kinds: Dict[str, str]) -> model.Site:
    """A Site from merged values: country resolved, cross-field rules checked."""
    if values["hours_after"] > values["hours_before"]:
        raise UsageError(
            f"{origin['hours_after']} = {values['hours_after']!r}: the residual desktop "
            f"use cannot exceed the use before ({origin['hours_before']} = "
            f"{values['hours_before']!r}); allowed: 0..{values['hours_before']:g} h/day")
    standby = values.get("thin_client_standby_hours")
    used = values["thin_client_hours"] * values["days"]
    if standby is not None and standby + used > 8784:
        raise UsageError(
            f"{origin['thin_client_standby_hours']} = {standby:g}: with {used:g} h of use a "
            f"year ({origin['thin_client_hours']} x {origin['days']}) a year has "
            f"{max(8784 - used, 0):g} h left; allowed: 0..{max(8784 - used, 0):g} h/year")
    code = values.pop("country", None)
    if code is not None:
        figure = carbon.lookup(code, origin["country"])
        values.update(g_per_kwh=figure.g_per_kwh, country=figure.iso3,
                      country_name=figure.country, country_year=figure.year)
    return model.Site(**values, origin=kinds)


# Numbers as a proposal means them: decimal only (YAML 1.1 reads ``0x10`` as
# 16 and ``010`` as 8: seats nobody typed), and an exponent without a dot or
# sign (``1e12``, a YAML 1.2 float) is a number, so it is refused as out of
# range rather than as text.
_INT = r"^[-+]?(?:0|[1-9][0-9_]*)$"
_FLOAT = (r"^(?:[-+]?(?:[0-9][0-9_]*(?:\.[0-9_]*)?|\.[0-9_]+)(?:[eE][-+]?[0-9]+)?"
          r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$")
_DROPPED = ("tag:yaml.org,2002:timestamp", "tag:yaml.org,2002:int", "tag:yaml.org,2002:float")


def _loader() -> Any:
    """A safe loader (libyaml's when PyYAML has it: 10x faster) with dates
    left as text (``date: 2026-13-45`` must be our error naming the key, not
    a ValueError from inside the parser) and numbers as above."""
    import re

    from ..core.yamlload import yaml_module

    yaml = yaml_module()
    base = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

    class Loader(base):  # type: ignore[valid-type,misc]
        pass

    resolvers = {first: [(tag, regexp) for tag, regexp in found if tag not in _DROPPED]
                 for first, found in base.yaml_implicit_resolvers.items()}
    for tag, pattern, firsts in (("tag:yaml.org,2002:int", _INT, "-+0123456789"),
                                 ("tag:yaml.org,2002:float", _FLOAT, "-+0123456789.")):
        regexp = re.compile(pattern)
        for first in firsts:  # int before float: "12" is an int
            resolvers.setdefault(first, []).append((tag, regexp))
    Loader.yaml_implicit_resolvers = resolvers
    return Loader


def read_proposal(path: PathLike) -> Dict[str, Any]:
    """The parsed YAML proposal file (a mapping), or a UsageError. Read with
    the bounds of every YAML file we take (sunray.core.yamlload): a size, a count
    of values with aliases written out, a nesting depth."""
    from ..core.yamlload import load_bounded_yaml

    p = Path(path)
    label = f"--config {path}"
    st = stat_input(p, label)
    if st.st_size > MAX_PROPOSAL_BYTES:
        raise UsageError(f"{label}: larger than {MAX_PROPOSAL_BYTES // 2**20} MiB")
    try:
        raw = p.read_bytes()
    except OSError as e:
        raise UsageError(f"{label}: {e.strerror}") from None
    if raw.lstrip().startswith(b"{"):
        # JSON is YAML too, and json's C parser reads 10,000 sites 100x faster;
        # on a JSON error the YAML parser below gives its own message.
        import json

        from ..core.yamlload import unique_keys

        try:
            return _mapping(json.loads(raw.decode("utf-8"), object_pairs_hook=unique_keys), path)
        except ValueError:  # UnicodeDecodeError and a duplicate key (named with its line below) included
            pass
        except RecursionError:  # json's parser recurses once per level
            raise UsageError(f"{label}: nested too deeply") from None
    data = load_bounded_yaml(raw, label, max_bytes=MAX_PROPOSAL_BYTES,
                             max_nodes=MAX_PROPOSAL_VALUES, loader=_loader())
    return _mapping(data, path)


def _mapping(data: Any, path: PathLike) -> Dict[str, Any]:
    if data is None:
        raise UsageError(f"--config {path}: the file is empty (or only comments); expected a "
                         "mapping with sites:")
    if not isinstance(data, dict):
        raise UsageError(f"--config {path}: expected a mapping with sites:, got "
                         f"{type(data).__name__}")
    return data


def _meta(data: Dict[str, Any], where: str, key: str, limit: int = 200) -> str:
    value = data.get(key)
    if value is None:
        return ""
    if isinstance(value, (datetime.date, int, float)) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or len(value) > limit or not value.isprintable():
        raise UsageError(f"{where}.{key} = {value!r}: expected printable text of at most "
                         f"{limit} characters")
    return value.strip()


def _scenarios(value: Any, where: str) -> List[Tuple[str, Dict[str, Any]]]:
    """``scenarios:`` as [(name, {field: value})]: inputs every site takes."""
    if value is None:
        return []
    if not isinstance(value, dict) or not 1 <= len(value) <= MAX_SCENARIOS:
        raise UsageError(f"{where}: expected a mapping of 1 to {MAX_SCENARIOS} scenario names "
                         "to inputs, e.g. low: {price: 0.25}")
    keys = tuple(k for k in model.FIELD if k not in ("country", "currency", "seats"))
    named = []
    for name, changes in value.items():
        label = model.check_name(name, f"{where} name")
        if label == "expected":
            raise UsageError(f"{where}.expected: 'expected' is the proposal as given")
        values, _ = _layer(changes, f"{where}.{label}", keys)
        named.append((label, values))
    return named


def _date(data: Dict[str, Any], where: str) -> str:
    """The proposal's date as YYYY-MM-DD ('' when not given)."""
    value = data.get("date")
    if value is None:
        return ""
    text = str(value).strip()
    try:
        datetime.datetime.strptime(text, "%Y-%m-%d")
    except ValueError:
        raise UsageError(f"{where}.date = {value!r}: not a date; allowed: YYYY-MM-DD, "
                         "e.g. 2009-02-01") from None
    return text


def plan(savings_settings: Mapping[str, Any], flags: Mapping[str, Optional[str]],
         proposal_path: Optional[PathLike] = None,
         data: Optional[Dict[str, Any]] = None) -> Tuple[List[model.Site], Dict[str, Any]]:
    """Validated Sites and the proposal's meta (title data, ``servers`` mode,
    ``scenarios`` as [(name, {field: value})]) from every layer.

    ``savings_settings`` is the ``sunray.savings`` section; ``flags`` the
    task's inputs as typed; ``data`` the file at ``proposal_path`` (the
    ``--config`` flag) when already read by read_proposal.
    """
    flags = dict(flags)
    preset_flag = flags.pop("preset", None)
    servers_flag = flags.pop("servers", None)
    title = flags.pop("title", None)
    site_name = flags.pop("site", None)
    # Ordered for messages, hashed for the 10,000 sites' lookups.
    site_keys = dict.fromkeys(tuple(model.FIELD) + ("name", "preset"))
    value_keys = model.FIELD.keys()

    flag_values, flag_origin = {}, {}
    for name, text in flags.items():
        if name not in model.FIELD:
            raise UsageError(f"unknown input {name!r}")
        if text is not None:
            flag_values[name] = model.parse_flag(name, text)
            flag_origin[name] = model.FIELD[name].flag
    if "country" in flag_values and "g_per_kwh" in flag_values:
        raise UsageError("give --country or --g-per-kwh, not both")
    flag_layer = (flag_values, flag_origin)
    if preset_flag is not None:
        _check_preset(preset_flag, "--preset")

    base_preset = _check_preset(savings_settings.get("preset") or "office",
                                "sunray.savings.preset")
    settings_layer = _layer(savings_settings.get("defaults") or {}, "sunray.savings.defaults",
                            value_keys)

    meta: Dict[str, Any] = {"title": "", "customer": "", "prepared_by": "", "date": "",
                            "servers": "per-site"}
    file_layer: _Layer = ({}, {})
    entries: List[Any] = [{}]
    if proposal_path is not None:
        if data is None:
            data = read_proposal(proposal_path)
        where = str(proposal_path)
        unknown = [k for k in data if k not in TOP_KEYS]
        if unknown:
            raise UsageError(f"{where}: unknown key {unknown[0]!r}; allowed: "
                             f"{', '.join(TOP_KEYS)}")
        meta = {k: _meta(data, where, k) for k in meta if k not in ("date", "servers")}
        meta["date"] = _date(data, where)
        meta["servers"] = _check_servers(data.get("servers", "per-site"), f"{where}.servers")
        meta["scenarios"] = _scenarios(data.get("scenarios"), f"{where}.scenarios")
        if data.get("preset") is not None:
            base_preset = _check_preset(data["preset"], f"{where}.preset")
        file_layer = _layer(data.get("defaults") or {}, f"{where}.defaults", value_keys)
        if "sites" in data:
            entries = data["sites"]
            if not isinstance(entries, list) or not entries:
                raise UsageError(f"{where}.sites: expected a non-empty list of sites")
            if site_name is not None:
                raise UsageError("--site names the single site; with --config the file "
                                 "names its sites")
        site_where = f"{where}.sites"
    else:
        site_where = "site"

    sites: List[model.Site] = []
    seen: Dict[str, str] = {}
    default_values = {k: v for k, (v, _) in model.DEFAULTS.items()}
    # The layers under the sites' own, merged once per preset (10,000 sites).
    under_sites: Dict[str, Tuple[Dict[str, Any], Dict[str, str], Dict[str, str]]] = {}
    kinds_by_keys: Dict[Tuple[str, Tuple[str, ...]], Dict[str, str]] = {}
    kinds_by_content: Dict[Tuple[Tuple[str, str], ...], Dict[str, str]] = {}
    for index, entry in enumerate(entries):
        here = f"{site_where}[{index}]"
        site_values, site_origin = _layer(entry, here, site_keys)
        preset = preset_flag or site_values.pop("preset", None) or base_preset
        if preset not in under_sites:
            base: Dict[str, Any] = dict(default_values)
            base_origin = dict.fromkeys(base, "default")
            base.update(model.PRESETS[preset])
            base_origin.update(dict.fromkeys(model.PRESETS[preset], f"preset {preset}"))
            # What the report says of each value's source: the layer, not the line.
            base_kinds = dict(base_origin)
            for layer, kind in ((settings_layer, "sunray.savings.defaults"),
                                (file_layer, "the proposal's defaults")):
                _merge(base, base_origin, layer)
                base_kinds.update(dict.fromkeys(layer[0], kind))
            under_sites[preset] = (base, base_origin, base_kinds)
        base, base_origin, base_kinds = under_sites[preset]
        values, origin = dict(base), dict(base_origin)
        _merge(values, origin, (site_values, site_origin))
        _merge(values, origin, flag_layer)
        # Sites whose values come from the same places share one (read-only)
        # dict of sources, whatever order they give their keys in: the
        # inputs list groups sites by it.
        kinds_key = (preset, tuple(site_values))
        kinds = kinds_by_keys.get(kinds_key)
        if kinds is None:
            kinds = dict(base_kinds)
            kinds.update(dict.fromkeys(site_values, "the proposal's sites"))
            kinds.update(flag_origin)
            kinds = kinds_by_content.setdefault(tuple(kinds.items()), kinds)
            kinds_by_keys[kinds_key] = kinds
        name = values.pop("name", None)
        if name is None and site_name is not None:
            name = model.check_name(site_name, "--site")
        if name is None:
            name = preset if len(entries) == 1 else f"Site {index + 1}"
        if name in seen:
            raise UsageError(f"{here}.name = {name!r}: already used by {seen[name]}; "
                             "site names must be unique")
        seen[name] = here
        values.update(name=name, preset=preset)
        no_seats = origin["seats"].startswith("preset")
        if no_seats and proposal_path is None:
            # A quick run without --seats: one full server's seats (the office
            # preset: 15), not one desktop paying for a whole server.
            values["seats"] = int(math.ceil(values["seats_per_server"] - 1e-9))
            kinds = dict(kinds, seats=ASSUMED_SEATS)
        sites.append(_build(values, origin, kinds))
        if no_seats and proposal_path is not None:
            # A preset's one seat is a single desktop's example, not a site's size.
            raise UsageError(f"{here} ({name!r}): no seats; give seats: for the site, "
                             "under defaults:, or --seats")
    if servers_flag is not None:
        meta["servers"] = _check_servers(servers_flag, "--servers")
    if title is not None:
        meta["title"] = model.check_name(title, "--title")
    meta["title"] = meta["title"] or DEFAULT_TITLE
    meta["date"] = meta["date"] or datetime.date.today().isoformat()
    return sites, meta
