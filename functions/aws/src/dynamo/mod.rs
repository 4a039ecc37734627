//! [`MetadataStore`] on DynamoDB.
//!
//! One item per file, keyed by `id`. `expires_at` is the table's TTL: unfinished uploads and
//! settled removals carry it (a file's own expiry is `expiry_ms`, checked by every read). The
//! public listing and its search are read from the search table (`search.rs`), which every
//! write here that changes a record brings up to date right after.
//!
//! A removed file also has a tombstone item, `removed#<id>`, written in the same transaction
//! that marks its record; every read of a record reads its tombstone too, so that once metadata
//! lives in two regions a removal cannot be lost to last-writer-wins on the record.
//!
//! Beside the records the table holds small items of other kinds, each kept by its own module:
//! tombstones (`removal.rs`), wrong-password counts (`attempts.rs`), blocked content and
//! addresses (`blocks.rs`), the storage usage counter (`usage.rs`) and per-client announcement
//! counts (`rate.rs`). Their ids are not file ids, so the sweep's scan passes over them.

use std::collections::HashMap;

use aws_sdk_dynamodb::{
    error::{ProvideErrorMetadata, SdkError},
    operation::update_item::builders::UpdateItemFluentBuilder,
    types::{AttributeValue, ReturnValue},
};
use twinshare_api::{CopyRole, CopyState};
use twinshare_core::{
    cursor::ListCursor,
    health::{RegionHealth, ReplicationSummary, SweepPass},
    ports::{Guard, MetadataStore, PasswordAttempts, PortError, Written},
    quota::{Creation, Settle, StorageUsage},
    rate::{Limit, RateLimits},
    record::{FileRecord, RecordState, Removal, TOMBSTONE_KEEP_MS},
    validate::{Edit, ListQuery},
    FileId,
};

use crate::errors::port_error;

mod attempts;
mod batch;
mod blocks;
mod health;
mod items;
mod rate;
mod removal;
mod search;
mod sweep;
mod transactions;
mod usage;
use items::{bad, from_item, n, removal_from_item, s, to_item, tombstone_id};
pub use search::{SearchCost, SearchPage, BY_NAME, BY_SIZE};

/// The item a record is stored as, for tools that write many records at once (the search
/// benchmark seeds its files with BatchWriteItem: an announcement's transaction is slow on
/// moto, which copies the whole table for each). Such records are not charged to the storage
/// usage nor indexed: the sweep does both, as for records from before the quota or the index.
pub fn record_item(record: &FileRecord) -> HashMap<String, AttributeValue> {
    to_item(record)
}

type Item = HashMap<String, AttributeValue>;

#[derive(Debug, Clone)]
pub struct DynamoMetadata {
    client: aws_sdk_dynamodb::Client,
    table: String,
    /// Small table keyed by `name`: one item per region's health, one for the sweep's summary.
    health_table: String,
    /// The public listing's search index: one item per gram of each public file's name.
    search_table: String,
}

impl DynamoMetadata {
    pub fn new(
        client: aws_sdk_dynamodb::Client,
        table: impl Into<String>,
        health_table: impl Into<String>,
        search_table: impl Into<String>,
    ) -> Self {
        DynamoMetadata {
            client,
            table: table.into(),
            health_table: health_table.into(),
            search_table: search_table.into(),
        }
    }
}

/// Only a record not removed may be written (but by its removal).
pub(super) const NOT_REMOVED: &str = "attribute_exists(id) AND attribute_not_exists(removed_at_ms)";

/// Whether a conditional write (an update or a delete) failed its condition.
fn is_condition_failure<E: ProvideErrorMetadata>(
    err: &SdkError<E, aws_sdk_dynamodb::config::http::HttpResponse>,
) -> bool {
    err.as_service_error().and_then(ProvideErrorMetadata::code) == Some("ConditionalCheckFailedException")
}

impl DynamoMetadata {
    fn update_record(&self, id: FileId) -> UpdateItemFluentBuilder {
        self.client
            .update_item()
            .table_name(&self.table)
            .key("id", s(id.to_string()))
    }

