//! The Glue-like catalog: databases, tables (Hive column types, partitions, storage kinds; data
//! under the warehouse bucket or a LOCATION) and views, persisted as JSON in the data dir.

pub mod files;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, RwLock};

use arrow::datatypes::{Field, Schema, SchemaRef};
use serde::{Deserialize, Serialize};

use crate::failure::Failure;
use crate::formats::objects::{ObjectLayout, key_problem, valid_bucket};
use crate::formats::storage::Storage;
use crate::types::{UnknownType, hive_to_field};

/// The one data catalog, as Trino names it in messages (`awsdatacatalog.db.table`).
pub const CATALOG: &str = "awsdatacatalog";

/// Now, as epoch seconds with milliseconds (Glue's and Athena's timestamps).
pub fn now_epoch() -> f64 {
    (chrono::Utc::now().timestamp_millis() as f64) / 1000.0
}

/// Bucket holding table data written by the endpoint (CTAS, INSERT, fixtures).
pub const WAREHOUSE_BUCKET: &str = "athena-warehouse";

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Column {
    pub name: String,
    #[serde(rename = "type")]
    pub type_name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
}

impl Column {
    pub fn new(name: &str, type_name: &str) -> Self {
        Self { name: name.to_owned(), type_name: type_name.to_owned(), comment: None }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Table {
    pub name: String,
    pub columns: Vec<Column>,
    #[serde(default)]
    pub partition_keys: Vec<Column>,
    /// `s3://bucket/prefix/` of the data files (Parquet); empty for views.
    #[serde(default)]
    pub location: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// The Trino SQL of a view.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub view_sql: Option<String>,
    /// Epoch seconds.
    #[serde(default)]
    pub create_time: f64,
    /// SerDe and formats; `None`: Parquet (tables the endpoint writes itself).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage: Option<Storage>,
    /// TBLPROPERTIES.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub properties: BTreeMap<String, String>,
    /// Registered partitions (ALTER TABLE ADD PARTITION, MSCK REPAIR TABLE).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub partitions: Vec<Partition>,
}

/// One registered partition: its values in partition-key order and its location.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Partition {
    pub values: Vec<String>,
    pub location: String,
}

impl Table {
    pub fn is_view(&self) -> bool {
        self.view_sql.is_some()
    }

    pub fn table_type(&self) -> &'static str {
        if self.is_view() { "VIRTUAL_VIEW" } else { "EXTERNAL_TABLE" }
    }

    /// A table of the given columns, stored as Parquet at `location` (empty: the default).
    pub fn new(name: &str, columns: Vec<Column>, location: String) -> Self {
        Table {
            name: name.to_owned(),
            columns,
            partition_keys: vec![],
            location,
            comment: None,
            view_sql: None,
            create_time: 0.0,
            storage: None,
            properties: BTreeMap::new(),
            partitions: vec![],
        }
    }

    pub fn storage(&self) -> Storage {
        self.storage.clone().unwrap_or_else(Storage::parquet)
    }

    /// TBLPROPERTIES as Athena shows them: the user's, with `EXTERNAL` and the DDL time.
    pub fn shown_properties(&self) -> BTreeMap<String, String> {
        let mut props = self.properties.clone();
        props.entry("EXTERNAL".into()).or_insert_with(|| "TRUE".into());
        props.entry("transient_lastDdlTime".into()).or_insert_with(|| format!("{}", self.create_time as i64));
        props
    }

    /// An Iceberg table (`TBLPROPERTIES ('table_type'='ICEBERG')`): rows can be deleted and
    /// updated, and DROP TABLE removes its data.
    pub fn is_iceberg(&self) -> bool {
        self.properties.get("table_type").is_some_and(|t| t.eq_ignore_ascii_case("iceberg"))
    }

    /// `k=v/k2=v2`: a partition's folder name under the table's location.
    pub fn partition_name(&self, values: &[String]) -> String {
        self.partition_keys.iter().zip(values).map(|(k, v)| format!("{}={v}", k.name)).collect::<Vec<_>>().join("/")
    }

    /// Where a partition's files go unless it was registered with a location of its own.
    pub fn partition_location(&self, values: &[String]) -> String {
        format!("{}/{}/", self.location.trim_end_matches('/'), self.partition_name(values))
    }

    /// Data columns, then partition columns: what INSERT and SELECT * see.
    pub fn insert_schema(&self) -> Result<SchemaRef, UnknownType> {
        let fields = self
            .columns
            .iter()
            .chain(&self.partition_keys)
            .map(|c| hive_to_field(&c.name, &c.type_name))
            .collect::<Result<Vec<Field>, _>>()?;
        Ok(Arc::new(Schema::new(fields)))
    }

