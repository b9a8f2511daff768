//! JSON: the report structs serialised as they are, with their `schema` field.

use super::Format;
use crate::baseline::compare::Comparison;
use crate::baseline::summary::Summary;

/// Pretty-printed JSON.
pub struct Json;

impl Format for Json {
    fn summary(&self, summary: &Summary) -> anyhow::Result<String> {
        Ok(serde_json::to_string_pretty(summary)?)
    }

    fn compare(&self, comparison: &Comparison) -> anyhow::Result<String> {
        Ok(serde_json::to_string_pretty(comparison)?)
    }
}
