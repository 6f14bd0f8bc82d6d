//! The GetQueryResults source: Athena's text rows, 1000 per page, decoded page by page by the
//! text converter. Used for small results (the first page) and where no result file is readable.

use std::collections::VecDeque;

use arrow::array::RecordBatch;

use crate::decode::TextDecoder;
use crate::error::{Error, Result};

/// GetQueryResults' largest page.
pub(crate) const API_PAGE_ROWS: i32 = 1000;

pub(crate) fn api_row(row: &aws_sdk_athena::types::Row) -> Vec<Option<String>> {
    row.data().iter().map(|d| d.var_char_value().map(str::to_owned)).collect()
}

/// GetQueryResults paging, one batch per page.
pub(crate) struct ApiPages {
    pub client: aws_sdk_athena::Client,
    pub query_id: String,
    pub decoder: TextDecoder,
    /// The rows of the page already read (the first one), decoded before asking for more.
    pub pending: Option<VecDeque<Vec<Option<String>>>>,
    pub next_token: Option<String>,
    pub rows_done: u64,
}

impl ApiPages {
    pub(crate) async fn next(mut self) -> Result<Option<(RecordBatch, Self)>> {
        loop {
            let rows = match self.pending.take() {
                Some(rows) => rows,
                None => {
                    let Some(token) = self.next_token.take() else {
                        return Ok(None);
                    };
                    let page = self
                        .client
                        .get_query_results()
                        .query_execution_id(&self.query_id)
                        .max_results(API_PAGE_ROWS)
                        .next_token(token)
                        .send()
                        .await
                        .map_err(|e| Error::api("GetQueryResults", e))?;
                    self.next_token = page.next_token().map(str::to_owned);
                    page.result_set().map(|r| r.rows().iter().map(api_row).collect()).unwrap_or_default()
                }
            };
            for row in &rows {
                self.decoder.append_row(row.iter().map(Option::as_deref)).map_err(|e| e.in_result(&self.query_id, self.rows_done))?;
            }
            if let Some(batch) = self.decoder.flush()? {
                self.rows_done += batch.num_rows() as u64;
                return Ok(Some((batch, self)));
            }
        }
    }
}
