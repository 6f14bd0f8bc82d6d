//! The DataFusion session a query is planned in: the endpoint's catalog as DataFusion's, tables
//! and views looked up only when a query names them, Athena's session settings and UDFs.

use std::path::PathBuf;
use std::sync::Arc;

use arrow::datatypes::SchemaRef;
use datafusion::catalog::{CatalogProvider, SchemaProvider, TableProvider};
use datafusion::datasource::file_format::parquet::ParquetFormat;
use datafusion::datasource::listing::{ListingOptions, ListingTable, ListingTableConfig, ListingTableUrl};
use datafusion::error::DataFusionError;
use datafusion::logical_expr::Expr;
use datafusion::physical_plan::ExecutionPlan;
use datafusion::prelude::{SessionConfig, SessionContext};

use crate::catalog::files::{data_files, discovered_partitions};
use crate::catalog::{CATALOG, Catalog, Table};
use crate::engine::errors::df_failure_plain;
use crate::failure::Failure;
use crate::formats::storage::FileKind;

/// Bytes of Hive text files read while a session planned its tables.
#[derive(Debug, Default)]
pub struct TextBytesRead(pub std::sync::atomic::AtomicU64);

/// Views nested deeper than this are refused (a view reading itself, through others or not).
const MAX_VIEW_DEPTH: usize = 32;

/// A session over `catalog` with `database` as default schema; `depth`: views being planned.
/// `text_bytes` counts the Hive text files read, shared with the sessions that plan its views.
pub fn session_in(catalog: &Arc<Catalog>, database: &str, depth: usize, text_bytes: Arc<TextBytesRead>) -> SessionContext {
    let mut config = SessionConfig::new()
        .with_default_catalog_and_schema(CATALOG, database.to_ascii_lowercase())
        .with_create_default_catalog_and_schema(false)
        .with_batch_size(8192)
        .with_information_schema(true);
    config.options_mut().execution.parquet.schema_force_view_types = false;
    // Athena's session zone: `timestamp with time zone` casts and now() are in UTC.
    config.options_mut().execution.time_zone = Some("UTC".into());
    config.options_mut().sql_parser.enable_ident_normalization = true;
    // A scan without ORDER BY gives a file's rows in file order, as Athena does for one split.
    config.options_mut().optimizer.enable_round_robin_repartition = false;
    let config = config.with_extension(text_bytes.clone());
    let ctx = SessionContext::new_with_config(config);
    ctx.register_udf(crate::engine::udf::athena_json());
    ctx.register_udf(crate::engine::udf::athena_varchar());
    ctx.register_udf(crate::engine::udf::json_format());
    ctx.register_udf(crate::engine::udf::athena_like_pattern());
    ctx.register_udf(crate::engine::duckdb::typed_udf());
    ctx.register_udf(crate::engine::duckdb::hugeint_udf());
    ctx.register_udf(crate::engine::duckdb::blob_udf());
    for f in crate::engine::binary_functions::binary_functions() {
        ctx.register_udf(f);
    }
    for f in crate::engine::udf::json_functions() {
        ctx.register_udf(f);
    }
    ctx.register_catalog(CATALOG, Arc::new(LazyCatalog { catalog: catalog.clone(), depth, text_bytes }));
    ctx
}

/// The endpoint's catalog as DataFusion sees it: databases and tables read from the catalog
/// when a query names them, never all up front.
#[derive(Debug)]
struct LazyCatalog {
    catalog: Arc<Catalog>,
    depth: usize,
    text_bytes: Arc<TextBytesRead>,
}

impl CatalogProvider for LazyCatalog {
    fn schema_names(&self) -> Vec<String> {
        self.catalog.databases()
    }

    /// Every name is a schema here, so that reading a table of a database that does not exist
    /// fails as Athena's SCHEMA_NOT_FOUND (not TABLE_NOT_FOUND) when the table is looked up.
    fn schema(&self, name: &str) -> Option<Arc<dyn SchemaProvider>> {
        Some(Arc::new(LazyDatabase {
            catalog: self.catalog.clone(),
            database: name.to_ascii_lowercase(),
            depth: self.depth,
            text_bytes: self.text_bytes.clone(),
        }))
    }
}

#[derive(Debug)]
struct LazyDatabase {
    catalog: Arc<Catalog>,
    database: String,
    depth: usize,
    text_bytes: Arc<TextBytesRead>,
}

#[async_trait::async_trait]
impl SchemaProvider for LazyDatabase {
    fn table_names(&self) -> Vec<String> {
        self.catalog.tables(&self.database).map(|ts| ts.into_iter().map(|t| t.name).collect()).unwrap_or_default()
    }

