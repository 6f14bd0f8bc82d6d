"""The driver's table of settings, as the package derives its keywords from it: every setting is
accepted by its PyAthena keyword (or its key) and reads back from the driver; unknown keywords
and bad values are refused by name."""

from __future__ import annotations

import importlib.metadata
import json
import pathlib

import adbc_driver_manager
import pytest

import adbc_driver_athena
from adbc_driver_athena import _options

TABLE = json.loads((pathlib.Path(_options.__file__).parent / "settings.json").read_text())

SAMPLES = {"text": "x", "flag": True, "count": 60, "seconds": 1.5}
#: How the driver reads each sample back.
READ_BACK = {"text": "x", "flag": "true", "count": "60", "seconds": "1.5"}


def sample(setting):
    """A value the setting takes, and how the driver reads it back (choices: the table's last)."""
    if setting["kind"] in ("choice", "exact"):
        return setting["values"][-1], setting["values"][-1]
    return SAMPLES[setting["kind"]], READ_BACK[setting["kind"]]


@pytest.mark.parametrize("setting", TABLE["settings"], ids=lambda s: s["key"])
def test_every_setting_is_a_keyword_and_reads_back(setting):
    keyword = setting["pyathena"] or setting["key"]
    value, read_back = sample(setting)
    kwargs = _options.database_kwargs(None, None, {keyword: value})
    assert kwargs == {setting["option"]: read_back}
    db = adbc_driver_athena.connect(**{keyword: value})
    try:
        if setting["secret"]:
            with pytest.raises(adbc_driver_manager.Error):
                db.get_option(setting["option"])
        else:
            assert db.get_option(setting["option"]) == read_back
    finally:
        db.close()


def test_enums_follow_the_table():
    assert [o.value for o in adbc_driver_athena.DatabaseOptions] == [s["option"] for s in TABLE["settings"]]
    per_query = {s["option"] for s in TABLE["settings"] if s["per_query"]}
    assert {o.value for o in adbc_driver_athena.StatementOptions} == per_query | {"adbc.athena.last_query_id"}


def test_unknown_keywords_and_bad_values_are_refused_by_name():
    with pytest.raises(TypeError, match=r"unknown keyword argument 'regoin' for an Athena connection; known: .*region_name"):
        _options.database_kwargs(None, None, {"regoin": "us-east-1"})
    with pytest.raises(TypeError, match=r"unload takes True or False, got 'yes'"):
        _options.database_kwargs(None, None, {"unload": "yes"})
    with pytest.raises(TypeError, match=r"result_reuse_minutes takes a whole number, got 1.5"):
        _options.database_kwargs(None, None, {"result_reuse_minutes": 1.5})
    # The driver checks what the package passes on as text.
    with pytest.raises(adbc_driver_manager.ProgrammingError, match=r"adbc.athena.unload_compression takes one of SNAPPY, GZIP, ZSTD, NONE"):
        adbc_driver_athena.connect(db_kwargs={"adbc.athena.unload_compression": "lz4"})
    with pytest.raises(adbc_driver_manager.NotSupportedError, match=r"unknown Athena option \"adbc.athena.nope\""):
        adbc_driver_athena.connect(db_kwargs={"adbc.athena.nope": "1"})


def test_result_reuse_enable_as_pyathena_means_it():
    assert _options.database_kwargs(None, None, {"result_reuse_enable": True}) == {"adbc.athena.result_reuse_minutes": "60"}
    assert _options.database_kwargs(None, None, {"result_reuse_enable": False, "result_reuse_minutes": 5}) == {
        "adbc.athena.result_reuse_minutes": "0"
    }


def test_the_version_is_the_installed_packages():
    assert adbc_driver_athena.__version__ == importlib.metadata.version("adbc-driver-athena")
