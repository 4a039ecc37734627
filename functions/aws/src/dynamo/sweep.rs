//! What the sweep reads and keeps: many records at once (the orphan audit), and in the health
//! table each region's pass in progress and the summary of the last complete one (as JSON: they are read
//! whole, never queried by field).

use std::collections::HashMap;

use twinshare_api::CopyRole;

use twinshare_core::{
    health::{ReplicationSummary, SweepPass},
    ports::PortError,
    quota::StorageUsage,
    record::FileRecord,
    FileId,
};

use super::{
    is_condition_failure,
    items::{from_item, get_n, n, s, SECOND_REGION_SWEEP_PASS, SUMMARY, SWEEP_PASS},
    DynamoMetadata, Item,
};
use crate::errors::port_error;

/// The health table's row of `region`'s sweep pass. Each region's sweep writes only its own
/// (one writer region per item): the rows replicate, the passes never collide.
fn pass_row(region: CopyRole) -> &'static str {
    match region {
        CopyRole::Primary => SWEEP_PASS,
        CopyRole::Replica => SECOND_REGION_SWEEP_PASS,
    }
}

fn json<T: serde::Serialize>(value: &T) -> Result<String, PortError> {
    serde_json::to_string(value).map_err(|e| PortError::Other(format!("encoding the sweep's row: {e}")))
}

fn parse<T: serde::de::DeserializeOwned>(item: &Item, field: &str) -> Result<Option<T>, PortError> {
    let Some(text) = item.get(field).and_then(|v| v.as_s().ok()) else {
        return Ok(None);
    };
    serde_json::from_str(text)
        .map(Some)
        .map_err(|e| PortError::Other(format!("the sweep's row {field}: {e}")))
}

impl DynamoMetadata {
    /// The records (not tombstones: a removed record carries its removal) of `ids`.
    pub(super) async fn read_many(&self, ids: &[FileId]) -> Result<Vec<FileRecord>, PortError> {
        let ids: Vec<String> = ids.iter().map(FileId::to_string).collect();
        self.batch_get(&ids).await?.iter().map(from_item).collect()
    }

    pub(super) async fn read_replication_summary(&self) -> Result<Option<ReplicationSummary>, PortError> {
        match self.get_health_item(SUMMARY).await? {
            // A row from before passes were kept has no `pass`: as if no pass had finished.
            Some(item) => parse(&item, "pass"),
            None => Ok(None),
        }
    }

    pub(super) async fn write_replication_summary(&self, summary: &ReplicationSummary) -> Result<(), PortError> {
        let item = HashMap::from([("name".to_owned(), s(SUMMARY)), ("pass".to_owned(), s(json(summary)?))]);
        self.put_health_item(item).await
    }

    pub(super) async fn read_sweep_pass(&self, region: CopyRole) -> Result<Option<SweepPass>, PortError> {
        let answer = self
            .client
            .get_item()
            .table_name(&self.health_table)
            .key("name", s(pass_row(region)))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| port_error("GetItem sweep pass", e))?;
        let Some(item) = answer.item() else {
            return Ok(None);
        };
        Ok(Some(SweepPass {
            saves: get_n(item, "saves")?,
            cursor: item.get("cursor").and_then(|v| v.as_s().ok()).cloned(),
            tally: parse(item, "tally")?.unwrap_or_default(),
            usage_at_start: match item.get("start_changes") {
                Some(_) => Some(StorageUsage {
                    bytes: get_n(item, "start_bytes")?,
                    files: get_n(item, "start_files")?,
                    changes: get_n(item, "start_changes")?,
                }),
                None => None,
            },
            charged: StorageUsage {
                bytes: get_n(item, "charged_bytes").unwrap_or_default(),
                files: get_n(item, "charged_files").unwrap_or_default(),
                changes: 0,
            },
        }))
    }

    /// A conditional put: only over the save this one follows (none, for the first).
    pub(super) async fn write_sweep_pass(&self, region: CopyRole, pass: &SweepPass) -> Result<bool, PortError> {
        let mut item = HashMap::from([
            ("name".to_owned(), s(pass_row(region))),
            ("saves".to_owned(), n(pass.saves)),
            ("tally".to_owned(), s(json(&pass.tally)?)),
            ("charged_bytes".to_owned(), n(pass.charged.bytes)),
            ("charged_files".to_owned(), n(pass.charged.files)),
        ]);
        if let Some(start) = pass.usage_at_start {
            item.insert("start_bytes".into(), n(start.bytes));
            item.insert("start_files".into(), n(start.files));
            item.insert("start_changes".into(), n(start.changes));
        }
        if let Some(cursor) = &pass.cursor {
            item.insert("cursor".into(), s(cursor));
        }
        let put = self
            .client
            .put_item()
            .table_name(&self.health_table)
            .set_item(Some(item));
        let put = match pass.saves.checked_sub(1) {
            Some(seen) if seen > 0 => put
                .condition_expression("saves = :seen")
                .expression_attribute_values(":seen", n(seen)),
            _ => put
                .condition_expression("attribute_not_exists(#name)")
                .expression_attribute_names("#name", "name"),
        };
        match put.send().await {
            Ok(_) => Ok(true),
            Err(err) if is_condition_failure(&err) => Ok(false),
            Err(err) => Err(port_error("PutItem sweep pass", err)),
        }
    }
}
