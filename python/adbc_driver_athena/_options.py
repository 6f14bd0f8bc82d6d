"""Option keys of the driver and the PyAthena keywords they mirror.

Everything here comes from ``settings.json``, which the driver's own table of settings writes
(a Rust test fails when the file is out of date): the keys, their kinds, the PyAthena keyword of
each and which ones are per-query.
"""

from __future__ import annotations

import enum
import json
import pathlib
import typing

_TABLE = json.loads((pathlib.Path(__file__).parent / "settings.json").read_text(encoding="utf-8"))

PREFIX: str = _TABLE["prefix"]

#: Database option keys (``db_kwargs``), one per setting of the driver's table.
DatabaseOptions = enum.Enum(  # type: ignore[misc]
    "DatabaseOptions",
    {s["key"].upper(): s["option"] for s in _TABLE["settings"]},
    module=__name__,
)
DatabaseOptions.__doc__ = "Database option keys (``db_kwargs``), one per setting of the driver's table."

#: Statement option keys (``cursor(adbc_stmt_kwargs=...)``): the per-query settings, and the
#: readable ``LAST_QUERY_ID`` (the QueryExecutionId of the statement's last query).
StatementOptions = enum.Enum(  # type: ignore[misc]
    "StatementOptions",
    {**{s["key"].upper(): s["option"] for s in _TABLE["settings"] if s["per_query"]}, "LAST_QUERY_ID": _TABLE["last_query_id"]},
    module=__name__,
)
StatementOptions.__doc__ = "Statement option keys (``cursor(adbc_stmt_kwargs=...)``) and the readable LAST_QUERY_ID."


def _flag(name: str, value: typing.Any) -> str:
    if not isinstance(value, bool):
        raise TypeError(f"{name} takes True or False, got {value!r}")
    return "true" if value else "false"


def _count(name: str, value: typing.Any) -> str:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} takes a whole number, got {value!r}")
    return str(value)


def _seconds(name: str, value: typing.Any) -> str:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{name} takes a number of seconds, got {value!r}")
    return repr(float(value))


def _text(name: str, value: typing.Any) -> str:
    return value if isinstance(value, str) else str(value)


_CONVERT: typing.Dict[str, typing.Callable[[str, typing.Any], str]] = {
    "flag": _flag,
    "count": _count,
    "seconds": _seconds,
    "text": _text,
    "choice": _text,
    "exact": _text,
}

#: PyAthena keyword (or one of ours: the key itself) -> (database option, conversion to text).
KEYWORDS: typing.Dict[str, typing.Tuple[str, typing.Callable[[str, typing.Any], str]]] = {}
for _s in _TABLE["settings"]:
    for _name in {_s["pyathena"] or _s["key"], _s["key"]}:
        KEYWORDS[_name] = (_s["option"], _CONVERT[_s["kind"]])

#: PyAthena keywords this package refuses, with what to use instead.
REFUSED_KEYWORDS = {
    "cursor_class": (
        "cursor_class is not supported: every cursor of adbc_driver_athena gives rows (fetchone, "
        "fetchall: tuples) and Arrow (fetch_arrow_table, fetch_record_batch), and pandas or Polars "
        "(fetch_df, fetch_polars); for rows as dicts, zip cursor.description's names with each row"
    ),
}

#: PyAthena's default age of a reused result when only ``result_reuse_enable`` is given.
DEFAULT_RESULT_REUSE_MINUTES = 60


def option_text(value: typing.Any) -> str:
    """An option value as the driver takes it (booleans as ``true``/``false``)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return value if isinstance(value, str) else str(value)


def database_kwargs(
    uri: typing.Optional[str],
    db_kwargs: typing.Optional[typing.Mapping[typing.Any, typing.Any]],
    pyathena_kwargs: typing.Mapping[str, typing.Any],
) -> typing.Dict[str, str]:
    """ADBC database options from a URI, explicit options and PyAthena keywords (in that order,
    later ones winning)."""
    out: typing.Dict[str, str] = {}
    if uri is not None:
        out["uri"] = uri
    for key, value in (db_kwargs or {}).items():
        out[key.value if isinstance(key, enum.Enum) else key] = option_text(value)
    kwargs = dict(pyathena_kwargs)
    reuse_enable = kwargs.pop("result_reuse_enable", None)
    if reuse_enable is True and "result_reuse_minutes" not in kwargs:
        kwargs["result_reuse_minutes"] = DEFAULT_RESULT_REUSE_MINUTES
    elif reuse_enable is False:
        kwargs["result_reuse_minutes"] = 0
    for name, value in kwargs.items():
        if name in REFUSED_KEYWORDS:
            raise TypeError(REFUSED_KEYWORDS[name])
        if value is None:
            continue
        entry = KEYWORDS.get(name)
        if entry is None:
            known = ", ".join(sorted([*KEYWORDS, "result_reuse_enable"]))
            raise TypeError(f"unknown keyword argument {name!r} for an Athena connection; known: {known}")
        option, convert = entry
        out[option] = convert(name, value)
    return out


def text_options(options: typing.Mapping[str, str]) -> typing.Dict[str, str]:
    """ADBC database options from text values keyed by PyAthena keyword or the table's key (as
    Spark hands its reader options over): the driver parses and checks each text."""
    out: typing.Dict[str, str] = {}
    for name, value in options.items():
        entry = KEYWORDS.get(name)
        if entry is None:
            raise TypeError(f"unknown Athena option {name!r}; known: {', '.join(sorted(KEYWORDS))}")
        out[entry[0]] = option_text(value)
    return out


def statement_kwargs(adbc_stmt_kwargs: typing.Optional[typing.Mapping[typing.Any, typing.Any]]) -> typing.Optional[typing.Dict[str, str]]:
    """Statement options as the driver takes them (enum keys, booleans as ``true``/``false``)."""
    if not adbc_stmt_kwargs:
        return None
    return {(k.value if isinstance(k, enum.Enum) else k): option_text(v) for k, v in adbc_stmt_kwargs.items()}