    /// Sends a conditional update of a record: the record as it left it, or `ConditionFailed`.
    async fn conditional(&self, update: UpdateItemFluentBuilder) -> Result<Written, PortError> {
        match update.return_values(ReturnValue::AllNew).send().await {
            Ok(out) => {
                let item = out.attributes().ok_or_else(|| bad("attributes"))?;
                Ok(Written::Done(Box::new(from_item(item)?)))
            }
            Err(err) if is_condition_failure(&err) => Ok(Written::ConditionFailed),
            Err(err) => Err(port_error("UpdateItem", err)),
        }
    }
}

impl MetadataStore for DynamoMetadata {
    async fn create(&self, record: &FileRecord, quota: Option<u64>) -> Result<Creation, PortError> {
        self.create_charged(record, quota).await
    }

    async fn count_upload(
        &self,
        client: &str,
        size: u64,
        now_ms: i64,
        limits: RateLimits,
    ) -> Result<Option<Limit>, PortError> {
        self.count_announcement(client, size, now_ms, limits).await
    }

    async fn storage_usage(&self) -> Result<StorageUsage, PortError> {
        self.read_usage().await
    }

    async fn settle_charge(&self, record: &FileRecord, settle: Settle) -> Result<Written, PortError> {
        self.settle(record, settle).await
    }

    async fn reconcile_usage(&self, seen: StorageUsage, usage: StorageUsage) -> Result<bool, PortError> {
        self.write_usage(seen, usage).await
    }

    /// The record and its tombstone in one round trip (BatchGetItem, strongly consistent).
    async fn get(&self, id: FileId) -> Result<Option<FileRecord>, PortError> {
        let record_id = id.to_string();
        let items = self.batch_get(&[record_id.clone(), tombstone_id(id)]).await?;
        let with_id = |wanted: &str| {
            items
                .iter()
                .find(|item| item.get("id").and_then(|v| v.as_s().ok()).map(String::as_str) == Some(wanted))
        };
        let Some(item) = with_id(&record_id) else {
            return Ok(None);
        };
        let mut record = from_item(item)?;
        if record.removal.is_none() {
            if let Some(tombstone) = with_id(&tombstone_id(id)) {
                record.removal = removal_from_item(tombstone)?;
            }
        }
        Ok(Some(record))
    }

    async fn get_many(&self, ids: &[FileId]) -> Result<Vec<FileRecord>, PortError> {
        self.read_many(ids).await
    }

    /// The tombstone and the record's mark in one transaction. A record already removed is
    /// returned as it is; the transaction is refused (and nothing written) when there is none.
    async fn remove(&self, id: FileId, removal: Removal) -> Result<Written, PortError> {
        self.remove_record(id, removal).await
    }

    async fn settle_removal(&self, id: FileId, now_ms: i64) -> Result<Written, PortError> {
        let update = self
            .update_record(id)
            .update_expression("SET bytes_gone_at_ms = if_not_exists(bytes_gone_at_ms, :now), expires_at = :ttl")
            .condition_expression("attribute_exists(removed_at_ms)")
            .expression_attribute_values(":now", n(now_ms))
            .expression_attribute_values(":ttl", n((now_ms + TOMBSTONE_KEEP_MS) / 1000));
        self.conditional(update).await
    }

