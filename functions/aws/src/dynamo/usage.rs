//! The storage usage counter: one item beside the records (`usage#storage`: `bytes`, `files`,
//! `changes`), changed only inside a transaction that also changes a record's `charged` mark,
//! so that it stays the sum of the charged records' sizes (see `twinshare_core::quota`).
//!
//! Every announcement charges the same item, so concurrent ones can cancel each other
//! (`TransactionConflict`); each is retried (`transactions.rs`). The quota's condition is on the
//! counter itself, so however many run at once, no two are admitted into the same room.

use aws_sdk_dynamodb::types::{builders::UpdateBuilder, AttributeValue, Put, TransactWriteItem, Update};
use twinshare_core::{
    ports::{MetadataStore, PortError, Written},
    quota::{Creation, Settle, StorageUsage},
    FileRecord,
};

use super::{
    is_condition_failure,
    items::{n, s, to_item},
    DynamoMetadata, NOT_REMOVED,
};
use crate::errors::port_error;

const USAGE_ID: &str = "usage#storage";
fn built<T, E: std::fmt::Display>(built: Result<T, E>) -> Result<T, PortError> {
    built.map_err(|e| PortError::Other(format!("usage transaction: {e}")))
}

impl DynamoMetadata {
    /// The counter moved by one file of `bytes` (negative: released).
    pub(super) fn usage_change(&self, bytes: i64) -> UpdateBuilder {
        Update::builder()
            .table_name(&self.table)
            .key("id", s(USAGE_ID))
            .update_expression("ADD #bytes :bytes, files :files, changes :one")
            .expression_attribute_names("#bytes", "bytes")
            .expression_attribute_values(":bytes", n(bytes))
            .expression_attribute_values(":files", n(bytes.signum()))
            .expression_attribute_values(":one", n(1))
    }

    pub(super) async fn read_usage(&self) -> Result<StorageUsage, PortError> {
        let answer = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("id", s(USAGE_ID))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| port_error("GetItem usage", e))?;
        let number = |name: &str| -> u64 {
            // Negative only after a hand edit: then nothing is used (the sweep repairs it).
            answer
                .item()
                .and_then(|item| item.get(name))
                .and_then(|v| v.as_n().ok())
                .and_then(|v| v.parse::<i64>().ok())
                .map_or(0, |v| v.max(0) as u64)
        };
        Ok(StorageUsage {
            bytes: number("bytes"),
            files: number("files"),
            changes: number("changes"),
        })
    }

    /// The record written and charged in one transaction, the counter's condition holding the
    /// quota.
    pub(super) async fn create_charged(&self, record: &FileRecord, quota: Option<u64>) -> Result<Creation, PortError> {
        let over = || async {
            Ok(Creation::OverQuota {
                used_bytes: self.read_usage().await?.bytes,
            })
        };
        let room = match quota.map(|quota| quota.checked_sub(record.size)) {
            Some(None) => return over().await,
            Some(Some(room)) => Some(room),
            None => None,
        };
        let mut item = to_item(record);
        item.insert("charged".into(), AttributeValue::Bool(true));
        let put = built(
            Put::builder()
                .table_name(&self.table)
                .set_item(Some(item))
                .condition_expression("attribute_not_exists(id)")
                .build(),
        )?;
        let charge = self.usage_change(record.size as i64);
        let charge = match room {
            Some(room) => charge
                .condition_expression("attribute_not_exists(#bytes) OR #bytes <= :room")
                .expression_attribute_values(":room", n(room)),
            None => charge,
        };
        let items = vec![
            TransactWriteItem::builder().put(put).build(),
            TransactWriteItem::builder().update(built(charge.build())?).build(),
        ];
        match self.transact(items, "TransactWriteItems create").await? {
            None => Ok(Creation::Created),
            Some(1) => over().await,
            // The id is new, so the record is there only if an earlier attempt of this call
            // wrote it (and charged it) before its answer was lost to a timeout: done.
            Some(_) => match MetadataStore::get(self, record.id).await? {
                Some(stored)
                    if stored.manage_hash == record.manage_hash && stored.created_at_ms == record.created_at_ms =>
                {
                    Ok(Creation::Created)
                }
                _ => Err(PortError::Other(format!("record {} exists", record.id))),
            },
        }
    }

    /// Charges or releases a record whose charge disagrees with its state (the sweep's repair).
    pub(super) async fn settle(&self, record: &FileRecord, settle: Settle) -> Result<Written, PortError> {
        let (change, condition, set) = match settle {
            Settle::Charge => (
                record.size as i64,
                format!("{NOT_REMOVED} AND attribute_not_exists(charged)"),
                "SET charged = :true",
            ),
            Settle::Release => (
                -(record.size as i64),
                "attribute_exists(removed_at_ms) AND charged = :true".to_owned(),
                "REMOVE charged",
            ),
        };
        let mark = Update::builder()
            .table_name(&self.table)
            .key("id", s(record.id.to_string()))
            .update_expression(set)
            .condition_expression(condition)
            .expression_attribute_values(":true", AttributeValue::Bool(true));
        let items = vec![
            TransactWriteItem::builder().update(built(mark.build())?).build(),
            TransactWriteItem::builder()
                .update(built(self.usage_change(change).build())?)
                .build(),
        ];
        match self.transact(items, "TransactWriteItems settle charge").await? {
            None => Ok(Written::Done(Box::new(FileRecord {
                charged: settle == Settle::Charge,
                ..record.clone()
            }))),
            Some(_) => Ok(Written::ConditionFailed),
        }
    }

    /// Sets the counter, if it has not changed since `seen` was read.
    pub(super) async fn write_usage(&self, seen: StorageUsage, usage: StorageUsage) -> Result<bool, PortError> {
        let answer = self
            .client
            .put_item()
            .table_name(&self.table)
            .item("id", s(USAGE_ID))
            .item("bytes", n(usage.bytes))
            .item("files", n(usage.files))
            .item("changes", n(usage.changes))
            .condition_expression("attribute_not_exists(changes) OR changes = :seen")
            .expression_attribute_values(":seen", n(seen.changes))
            .send()
            .await;
        match answer {
            Ok(_) => Ok(true),
            Err(err) if is_condition_failure(&err) => Ok(false),
            Err(err) => Err(port_error("PutItem usage", err)),
        }
    }
}
