"""Option keys of the driver and the PyAthena keywords they mirror."""

from __future__ import annotations

import enum
import typing

PREFIX = "adbc.athena."


class DatabaseOptions(enum.Enum):
    """Database option keys (``db_kwargs``), each with the PyAthena keyword it mirrors."""

    REGION = PREFIX + "region"
    S3_STAGING_DIR = PREFIX + "s3_staging_dir"
    WORK_GROUP = PREFIX + "work_group"
    SCHEMA = PREFIX + "schema"
    CATALOG = PREFIX + "catalog"
    ENDPOINT_URL = PREFIX + "endpoint_url"
    UNLOAD = PREFIX + "unload"
    RESULT_REUSE_MINUTES = PREFIX + "result_reuse_minutes"
    QUERY_TIMEOUT_SECONDS = PREFIX + "query_timeout_seconds"
    POLL_INTERVAL_MS = PREFIX + "poll_interval_ms"
    POLL_INITIAL_MS = PREFIX + "poll_initial_ms"
    ACCESS_KEY_ID = PREFIX + "access_key_id"
    SECRET_ACCESS_KEY = PREFIX + "secret_access_key"
    SESSION_TOKEN = PREFIX + "session_token"
    PROFILE = PREFIX + "profile"
    ROLE_ARN = PREFIX + "role_arn"
    ROLE_SESSION_NAME = PREFIX + "role_session_name"
    EXTERNAL_ID = PREFIX + "external_id"
    DURATION_SECONDS = PREFIX + "duration_seconds"


class StatementOptions(enum.Enum):
    """Statement option keys (``cursor(adbc_stmt_kwargs=...)``)."""

    UNLOAD = PREFIX + "unload"
    RESULT_REUSE_MINUTES = PREFIX + "result_reuse_minutes"
    QUERY_TIMEOUT_SECONDS = PREFIX + "query_timeout_seconds"
    #: Readable: the QueryExecutionId of the statement's last query.
    LAST_QUERY_ID = PREFIX + "last_query_id"


def _text(value: typing.Any) -> str:
    return str(value)


def _flag(value: typing.Any) -> str:
    if not isinstance(value, bool):
        raise TypeError(f"expected True or False, got {value!r}")
    return "true" if value else "false"


def _seconds_to_ms(value: typing.Any) -> str:
    seconds = float(value)
    if seconds <= 0:
        raise ValueError(f"poll_interval must be positive, got {value!r}")
    return str(max(1, round(seconds * 1000)))


#: PyAthena keyword -> (database option, conversion).
PYATHENA_KEYWORDS: typing.Dict[str, typing.Tuple[DatabaseOptions, typing.Callable[[typing.Any], str]]] = {
    "s3_staging_dir": (DatabaseOptions.S3_STAGING_DIR, _text),
    "region_name": (DatabaseOptions.REGION, _text),
    "work_group": (DatabaseOptions.WORK_GROUP, _text),
    "schema_name": (DatabaseOptions.SCHEMA, _text),
    "catalog_name": (DatabaseOptions.CATALOG, _text),
    "endpoint_url": (DatabaseOptions.ENDPOINT_URL, _text),
    "unload": (DatabaseOptions.UNLOAD, _flag),
    "result_reuse_minutes": (DatabaseOptions.RESULT_REUSE_MINUTES, _text),
    "poll_interval": (DatabaseOptions.POLL_INTERVAL_MS, _seconds_to_ms),
    "aws_access_key_id": (DatabaseOptions.ACCESS_KEY_ID, _text),
    "aws_secret_access_key": (DatabaseOptions.SECRET_ACCESS_KEY, _text),
    "aws_session_token": (DatabaseOptions.SESSION_TOKEN, _text),
    "profile_name": (DatabaseOptions.PROFILE, _text),
    "role_arn": (DatabaseOptions.ROLE_ARN, _text),
    "role_session_name": (DatabaseOptions.ROLE_SESSION_NAME, _text),
    "external_id": (DatabaseOptions.EXTERNAL_ID, _text),
    "duration_seconds": (DatabaseOptions.DURATION_SECONDS, _text),
    # Not PyAthena's, but a setting of ours worth a keyword.
    "query_timeout_seconds": (DatabaseOptions.QUERY_TIMEOUT_SECONDS, _text),
}

#: PyAthena keywords that need nothing here: every cursor gives Arrow, and adbc_driver_manager
#: already stops the query on Ctrl-C (StopQueryExecution through the driver's cancel).
IGNORED_KEYWORDS = frozenset({"cursor_class", "kill_on_interrupt"})

#: PyAthena's default age of a reused result when only ``result_reuse_enable`` is given.
DEFAULT_RESULT_REUSE_MINUTES = 60


def database_kwargs(
    uri: typing.Optional[str],
    db_kwargs: typing.Optional[typing.Mapping[str, typing.Any]],
    pyathena_kwargs: typing.Mapping[str, typing.Any],
) -> typing.Dict[str, str]:
    """ADBC database options from a URI, explicit options and PyAthena keywords (in that order,
    later ones winning)."""
    out: typing.Dict[str, str] = {}
    if uri is not None:
        out["uri"] = uri
    for key, value in (db_kwargs or {}).items():
        key = key.value if isinstance(key, enum.Enum) else key
        out[key] = value if isinstance(value, str) else str(value)
    kwargs = dict(pyathena_kwargs)
    reuse_enable = kwargs.pop("result_reuse_enable", None)
    if reuse_enable is True and "result_reuse_minutes" not in kwargs:
        kwargs["result_reuse_minutes"] = DEFAULT_RESULT_REUSE_MINUTES
    elif reuse_enable is False:
        kwargs.pop("result_reuse_minutes", None)
    for name, value in kwargs.items():
        if name in IGNORED_KEYWORDS or value is None:
            continue
        entry = PYATHENA_KEYWORDS.get(name)
        if entry is None:
            known = ", ".join(sorted([*PYATHENA_KEYWORDS, "result_reuse_enable"]))
            raise TypeError(f"unknown keyword argument {name!r} for an Athena connection; known: {known}")
        option, convert = entry
        out[option.value] = convert(value)
    return out