    async fn edit(&self, record: &FileRecord, edit: &Edit, now_ms: i64) -> Result<Written, PortError> {
        let mut set = vec!["updated_at_ms = :now"];
        let mut remove = Vec::new();
        let mut update = self
            .update_record(record.id)
            .condition_expression(format!("{NOT_REMOVED} AND #state = :seen"))
            .expression_attribute_names("#state", "state")
            .expression_attribute_values(":seen", s(record.state.as_str()))
            .expression_attribute_values(":now", n(now_ms));
        if let Some(name) = &edit.name {
            set.push("#name = :name");
            update = update
                .expression_attribute_names("#name", "name")
                .expression_attribute_values(":name", s(name));
        }
        if let Some(visibility) = edit.visibility {
            set.push("#visibility = :visibility");
            update = update.expression_attribute_names("#visibility", "visibility");
            update = update.expression_attribute_values(":visibility", s(visibility.as_str()));
        }
        match edit.expiry_ms {
            Some(Some(expiry)) => {
                set.push("expiry_ms = :expiry");
                update = update.expression_attribute_values(":expiry", n(expiry));
            }
            Some(None) => remove.push("expiry_ms"),
            None => {}
        }
        match edit.max_downloads {
            Some(Some(max)) => {
                set.push("max_downloads = :max");
                update = update.expression_attribute_values(":max", n(max));
            }
            Some(None) => remove.push("max_downloads"),
            None => {}
        }
        match &edit.password_hash {
            Some(Some(hash)) => {
                set.push("password_hash = :password_hash");
                update = update.expression_attribute_values(":password_hash", s(hash));
            }
            Some(None) => remove.push("password_hash"),
            None => {}
        }
        let mut expression = format!("SET {}", set.join(", "));
        if !remove.is_empty() {
            expression.push_str(&format!(" REMOVE {}", remove.join(", ")));
        }
        let mut written = self.conditional(update.update_expression(expression)).await?;
        if let Written::Done(after) = &mut written {
            self.follow(Some(record), after).await;
        }
        Ok(written)
    }

    /// `downloads < max_downloads`, checked and incremented by DynamoDB in one write.
    async fn count_download(&self, id: FileId) -> Result<Written, PortError> {
        let update = self
            .update_record(id)
            .update_expression("SET #downloads = #downloads + :one")
            .condition_expression(format!(
                "{NOT_REMOVED} AND attribute_exists(max_downloads) AND #downloads < max_downloads"
            ))
            .expression_attribute_names("#downloads", "downloads")
            .expression_attribute_values(":one", n(1));
        self.conditional(update).await
    }

    async fn mark_available(&self, record: &FileRecord, now_ms: i64) -> Result<Written, PortError> {
        let update = self
            .update_record(record.id)
            .update_expression(
                "SET #state = :available, updated_at_ms = :now, copies.#home.#copy_state = :verified, copies.#home.updated_at_ms = :now REMOVE expires_at",
            )
            .condition_expression(format!("{NOT_REMOVED} AND #state = :uploading"))
            .expression_attribute_names("#state", "state")
            .expression_attribute_names("#copy_state", "state")
            .expression_attribute_names("#home", record.home.as_str())
            .expression_attribute_values(":available", s(RecordState::Available.as_str()))
            .expression_attribute_values(":uploading", s(RecordState::Uploading.as_str()))
            .expression_attribute_values(":verified", s(CopyState::Verified.as_str()))
            .expression_attribute_values(":now", n(now_ms));
        // A file sent in parts keeps the identity its completion computed.
        let update = match &record.content_id {
            Some(content_id) => update
                .update_expression(
                    "SET #state = :available, updated_at_ms = :now, copies.#home.#copy_state = :verified, copies.#home.updated_at_ms = :now, content_id = :content_id REMOVE expires_at",
                )
                .expression_attribute_values(":content_id", s(content_id)),
            None => update,
        };
        if let Written::Done(mut done) = self.conditional(update).await? {
            self.follow(Some(record), &mut done).await;
            return Ok(Written::Done(done));
        }
        // Already available (a repeated completion, or this write retried after its answer was
        // lost) is answered as it is, its index brought along if it is behind; removed or gone
        // is not.
        match self.get(record.id).await? {
            Some(mut current) if current.removal.is_none() && current.state == RecordState::Available => {
                if !current.is_index_current() {
                    self.follow(Some(record), &mut current).await;
                }
                Ok(Written::Done(Box::new(current)))
            }
            _ => Ok(Written::ConditionFailed),
        }
    }

