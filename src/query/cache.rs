//! The client-side cache (PyAthena's `cache_size` / `cache_expiration_time`): look through the
//! workgroup's recent executions, newest first, for a SUCCEEDED DML execution of the identical
//! query text in the same database and catalog.

use std::time::SystemTime;

use crate::config::CacheConfig;
use crate::error::QueryState;
use crate::error::{Error, Result};
use crate::info::QueryInfo;

/// ListQueryExecutions' largest page (and BatchGetQueryExecution's largest batch).
const PAGE: usize = 50;
/// Pages looked through when only an expiration bounds the search (1000 executions).
const MAX_PAGES_UNSIZED: usize = 20;

/// The newest matching execution, if any.
///
/// # Errors
/// [`Error::Api`] when a listing call fails (callers fall back to running the query).
pub(crate) async fn find(
    client: &aws_sdk_athena::Client,
    sql: &str,
    database: &str,
    catalog: &str,
    work_group: Option<&str>,
    cache: CacheConfig,
) -> Result<Option<QueryInfo>> {
    let oldest = (!cache.expiration.is_zero()).then(|| SystemTime::now() - cache.expiration);
    let max_pages = if cache.size > 0 { cache.size.div_ceil(PAGE) } else { MAX_PAGES_UNSIZED };
    let mut seen = 0usize;
    let mut token: Option<String> = None;
    for _ in 0..max_pages {
        let want = if cache.size > 0 { (cache.size - seen).min(PAGE) } else { PAGE };
        let page = client
            .list_query_executions()
            .set_work_group(work_group.map(str::to_owned))
            .max_results(want as i32)
            .set_next_token(token.take())
            .send()
            .await
            .map_err(|e| Error::api("ListQueryExecutions", e))?;
        let ids: Vec<String> = page.query_execution_ids().iter().take(want).cloned().collect();
        if ids.is_empty() {
            return Ok(None);
        }
        seen += ids.len();
        let batch = client
            .batch_get_query_execution()
            .set_query_execution_ids(Some(ids.clone()))
            .send()
            .await
            .map_err(|e| Error::api("BatchGetQueryExecution", e))?;
        let mut infos: Vec<QueryInfo> = batch.query_executions().iter().map(QueryInfo::from_sdk).collect();
        // Keep the listing's order (newest first) whatever order the batch answers in.
        infos.sort_by_key(|i| ids.iter().position(|id| *id == i.query_id));
        for info in infos {
            if let (Some(oldest), Some(done)) = (oldest, info.completion_time.or(info.submission_time))
                && done < oldest
            {
                return Ok(None);
            }
            if info.state == QueryState::Succeeded
                && info.is_dml()
                && info.query == sql
                && info.database.as_deref().is_some_and(|d| d.eq_ignore_ascii_case(database))
                && info.catalog.as_deref().is_none_or(|c| c.eq_ignore_ascii_case(catalog))
            {
                return Ok(Some(info));
            }
        }
        if cache.size > 0 && seen >= cache.size {
            return Ok(None);
        }
        match page.next_token() {
            Some(t) => token = Some(t.to_owned()),
            None => return Ok(None),
        }
    }
    Ok(None)
}
