//! The ADBC objects over athena-arrow: a database holds options, a connection an
//! [`athena_arrow::Connection`] (statements are in [`crate::statement`]). Every call runs on the
//! driver's own tokio runtime, whatever runtime (if any) the calling thread is in.

use std::collections::{BTreeMap, HashSet};

use adbc_core::Optionable;
use adbc_core::error::{Error, Result, Status};
use adbc_core::options::{InfoCode, ObjectDepth, OptionConnection, OptionDatabase, OptionValue};
use arrow::datatypes::Schema;
use athena_arrow::ConnectionBuilder;

use crate::error::{from_athena, not_implemented};
use crate::objects;
use crate::options::{self, SetOption, boolean, known, not_found, text, unknown};
use crate::runtime::block_on;
use crate::statement::{AthenaStatement, Reader, StreamReader};

/// The ADBC driver (`AdbcDriverAthenaInit`).
#[derive(Debug, Default)]
pub struct AthenaDriver;

impl adbc_core::Driver for AthenaDriver {
    type DatabaseType = AthenaDatabase;

    fn new_database(&mut self) -> Result<AthenaDatabase> {
        crate::runtime::init_logging();
        Ok(AthenaDatabase::default())
    }

    fn new_database_with_opts(&mut self, opts: impl IntoIterator<Item = (OptionDatabase, OptionValue)>) -> Result<AthenaDatabase> {
        crate::runtime::init_logging();
        let mut db = AthenaDatabase::default();
        for (k, v) in opts {
            db.set_option(k, v)?;
        }
        Ok(db)
    }
}

/// Settings given before connecting (keys of the library's table of settings, checked when set).
#[derive(Debug, Default, Clone)]
pub struct AthenaDatabase {
    options: BTreeMap<String, SetOption>,
}

/// The option text `options` holds for a key, unless it is a secret.
fn readable(options: &BTreeMap<String, SetOption>, name: &str) -> Result<String> {
    match known(name).and_then(athena_arrow::config::options::find) {
        Some(s) if !s.secret => options.get(s.key).map(|o| o.text.clone()).ok_or_else(|| not_found(name)),
        _ => Err(not_found(name)),
    }
}

impl Optionable for AthenaDatabase {
    type Option = OptionDatabase;

    fn set_option(&mut self, key: OptionDatabase, value: OptionValue) -> Result<()> {
        let name = key.as_ref().to_owned();
        // The key is judged before its value: an unknown key is NOT_IMPLEMENTED whatever it holds.
        let Some(short) = known(&name) else { return Err(unknown(&name)) };
        let value = text(&name, value)?;
        if short == "uri" {
            self.options.extend(options::parse_uri(&value)?);
        } else {
            self.options.insert(short.to_owned(), SetOption::new(short, value)?);
        }
        Ok(())
    }

    fn get_option_string(&self, key: OptionDatabase) -> Result<String> {
        readable(&self.options, key.as_ref())
    }

    fn get_option_bytes(&self, key: OptionDatabase) -> Result<Vec<u8>> {
        Err(not_found(key.as_ref()))
    }

    fn get_option_int(&self, key: OptionDatabase) -> Result<i64> {
        self.get_option_string(key.clone())?.trim().parse().map_err(|_| not_found(key.as_ref()))
    }

    fn get_option_double(&self, key: OptionDatabase) -> Result<f64> {
        self.get_option_string(key.clone())?.trim().parse().map_err(|_| not_found(key.as_ref()))
    }
}

impl adbc_core::Database for AthenaDatabase {
    type ConnectionType = AthenaConnection;

    fn new_connection(&self) -> Result<AthenaConnection> {
        self.new_connection_with_opts(std::iter::empty())
    }

    fn new_connection_with_opts(&self, opts: impl IntoIterator<Item = (OptionConnection, OptionValue)>) -> Result<AthenaConnection> {
        let builder = options::builder(&self.options);
        let conn = block_on(builder.clone().build()).map_err(from_athena)?;
        let mut c = AthenaConnection { builder, conn, options: self.options.clone() };
        for (k, v) in opts {
            c.set_option(k, v)?;
        }
        Ok(c)
    }
}

/// An open connection.
pub struct AthenaConnection {
    builder: ConnectionBuilder,
    conn: athena_arrow::Connection,
    options: BTreeMap<String, SetOption>,
}

/// Athena's name of its default data catalog, as every answer of the driver gives it.
const DEFAULT_CATALOG: &str = "AwsDataCatalog";

impl AthenaConnection {
    /// Rebuilds the connection after its default catalog or schema changed.
    fn rebuild(&mut self, builder: ConnectionBuilder) -> Result<()> {
        self.conn = block_on(builder.clone().build()).map_err(from_athena)?;
        self.builder = builder;
        Ok(())
    }

    fn catalog(&self) -> String {
        self.options.get("catalog").map(|o| o.text.clone()).unwrap_or_else(|| DEFAULT_CATALOG.into())
    }

    fn schema(&self) -> String {
        self.options.get("schema").map(|o| o.text.clone()).unwrap_or_else(|| "default".into())
    }
}

impl Optionable for AthenaConnection {
    type Option = OptionConnection;

