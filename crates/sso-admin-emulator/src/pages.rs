//! Pagination shared by the JSON services: a NextToken is the offset of the
//! next item, as text.

use serde_json::{Value, json};

use super::error::ApiError;

/// The offset a NextToken names (0 without one).
pub fn offset(token: Option<&str>) -> Result<usize, ApiError> {
    token.map_or(Ok(0), |t| t.parse().map_err(|_| ApiError::validation(format!("Invalid NextToken: {t}"))))
}

/// Up to `limit` items from `start`, under `key`, with a NextToken while more remain.
pub fn page(items: Vec<Value>, start: usize, limit: usize, key: &str) -> Value {
    let end = (start + limit).min(items.len());
    let mut out = json!({ key: items.get(start.min(end)..end).unwrap_or_default() });
    if end < items.len() {
        out["NextToken"] = json!(end.to_string());
    }
    out
}