    /// The Arrow schema of the data columns (partition keys excluded).
    pub fn data_schema(&self) -> Result<SchemaRef, UnknownType> {
        let fields = self.columns.iter().map(|c| hive_to_field(&c.name, &c.type_name)).collect::<Result<Vec<Field>, _>>()?;
        Ok(Arc::new(Schema::new(fields)))
    }
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct CatalogData {
    databases: BTreeMap<String, BTreeMap<String, Table>>,
}

/// Catalog `awsdatacatalog`.
#[derive(Debug)]
pub struct Catalog {
    path: PathBuf,
    layout: ObjectLayout,
    data: RwLock<CatalogData>,
    /// One writer of the catalog file at a time (concurrent DDL once raced on its temp file).
    save_lock: std::sync::Mutex<()>,
    /// The keys that open sealed (CSE_KMS) table files.
    kms: std::sync::OnceLock<crate::formats::kms::Kms>,
}

#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    #[error("Database {0} not found.")]
    NoDatabase(String),
    #[error("Table {0} already exists")]
    TableExists(String),
    #[error("Database {0} already exists")]
    DatabaseExists(String),
    #[error("Table {0} not found")]
    NoTable(String),
    #[error("catalog storage: {0}")]
    Io(#[from] std::io::Error),
}

/// What a query sees of a catalog error.
impl From<CatalogError> for Failure {
    fn from(e: CatalogError) -> Self {
        use CatalogError::*;
        match e {
            NoDatabase(d) => Failure::user("SCHEMA_NOT_FOUND", format!("Schema '{d}' does not exist")),
            NoTable(t) => Failure::user("TABLE_NOT_FOUND", format!("Table '{CATALOG}.{t}' does not exist")),
            TableExists(t) => Failure::user("ALREADY_EXISTS", format!("Table '{CATALOG}.{t}' already exists")),
            DatabaseExists(d) => Failure::user("ALREADY_EXISTS", format!("Schema '{d}' already exists")),
            Io(e) => Failure::system(e.to_string()),
        }
    }
}

impl Catalog {
    /// Opens the catalog stored at `path`, creating it with an empty `default` database.
    /// Gives the catalog the keys that open sealed (CSE_KMS) table files.
    pub fn set_kms(&self, kms: crate::formats::kms::Kms) {
        let _ = self.kms.set(kms);
    }

    /// A table data file's bytes: decrypted when it is sealed (CSE_KMS table data carries its
    /// envelope, as result objects do), as stored otherwise.
    pub fn read_data_file(&self, path: &std::path::Path) -> std::io::Result<Vec<u8>> {
        let bytes = std::fs::read(path)?;
        let Some(meta) = self.layout.locate(path).and_then(|(bucket, key)| self.layout.user_metadata(&bucket, &key)) else {
            return Ok(bytes);
        };
        if !meta.contains_key("x-amz-key-v2") {
            return Ok(bytes);
        }
        let kms = self.kms.get().ok_or_else(|| std::io::Error::other("no KMS keys to open a sealed table file"))?;
        crate::formats::envelope::open_sealed(kms, &bytes, &meta)
            .map_err(|e| std::io::Error::other(format!("cannot open the sealed table file {}: {e}", path.display())))
    }

    pub fn open(path: PathBuf, layout: ObjectLayout) -> std::io::Result<Self> {
        let mut data: CatalogData = match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(std::io::Error::other)?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => CatalogData::default(),
            Err(e) => return Err(e),
        };
        data.databases.entry("default".into()).or_default();
        let catalog = Self { path, layout, data: RwLock::new(data), save_lock: std::sync::Mutex::new(()), kms: std::sync::OnceLock::new() };
        catalog.save()?;
        Ok(catalog)
    }

    fn save(&self) -> std::io::Result<()> {
        let _writer = self.save_lock.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let bytes = serde_json::to_vec_pretty(&*self.data.read().unwrap()).map_err(std::io::Error::other)?;
        let tmp = self.path.with_extension("tmp");
        std::fs::write(&tmp, bytes)?;
        std::fs::rename(tmp, &self.path)
    }

    pub fn layout(&self) -> &ObjectLayout {
        &self.layout
    }

    pub fn databases(&self) -> Vec<String> {
        self.data.read().unwrap().databases.keys().cloned().collect()
    }

    pub fn has_database(&self, db: &str) -> bool {
        self.data.read().unwrap().databases.contains_key(&db.to_ascii_lowercase())
    }

    pub fn tables(&self, db: &str) -> Result<Vec<Table>, CatalogError> {
        let data = self.data.read().unwrap();
        let tables = data.databases.get(&db.to_ascii_lowercase()).ok_or_else(|| CatalogError::NoDatabase(db.into()))?;
        Ok(tables.values().cloned().collect())
    }

