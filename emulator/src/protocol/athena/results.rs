//! GetQueryResults: pages of rows (or of the DATA_MANIFEST) read from the query's stored rows,
//! with opaque tokens bound to their query.

use serde_json::{Value, json};

use crate::formats::arrow_stream::read_text_page;
use crate::formats::objects::read_page;
use crate::protocol::athena::{ApiError, Athena, required, str_field};

impl Athena {
    pub(super) fn results(&self, body: &Value) -> Result<Value, ApiError> {
        let id = required(body, "QueryExecutionId")?;
        let max = match body.get("MaxResults").and_then(Value::as_i64) {
            None => 1000,
            Some(n @ 1..=1000) => n as usize,
            Some(n) => {
                return Err(ApiError::invalid(
                    "INVALID_INPUT",
                    format!(
                        "1 validation error detected: Value '{n}' at 'maxResults' failed to satisfy constraint: Member must have value less than or equal to 1000"
                    ),
                ));
            }
        };
        let rec = self.succeeded(id)?;
        let manifest = str_field(body, "QueryResultType") == Some("DATA_MANIFEST");
        let arrow = !manifest && rec.api_rows.as_ref().is_some_and(|a| a.arrow);
        let path = if manifest {
            match &rec.manifest_rows {
                Some(p) => p.clone(),
                None => {
                    return Err(ApiError::invalid("INVALID_INPUT", "DATA_MANIFEST results exist only for UNLOAD queries"));
                }
            }
        } else {
            match &rec.api_rows {
                Some(a) => a.path.clone(),
                None => {
                    return Err(ApiError::invalid("RESULT_NOT_FOUND", "Query results are not available"));
                }
            }
        };
        let offset = match str_field(body, "NextToken") {
            Some(t) => decode_token(t, id).ok_or_else(|| ApiError::invalid("INVALID_INPUT", "Invalid NextToken"))?,
            None => 0,
        };
        let page = if arrow { read_text_page(&path, offset, max) } else { read_page(&path, offset, max) };
        let page = page.map_err(|e| ApiError::invalid("RESULT_NOT_FOUND", format!("Query results could not be read: {e}")))?;
        let rows: Vec<Value> = page
            .rows
            .iter()
            .map(|r| {
                let data: Vec<Value> = r.iter().map(|v| v.as_ref().map_or_else(|| json!({}), |s| json!({ "VarCharValue": s }))).collect();
                json!({ "Data": data })
            })
            .collect();
        let columns: Vec<Value> =
            if manifest { vec![] } else { rec.columns.iter().map(|c| serde_json::to_value(c).expect("serialisable")).collect() };
        let mut v = json!({ "ResultSet": { "Rows": rows, "ResultSetMetadata": { "ColumnInfo": columns } } });
        if let Some(n) = rec.update_count.filter(|_| {
            rec.substatement_type != "EXPLAIN" && (rec.statement_type != "DDL" || rec.substatement_type == "CREATE_TABLE_AS_SELECT")
        }) {
            v["UpdateCount"] = json!(n);
        }
        if let Some(next) = page.next {
            v["NextToken"] = json!(encode_token(next, id));
        }
        Ok(v)
    }
}

fn encode_token(offset: u64, id: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(format!("{id}:{offset}"))
}

fn decode_token(token: &str, id: &str) -> Option<u64> {
    use base64::Engine;
    let raw = base64::engine::general_purpose::STANDARD.decode(token).ok()?;
    let text = String::from_utf8(raw).ok()?;
    let (tid, off) = text.rsplit_once(':')?;
    (tid == id).then_some(())?;
    off.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_bound_to_their_query() {
        let t = encode_token(42, "q1");
        assert_eq!(decode_token(&t, "q1"), Some(42));
        assert_eq!(decode_token(&t, "q2"), None);
        assert_eq!(decode_token("garbage", "q1"), None);
    }
}