    async fn set_copy_state(
        &self,
        id: FileId,
        role: CopyRole,
        state: CopyState,
        now_ms: i64,
        guard: Guard,
    ) -> Result<Written, PortError> {
        let mut values = HashMap::from([(":state".to_owned(), s(state.as_str())), (":now".to_owned(), n(now_ms))]);
        let condition = match guard {
            Guard::NotVerified => {
                values.insert(":verified".into(), s(CopyState::Verified.as_str()));
                "attribute_exists(id) AND attribute_not_exists(removed_at_ms) AND copies.#role.#state <> :verified"
            }
            Guard::Unchanged(seen) => {
                values.insert(":seen".into(), n(seen));
                "attribute_exists(id) AND attribute_not_exists(removed_at_ms) AND copies.#role.updated_at_ms = :seen"
            }
        };
        let update = self
            .update_record(id)
            .update_expression("SET copies.#role.#state = :state, copies.#role.updated_at_ms = :now")
            .condition_expression(condition)
            .expression_attribute_names("#role", role.as_str())
            .expression_attribute_names("#state", "state")
            .set_expression_attribute_values(Some(values));
        self.conditional(update).await
    }

    async fn scan(&self, after: Option<String>, limit: u32) -> Result<(Vec<FileRecord>, Option<String>), PortError> {
        let page = self
            .client
            .scan()
            .table_name(&self.table)
            .consistent_read(true)
            .limit(i32::try_from(limit).unwrap_or(i32::MAX))
            .set_exclusive_start_key(after.map(|id| HashMap::from([("id".to_owned(), s(id))])))
            .send()
            .await
            .map_err(|e| port_error("Scan", e))?;
        // Other items (tombstones, password attempts, blocked content) are not records.
        let records = page
            .items()
            .iter()
            .filter(|item| {
                item.get("id")
                    .and_then(|v| v.as_s().ok())
                    .is_some_and(|id| FileId::parse(id).is_ok())
            })
            .map(from_item)
            .collect::<Result<Vec<_>, _>>()?;
        // The key of whatever item the page ended on: the next page starts right after it.
        let next = page
            .last_evaluated_key()
            .and_then(|key| key.get("id"))
            .and_then(|v| v.as_s().ok())
            .cloned();
        Ok((records, next))
    }

    async fn is_blocked(&self, sha256: &str) -> Result<bool, PortError> {
        self.read_blocked(sha256).await
    }

    async fn block(&self, sha256: &str, now_ms: i64) -> Result<(), PortError> {
        self.write_blocked(sha256, now_ms).await
    }

    async fn password_attempts(&self, id: FileId, guesser: &str) -> Result<Option<PasswordAttempts>, PortError> {
        self.attempts_of(id, guesser).await
    }

    async fn record_wrong_password(
        &self,
        id: FileId,
        guesser: &str,
        now_ms: i64,
    ) -> Result<PasswordAttempts, PortError> {
        self.add_wrong_password(id, guesser, now_ms).await
    }

    async fn clear_wrong_passwords(&self, id: FileId, guesser: &str) -> Result<(), PortError> {
        self.reset_wrong_passwords(id, guesser).await
    }

    async fn region_health(
        &self,
        observer: &str,
        regions: [(CopyRole, &str); 2],
    ) -> Result<Vec<RegionHealth>, PortError> {
        self.read_region_health(observer, regions).await
    }

    async fn record_region_health(&self, health: &RegionHealth) -> Result<(), PortError> {
        self.write_region_health(health).await
    }

    async fn replication_summary(&self) -> Result<Option<ReplicationSummary>, PortError> {
        self.read_replication_summary().await
    }

    async fn sweep_pass(&self, region: CopyRole) -> Result<Option<SweepPass>, PortError> {
        self.read_sweep_pass(region).await
    }

    async fn save_sweep_pass(&self, region: CopyRole, pass: &SweepPass) -> Result<bool, PortError> {
        self.write_sweep_pass(region, pass).await
    }

    async fn record_replication_summary(&self, summary: &ReplicationSummary) -> Result<(), PortError> {
        self.write_replication_summary(summary).await
    }

    async fn list_public(
        &self,
        query: &ListQuery,
        now_ms: i64,
    ) -> Result<(Vec<FileRecord>, Option<ListCursor>), PortError> {
        let page = self.search_page(query, now_ms).await?;
        Ok((page.records, page.next))
    }

    async fn reindex(&self, record: &FileRecord) -> Result<Written, PortError> {
        self.write_index(None, record).await
    }
}
