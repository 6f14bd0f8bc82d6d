"""Quirks of Amazon Athena (engine version 3) for the ADBC validation suite, against the
athena-arrow driver and its local endpoint (ATHENA_URI)."""

from pathlib import Path

from adbc_drivers_validation import model


class AthenaQuirks(model.DriverQuirks):
    name = "athena"
    driver = "adbc_driver_athena"
    driver_name = "ADBC Driver for Amazon Athena (athena-arrow)"
    vendor_name = "Amazon Athena"
    vendor_version = "Athena engine version 3"
    short_version = "3"
    features = model.DriverFeatures(
        connection_get_table_schema=True,
        connection_set_current_catalog=False,
        connection_set_current_schema=True,
        connection_transactions=False,
        get_objects=True,
        get_objects_constraints_check=False,
        get_objects_constraints_foreign=False,
        get_objects_constraints_primary=False,
        get_objects_constraints_unique=False,
        metadata_type_name=False,
        statement_bind=True,
        statement_bulk_ingest=False,
        statement_execute_schema=True,
        statement_get_parameter_schema=False,
        statement_prepare=True,
        statement_rows_affected=True,
        current_catalog="AwsDataCatalog",
        current_schema="default",
        secondary_schema="secondary",
        supported_xdbc_fields=[],
    )
    setup = model.DriverSetup(
        database={"uri": model.FromEnv("ATHENA_URI"), "username": "test", "password": "test"},
        connection={},
        statement={},
    )

    @property
    def queries_paths(self) -> tuple[Path]:
        return (Path(__file__).parent.parent / "queries",)

    def query_override(self, context: str, default: str) -> str:
        # Athena updates and deletes rows only in Iceberg tables.
        if context == "TestStatement.test_rows_affected.create_table":
            return (default + " LOCATION 's3://athena-results/validation-tables/test_rows_affected/'"
                    " TBLPROPERTIES ('table_type'='ICEBERG')")
        return default

    def bind_parameter(self, index: int) -> str:
        return "?"

    def is_table_not_found(self, table_name, error: Exception) -> bool:
        text = str(error)
        return "TABLE_NOT_FOUND" in text and (table_name is None or table_name.lower() in text.lower())

    def quote_one_identifier(self, identifier: str) -> str:
        return '"' + identifier.replace('"', '""') + '"'

    def split_statement(self, statement: str) -> list[str]:
        out, current, quoted = [], "", False
        for ch in statement:
            if ch == "'":
                quoted = not quoted
            if ch == ";" and not quoted:
                if current.strip():
                    out.append(current.strip())
                current = ""
            else:
                current += ch
        if current.strip():
            out.append(current.strip())
        return out


QUIRKS = [AthenaQuirks()]