    async fn table(&self, name: &str) -> datafusion::error::Result<Option<Arc<dyn TableProvider>>> {
        let external = |f: Failure| DataFusionError::External(Box::new(f));
        if !self.catalog.has_database(&self.database) {
            return Err(external(Failure::user("SCHEMA_NOT_FOUND", format!("Schema '{}' does not exist", self.database))));
        }
        let Ok(table) = self.catalog.table(&self.database, name) else { return Ok(None) };
        if !table.is_view() {
            // Hive text, and Parquet tables with sealed (CSE_KMS) files, are read here; other
            // Parquet tables through DataFusion's listing table.
            let sealed = || data_files(&self.catalog.data_dir(&table), true).iter().any(|f| self.catalog.layout().is_sealed(f));
            if table.storage().reader() != FileKind::Parquet || sealed() {
                let (provider, bytes) = text_table(&self.catalog, &table).map_err(external)?;
                self.text_bytes.0.fetch_add(bytes, std::sync::atomic::Ordering::Relaxed);
                return Ok(Some(provider));
            }
            return Ok(Some(listing_table(&self.catalog, &table).await.map_err(external)?));
        }
        // A stale view fails when a query reads it (at its scan), not when it is only looked
        // up: information_schema lists its columns as they were recorded.
        let stale = |message: String| -> datafusion::error::Result<Option<Arc<dyn TableProvider>>> {
            let failure = Failure::user("VIEW_IS_STALE", message);
            match table.data_schema() {
                Ok(schema) => Ok(Some(Arc::new(StaleView { schema, failure }))),
                Err(_) => Err(external(failure)),
            }
        };
        if self.depth >= MAX_VIEW_DEPTH {
            return stale(format!(
                "View '{CATALOG}.{}.{name}' is nested more than {MAX_VIEW_DEPTH} views deep (recursive?)",
                self.database
            ));
        }
        let sql = table.view_sql.clone().unwrap_or_default();
        let statement = match crate::engine::trino::statement(&sql) {
            Ok(statement) => statement,
            Err(e) => return stale(format!("View '{}.{name}': {e}", self.database)),
        };
        // Planned in the view's own database: its unqualified names are its database's tables.
        let ctx = session_in(&self.catalog, &self.database, self.depth + 1, self.text_bytes.clone());
        let plan = ctx.state().statement_to_plan(datafusion::sql::parser::Statement::Statement(Box::new(statement))).await;
        match plan {
            Ok(plan) => Ok(Some(Arc::new(datafusion::catalog::view::ViewTable::new(plan, Some(sql))))),
            Err(e) => stale(format!("View '{CATALOG}.{}.{name}' is stale or in invalid state: {e}", self.database)),
        }
    }

    /// From the catalog alone: information_schema.tables lists tables without reading them.
    async fn table_type(&self, name: &str) -> datafusion::error::Result<Option<datafusion::datasource::TableType>> {
        Ok(self
            .catalog
            .table(&self.database, name)
            .ok()
            .map(|t| if t.is_view() { datafusion::datasource::TableType::View } else { datafusion::datasource::TableType::Base }))
    }

    fn table_exist(&self, name: &str) -> bool {
        self.catalog.table(&self.database, name).is_ok()
    }
}

/// A view that no longer plans: its recorded columns, and VIEW_IS_STALE for any query that
/// reads it.
#[derive(Debug)]
struct StaleView {
    schema: SchemaRef,
    failure: Failure,
}

#[async_trait::async_trait]
impl TableProvider for StaleView {
    fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }

    fn table_type(&self) -> datafusion::datasource::TableType {
        datafusion::datasource::TableType::View
    }

    async fn scan(
        &self,
        _state: &dyn datafusion::catalog::Session,
        _projection: Option<&Vec<usize>>,
        _filters: &[Expr],
        _limit: Option<usize>,
    ) -> datafusion::error::Result<Arc<dyn ExecutionPlan>> {
        Err(DataFusionError::External(Box::new(self.failure.clone())))
    }
}

async fn listing_table(catalog: &Catalog, table: &Table) -> Result<Arc<ListingTable>, Failure> {
    let dir = catalog.data_dir(table);
    std::fs::create_dir_all(&dir)?;
    let url = ListingTableUrl::parse(format!("{}/", dir.display())).map_err(df_failure_plain)?;
    let mut partition_cols = Vec::new();
    for pk in &table.partition_keys {
        let f = crate::types::hive_to_field(&pk.name, &pk.type_name).map_err(|e| Failure::system(e.to_string()))?;
        partition_cols.push((pk.name.clone(), f.data_type().clone()));
    }
    let options = ListingOptions::new(Arc::new(ParquetFormat::default())).with_file_extension("").with_table_partition_cols(partition_cols);
    let schema = table.data_schema().map_err(|e| Failure::system(e.to_string()))?;
    let config = ListingTableConfig::new(url).with_listing_options(options).with_schema(schema);
    Ok(Arc::new(ListingTable::try_new(config).map_err(df_failure_plain)?))
}

