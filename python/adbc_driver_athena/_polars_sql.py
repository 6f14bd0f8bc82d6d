"""A Polars predicate in Athena's SQL, read from the expression's serialized form (never from its
printed text): the conjuncts both engines evaluate alike become the WHERE of the query Athena
runs; the rest stays with Polars (the scan applies the whole predicate to what it reads, so a
filter not translated costs speed, never correctness).

Translated: comparisons (``== != < <= > >=``), ``is_in``, ``is_null``/``is_not_null``, ``&``,
``|``, ``~``, and a boolean column on its own, on columns against literals of integer, decimal,
string, date and boolean types. Refused (kept by Polars): floats and timestamps (rounding and
zones differ), NULL literals, ``eq_missing``, ``is_in`` with ``nulls_equal``, casts, functions,
arithmetic, and anything else."""

from __future__ import annotations

import datetime
import decimal
import json
import typing

#: Polars' comparison operators -> SQL's (and the same with the operands swapped).
_COMPARISONS = {"Eq": "=", "NotEq": "<>", "Lt": "<", "LtEq": "<=", "Gt": ">", "GtEq": ">="}
_SWAPPED = {"=": "=", "<>": "<>", "<": ">", "<=": ">=", ">": "<", ">=": "<="}
_INT_TYPES = ("Int8", "Int16", "Int32", "Int64", "UInt8", "UInt16", "UInt32", "UInt64")
_EPOCH = datetime.date(1970, 1, 1)


class Refused(Exception):
    """The expression (or this part of it) has no translation both engines read alike."""


def quote(name: str) -> str:
    """An SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


def _string(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _int(value: int) -> str:
    if not -(2**63) <= value < 2**63:
        raise Refused(f"integer {value} is outside BIGINT")
    return str(value)


def _scalar_literal(value: typing.Any) -> str:
    """A Python value (from an ``is_in`` list) as an SQL literal."""
    if value is None:
        raise Refused("NULL in a list")
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return _int(value)
    if isinstance(value, str):
        return _string(value)
    if isinstance(value, decimal.Decimal):
        return f"DECIMAL '{format(value, 'f')}'"
    if isinstance(value, datetime.datetime):
        raise Refused("timestamps are kept by Polars")
    if isinstance(value, datetime.date):
        return f"DATE '{value.isoformat()}'"
    raise Refused(f"a literal of type {type(value).__name__}")


def _literal(node: typing.Mapping[str, typing.Any]) -> str:
    """A ``Literal`` node as an SQL literal."""
    if "Dyn" in node:
        (kind, value), = node["Dyn"].items()
        if kind == "Int":
            return _int(value)
        raise Refused(f"a literal of kind {kind}")
    if "Scalar" not in node:
        raise Refused("a literal of unknown form")
    (kind, value), = node["Scalar"].items()
    if kind in _INT_TYPES:
        return _int(value)
    if kind == "String":
        return _string(value)
    if kind == "Boolean":
        return "true" if value else "false"
    if kind == "Date":
        return f"DATE '{(_EPOCH + datetime.timedelta(days=value)).isoformat()}'"
    if kind == "Decimal":
        mantissa, _precision, scale = value
        return f"DECIMAL '{format(decimal.Decimal(mantissa).scaleb(-scale), 'f')}'"
    raise Refused(f"a literal of type {kind}")


def _list_literal(node: typing.Mapping[str, typing.Any]) -> typing.List[str]:
    """The values of an ``is_in`` list (Arrow IPC bytes in the serialized form) as SQL literals."""
    import pyarrow as pa

    try:
        raw = node["Scalar"]["List"]
    except (KeyError, TypeError):
        raise Refused("is_in without a list literal") from None
    table = pa.ipc.open_stream(bytes(raw)).read_all()
    values = table.column(0).to_pylist()
    if not values:
        raise Refused("is_in an empty list")
    return [_scalar_literal(v) for v in values]


def _column(node: typing.Any) -> str:
    if isinstance(node, dict) and isinstance(node.get("Column"), str):
        return node["Column"]
    raise Refused("not a column")


def _sql(node: typing.Any, booleans: typing.Container[str]) -> str:
    """`node` in SQL, or `Refused`."""
    if not isinstance(node, dict) or len(node) != 1:
        raise Refused("an expression of unknown form")
    (kind, body), = node.items()
    if kind == "Column":
        if body in booleans:
            return f"({quote(body)})"
        raise Refused("a column that is not boolean, used as a condition")
    if kind == "BinaryExpr":
        op = body["op"]
        if op in ("And", "Or"):
            return f"({_sql(body['left'], booleans)} {op.upper()} {_sql(body['right'], booleans)})"
        if op not in _COMPARISONS:
            raise Refused(f"the operator {op}")
        left, right = body["left"], body["right"]
        if "Column" in left and "Literal" in right:
            return f"({quote(_column(left))} {_COMPARISONS[op]} {_literal(right['Literal'])})"
        if "Literal" in left and "Column" in right:
            return f"({quote(_column(right))} {_SWAPPED[_COMPARISONS[op]]} {_literal(left['Literal'])})"
        raise Refused("a comparison that is not of a column with a literal")
    if kind == "Function":
        function, inputs = body.get("function"), body.get("input", [])
        boolean = function.get("Boolean") if isinstance(function, dict) else None
        if boolean == "IsNull" and len(inputs) == 1:
            return f"({quote(_column(inputs[0]))} IS NULL)"
        if boolean == "IsNotNull" and len(inputs) == 1:
            return f"({quote(_column(inputs[0]))} IS NOT NULL)"
        if boolean == "Not" and len(inputs) == 1:
            return f"(NOT {_sql(inputs[0], booleans)})"
        if isinstance(boolean, dict) and "IsIn" in boolean and len(inputs) == 2:
            if boolean["IsIn"].get("nulls_equal"):
                raise Refused("is_in with nulls_equal")
            values = _list_literal(inputs[1].get("Literal", {}))
            return f"({quote(_column(inputs[0]))} IN ({', '.join(values)}))"
        raise Refused(f"the function {json.dumps(function)}")
    raise Refused(f"an expression of kind {kind}")


def _conjuncts(node: typing.Any) -> typing.List[typing.Any]:
    """The parts of a top-level ``&`` chain."""
    if isinstance(node, dict) and "BinaryExpr" in node and node["BinaryExpr"].get("op") == "And":
        return _conjuncts(node["BinaryExpr"]["left"]) + _conjuncts(node["BinaryExpr"]["right"])
    return [node]


def where(serialized: str, booleans: typing.Container[str] = ()) -> typing.Tuple[typing.Optional[str], bool]:
    """The WHERE (without the keyword) for a predicate serialized as JSON
    (``expr.meta.serialize(format="json")``), from the parts of its top-level ``&`` that
    translate, and whether all of it did. `booleans`: the names of the boolean columns."""
    node = json.loads(serialized)
    parts, whole = [], True
    for conjunct in _conjuncts(node):
        try:
            parts.append(_sql(conjunct, booleans))
        except Refused:
            whole = False
    return (" AND ".join(parts) if parts else None), whole