    pub fn table(&self, db: &str, name: &str) -> Result<Table, CatalogError> {
        let data = self.data.read().unwrap();
        let tables = data.databases.get(&db.to_ascii_lowercase()).ok_or_else(|| CatalogError::NoDatabase(db.into()))?;
        tables.get(&name.to_ascii_lowercase()).cloned().ok_or_else(|| CatalogError::NoTable(format!("{db}.{name}")))
    }

    pub fn create_database(&self, db: &str, if_not_exists: bool) -> Result<(), CatalogError> {
        {
            let mut data = self.data.write().unwrap();
            let db = db.to_ascii_lowercase();
            if data.databases.contains_key(&db) {
                return if if_not_exists { Ok(()) } else { Err(CatalogError::DatabaseExists(db)) };
            }
            data.databases.insert(db, BTreeMap::new());
        }
        Ok(self.save()?)
    }

    pub fn drop_database(&self, db: &str, if_exists: bool) -> Result<(), CatalogError> {
        {
            let mut data = self.data.write().unwrap();
            if data.databases.remove(&db.to_ascii_lowercase()).is_none() && !if_exists {
                return Err(CatalogError::NoDatabase(db.into()));
            }
        }
        Ok(self.save()?)
    }

    /// Adds a table; its data directory is created empty.
    pub fn create_table(&self, db: &str, mut table: Table, if_not_exists: bool) -> Result<(), CatalogError> {
        table.name = table.name.to_ascii_lowercase();
        if table.create_time == 0.0 {
            table.create_time = now_epoch();
        }
        if !table.is_view() && table.location.is_empty() {
            table.location = format!("s3://{WAREHOUSE_BUCKET}/{}/{}/", db.to_ascii_lowercase(), table.name);
        }
        if !table.is_view() {
            std::fs::create_dir_all(self.data_dir(&table))?;
        }
        {
            let mut data = self.data.write().unwrap();
            let tables = data.databases.get_mut(&db.to_ascii_lowercase()).ok_or_else(|| CatalogError::NoDatabase(db.into()))?;
            if tables.contains_key(&table.name) {
                return if if_not_exists { Ok(()) } else { Err(CatalogError::TableExists(format!("{db}.{}", table.name))) };
            }
            tables.insert(table.name.clone(), table);
        }
        Ok(self.save()?)
    }

    pub fn drop_table(&self, db: &str, name: &str, if_exists: bool) -> Result<(), CatalogError> {
        {
            let mut data = self.data.write().unwrap();
            let tables = data.databases.get_mut(&db.to_ascii_lowercase()).ok_or_else(|| CatalogError::NoDatabase(db.into()))?;
            if tables.remove(&name.to_ascii_lowercase()).is_none() && !if_exists {
                return Err(CatalogError::NoTable(format!("{db}.{name}")));
            }
        }
        Ok(self.save()?)
    }

    /// Replaces a table's definition (partitions registered, properties set).
    pub fn update_table(&self, db: &str, table: Table) -> Result<(), CatalogError> {
        {
            let mut data = self.data.write().unwrap();
            let tables = data.databases.get_mut(&db.to_ascii_lowercase()).ok_or_else(|| CatalogError::NoDatabase(db.into()))?;
            let slot = tables.get_mut(&table.name).ok_or_else(|| CatalogError::NoTable(format!("{db}.{}", table.name)))?;
            *slot = table;
        }
        Ok(self.save()?)
    }

    /// The local directory behind a table's `s3://` location.
    pub fn data_dir(&self, table: &Table) -> PathBuf {
        s3_to_path(&self.layout, &table.location).unwrap_or_else(|| self.layout.root().join(WAREHOUSE_BUCKET).join(&table.name))
    }
}

/// The local path behind an `s3://bucket/key` URI.
pub fn s3_to_path(layout: &ObjectLayout, uri: &str) -> Option<PathBuf> {
    let (bucket, key) = split_s3_uri(uri)?;
    if key.is_empty() { Some(layout.bucket_path(&bucket)) } else { layout.object_path(&bucket, key.trim_end_matches('/')) }
}

/// `s3://bucket/a/b` -> (`bucket`, `a/b`); `None` for anything else: another scheme, a bucket
/// name S3 refuses (`.`, `..`), or a key that could name a path outside its bucket (`..`, `//`).
/// Every location a request or statement names goes through here.
pub fn split_s3_uri(uri: &str) -> Option<(String, String)> {
    let rest = uri.strip_prefix("s3://")?;
    let (bucket, key) = rest.split_once('/').unwrap_or((rest, ""));
    if !valid_bucket(bucket) || (!key.is_empty() && key_problem(key).is_some()) {
        return None;
    }
    Some((bucket.to_owned(), key.to_owned()))
}