/// A Parquet data file read from memory as one batch of `schema` (its columns by name, cast;
/// columns it lacks are NULL), as the listing table reads files of an evolved schema.
fn parquet_file(bytes: Vec<u8>, schema: &SchemaRef) -> Result<arrow::array::RecordBatch, Failure> {
    let bad = |e: &dyn std::fmt::Display| Failure::user("HIVE_CURSOR_ERROR", format!("cannot read Parquet: {e}"));
    let reader = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(bytes::Bytes::from(bytes))
        .map_err(|e| bad(&e))?
        .build()
        .map_err(|e| bad(&e))?;
    let file_schema = arrow::record_batch::RecordBatchReader::schema(&reader);
    let batches = reader.collect::<Result<Vec<_>, _>>().map_err(|e| bad(&e))?;
    let whole = arrow::compute::concat_batches(&file_schema, &batches).map_err(|e| bad(&e))?;
    let columns = schema
        .fields()
        .iter()
        .map(|field| match file_schema.fields().iter().position(|f| f.name().eq_ignore_ascii_case(field.name())) {
            Some(i) => arrow::compute::cast(whole.column(i), field.data_type()).map_err(|e| bad(&e)),
            None => Ok(arrow::array::new_null_array(field.data_type(), whole.num_rows())),
        })
        .collect::<Result<Vec<_>, _>>()?;
    let options = arrow::array::RecordBatchOptions::new().with_row_count(Some(whole.num_rows()));
    arrow::array::RecordBatch::try_new_with_options(schema.clone(), columns, &options).map_err(|e| bad(&e))
}

/// A table stored as Hive text (LazySimpleSerDe, OpenCSVSerde, JSON): its files read and
/// decoded when a query names it, partition columns from `k=v` folders and registered
/// partitions. Returns the table and the bytes of the files read.
fn text_table(catalog: &Catalog, table: &Table) -> Result<(Arc<dyn TableProvider>, u64), Failure> {
    let storage = table.storage();
    if storage.reader() == FileKind::Unsupported {
        return Err(Failure::user(
            "HIVE_UNSUPPORTED_FORMAT",
            format!("Unable to read table {} with SerDe {} on the local endpoint", table.name, storage.serde),
        ));
    }
    let format = crate::formats::hivetext::TextFormat::new(&storage, &table.properties);
    let schema_error = |e: crate::types::UnknownType| Failure::system(e.to_string());
    let data_schema = table.data_schema().map_err(schema_error)?;
    let schema = table.insert_schema().map_err(schema_error)?;
    let dir = catalog.data_dir(table);
    // (partition values, folder): the table's own folder (recursively), or each partition's.
    let mut sources: Vec<(Vec<String>, PathBuf)> = Vec::new();
    if table.partition_keys.is_empty() {
        sources.push((vec![], dir));
    } else {
        sources.extend(discovered_partitions(table, &dir));
        for p in &table.partitions {
            if let Some(path) = crate::catalog::s3_to_path(catalog.layout(), &p.location)
                && !sources.iter().any(|(v, _)| v == &p.values)
            {
                sources.push((p.values.clone(), path));
            }
        }
    }
    let mut batches = Vec::new();
    let mut read = 0u64;
    for (values, folder) in sources {
        for file in data_files(&folder, table.partition_keys.is_empty()) {
            let bytes = catalog.read_data_file(&file)?;
            read += bytes.len() as u64;
            let batch = if storage.reader() == FileKind::Parquet {
                parquet_file(bytes, &data_schema)?
            } else {
                let name = file.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
                let text =
                    crate::formats::hivetext::file_text(&name, &bytes).map_err(|e| Failure::user("HIVE_CURSOR_ERROR", e.to_string()))?;
                crate::formats::hivetext::decode(&text, &data_schema, &format).map_err(|e| Failure::user("HIVE_BAD_DATA", e.to_string()))?
            };
            let mut columns = batch.columns().to_vec();
            for (field, v) in schema.fields()[data_schema.fields().len()..].iter().zip(&values) {
                // Hive's folder for NULL partition values.
                columns.push(if v == "__HIVE_DEFAULT_PARTITION__" {
                    arrow::array::new_null_array(field.data_type(), batch.num_rows())
                } else {
                    let text = arrow::array::StringArray::from(vec![v.as_str(); batch.num_rows()]);
                    arrow::compute::cast(&text, field.data_type())
                        .map_err(|e| Failure::user("HIVE_INVALID_PARTITION_VALUE", e.to_string()))?
                });
            }
            let options = arrow::array::RecordBatchOptions::new().with_row_count(Some(batch.num_rows()));
            batches.push(
                arrow::array::RecordBatch::try_new_with_options(schema.clone(), columns, &options)
                    .map_err(|e| Failure::system(e.to_string()))?,
            );
        }
    }
    let mem = datafusion::datasource::MemTable::try_new(schema, vec![batches]).map_err(|e| Failure::system(e.to_string()))?;
    Ok((Arc::new(mem), read))
}
