//! Locate + stream for S3 result files: the result CSV read by the parallel chunk reader and
//! decoded on blocking threads, never on the task that drives the I/O.

use arrow::datatypes::SchemaRef;
use futures::StreamExt;
use futures::stream::BoxStream;

use crate::csv::CsvDecoder;
use crate::decode::TextDecoder;
use crate::error::{Error, Result};
use crate::fetch::Fetcher;
use crate::result::RecordBatchStream;

struct CsvState {
    chunks: BoxStream<'static, Result<bytes::Bytes>>,
    decoder: Option<CsvDecoder>,
    remaining: u64,
    query_id: String,
    rows_done: u64,
}

/// The result CSV at `uri` as a stream of batches of `schema`.
pub(crate) async fn csv_stream(fetcher: &Fetcher, uri: &str, query_id: &str, schema: SchemaRef) -> Result<RecordBatchStream> {
    let meta = fetcher.head(uri).await?;
    let state = CsvState {
        chunks: fetcher.chunks(uri, &meta).boxed(),
        decoder: Some(CsvDecoder::new(TextDecoder::new(schema.clone())?)),
        remaining: meta.size,
        query_id: query_id.to_owned(),
        rows_done: 0,
    };
    let stream = futures::stream::try_unfold(state, |mut state| async move {
        loop {
            let Some(mut decoder) = state.decoder.take() else { return Ok(None) };
            let chunk = match state.chunks.next().await {
                Some(chunk) => chunk?,
                None if state.remaining == 0 => bytes::Bytes::new(),
                None => return Err(Error::decode("result CSV ended early")),
            };
            state.remaining -= chunk.len() as u64;
            let last = state.remaining == 0;
            let (decoder, batch) = tokio::task::spawn_blocking(move || {
                let batch = decoder.feed(&chunk, last);
                (decoder, batch)
            })
            .await
            .map_err(|e| Error::decode(format!("decode task failed: {e}")))?;
            let batch = batch.map_err(|e| e.in_result(&state.query_id, state.rows_done))?;
            if !last {
                state.decoder = Some(decoder);
            }
            match batch {
                Some(b) => {
                    state.rows_done += b.num_rows() as u64;
                    return Ok(Some((b, state)));
                }
                None if last => return Ok(None),
                None => {}
            }
        }
    });
    Ok(RecordBatchStream::new(schema, stream))
}