    fn set_option(&mut self, key: OptionConnection, value: OptionValue) -> Result<()> {
        let name = key.as_ref().to_owned();
        if !matches!(
            key,
            OptionConnection::AutoCommit | OptionConnection::ReadOnly | OptionConnection::CurrentCatalog | OptionConnection::CurrentSchema
        ) {
            return Err(unknown(&name));
        }
        let value = text(&name, value)?;
        match key {
            OptionConnection::AutoCommit => {
                if !boolean(&name, &value)? {
                    return Err(not_implemented("Athena has no transactions: autocommit cannot be turned off"));
                }
            }
            OptionConnection::ReadOnly => {
                if boolean(&name, &value)? {
                    return Err(not_implemented(
                        "adbc.connection.readonly: Athena has no read-only connections; give the connection's credentials an IAM policy that allows only reads",
                    ));
                }
            }
            OptionConnection::CurrentCatalog => {
                let option = SetOption::new("catalog", value)?;
                let b = self.builder.clone().with_parsed_option(option.value.clone());
                self.rebuild(b)?;
                self.options.insert("catalog".into(), option);
            }
            OptionConnection::CurrentSchema => {
                if !block_on(self.conn.database_exists(&self.catalog(), &value)).map_err(from_athena)? {
                    return Err(Error::with_message_and_status(
                        format!("{name}: database {value:?} does not exist in catalog {}", self.catalog()),
                        Status::NotFound,
                    ));
                }
                let option = SetOption::new("schema", value)?;
                let b = self.builder.clone().with_parsed_option(option.value.clone());
                self.rebuild(b)?;
                self.options.insert("schema".into(), option);
            }
            _ => return Err(unknown(&name)),
        }
        Ok(())
    }

    fn get_option_string(&self, key: OptionConnection) -> Result<String> {
        match key {
            OptionConnection::AutoCommit => Ok("true".into()),
            OptionConnection::ReadOnly => Ok("false".into()),
            OptionConnection::CurrentCatalog => Ok(self.catalog()),
            OptionConnection::CurrentSchema => Ok(self.schema()),
            other => readable(&self.options, other.as_ref()),
        }
    }

    fn get_option_bytes(&self, key: OptionConnection) -> Result<Vec<u8>> {
        Err(not_found(key.as_ref()))
    }

    fn get_option_int(&self, key: OptionConnection) -> Result<i64> {
        self.get_option_string(key.clone())?.trim().parse().map_err(|_| not_found(key.as_ref()))
    }

    fn get_option_double(&self, key: OptionConnection) -> Result<f64> {
        self.get_option_string(key.clone())?.trim().parse().map_err(|_| not_found(key.as_ref()))
    }
}

impl adbc_core::Connection for AthenaConnection {
    type StatementType = AthenaStatement;

    fn new_statement(&mut self) -> Result<AthenaStatement> {
        Ok(AthenaStatement::new(self.conn.clone()))
    }

    /// The connection's own calls (catalog listings, schemas, partitions opened) are single
    /// API round trips with the SDK's timeouts: there is nothing of the connection's to stop.
    fn cancel(&mut self) -> Result<()> {
        Err(not_implemented(
            "AdbcConnectionCancel: the connection's calls are single Athena API round trips and cannot be stopped; cancel queries through their statement (AdbcStatementCancel)",
        ))
    }

    fn get_info(&self, codes: Option<HashSet<InfoCode>>) -> Result<Reader> {
        Ok(Box::new(objects::info(codes)?))
    }

    fn get_objects(
        &self,
        depth: ObjectDepth,
        catalog: Option<&str>,
        db_schema: Option<&str>,
        table_name: Option<&str>,
        table_type: Option<Vec<&str>>,
        column_name: Option<&str>,
    ) -> Result<Reader> {
        let filter = objects::Filter { catalog, db_schema, table_name, table_type, column_name };
        Ok(Box::new(block_on(objects::objects(&self.conn, depth, &filter))?))
    }

    fn get_table_schema(&self, catalog: Option<&str>, db_schema: Option<&str>, table_name: &str) -> Result<Schema> {
        let (catalog, schema) =
            (catalog.map_or_else(|| self.catalog(), str::to_owned), db_schema.map_or_else(|| self.schema(), str::to_owned));
        let s = block_on(self.conn.table_schema_in(&catalog, &schema, table_name)).map_err(from_athena)?;
        Ok(s.as_ref().clone())
    }

    fn get_table_types(&self) -> Result<Reader> {
        Ok(Box::new(objects::table_types()?))
    }

    fn get_statistic_names(&self) -> Result<Reader> {
        Err(not_implemented("Athena gives no table statistics through this driver"))
    }

    fn get_statistics(&self, _: Option<&str>, _: Option<&str>, _: Option<&str>, _: bool) -> Result<Reader> {
        Err(not_implemented("Athena gives no table statistics through this driver"))
    }

    fn commit(&mut self) -> Result<()> {
        Err(not_implemented("Athena has no transactions: nothing to commit"))
    }

    fn rollback(&mut self) -> Result<()> {
        Err(not_implemented("Athena has no transactions: nothing to roll back"))
    }

    fn read_partition(&self, partition: impl AsRef<[u8]>) -> Result<Reader> {
        let stream = block_on(self.conn.read_partition_bytes(partition.as_ref())).map_err(from_athena)?;
        Ok(Box::new(StreamReader::new(stream)))
    }
}
