//! Stream: the one streaming primitive. Every source (GetQueryResults pages, the result CSV,
//! UNLOAD's files) yields a [`RecordBatchStream`]; collectors, row views, DataFusion and the CLI
//! sit on top of it.

use std::pin::Pin;
use std::task::{Context, Poll};

use arrow::array::RecordBatch;
use arrow::datatypes::SchemaRef;
use futures::{Stream, TryStreamExt};

use crate::error::Result;

/// A `'static` stream of record batches whose schema is known before the first batch.
pub struct RecordBatchStream {
    schema: SchemaRef,
    inner: Pin<Box<dyn Stream<Item = Result<RecordBatch>> + Send>>,
}

impl std::fmt::Debug for RecordBatchStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RecordBatchStream").field("schema", &self.schema).finish_non_exhaustive()
    }
}

impl RecordBatchStream {
    pub(crate) fn new(schema: SchemaRef, inner: impl Stream<Item = Result<RecordBatch>> + Send + 'static) -> Self {
        Self { schema, inner: Box::pin(inner) }
    }

    pub fn schema(&self) -> &SchemaRef {
        &self.schema
    }

    /// Collects every batch. The whole result is then in memory: prefer consuming the stream
    /// for results of unknown size.
    pub async fn collect_batches(self) -> Result<Vec<RecordBatch>> {
        self.try_collect().await
    }
}

impl Stream for RecordBatchStream {
    type Item = Result<RecordBatch>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.inner.as_mut().poll_next(cx)
    }
}
