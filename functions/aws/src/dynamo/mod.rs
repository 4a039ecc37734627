//! [`MetadataStore`] on DynamoDB.
//!
//! One item per file, keyed by `id`. Listed, available files also carry `list_pk = "public"` and
//! `list_sk = <created ms>#<id>`, which puts them (and only them) in the sparse index
//! [`PUBLIC_INDEX`], read newest first. Unfinished uploads carry `expires_at`, the table's TTL.

use std::collections::HashMap;

use aws_sdk_dynamodb::{
    error::{ProvideErrorMetadata, SdkError},
    types::{AttributeValue, KeysAndAttributes, ReturnValue},
};
use twinshare_api::{CopyRole, CopyState, Visibility};
use twinshare_core::{
    cursor::{ListCursor, MAX_INDEX_PAGES},
    health::{RegionHealth, ReplicationSummary},
    ports::{Guard, MetadataStore, PortError, Written},
    record::{FileRecord, RecordState},
    validate::ListQuery,
    FileId,
};

use crate::errors::port_error;

mod items;
use items::{bad, from_item, get_n, health_from_item, health_name, n, public_sort_key, s, to_item, SUMMARY};

/// Name of the sparse index of public files (see `template.yaml`).
pub const PUBLIC_INDEX: &str = "public-by-created";
const PUBLIC: &str = "public";

type Item = HashMap<String, AttributeValue>;

#[derive(Debug, Clone)]
pub struct DynamoMetadata {
    client: aws_sdk_dynamodb::Client,
    table: String,
    /// Small table keyed by `name`: one item per region's health, one for the sweep's summary.
    health_table: String,
}

impl DynamoMetadata {
    pub fn new(client: aws_sdk_dynamodb::Client, table: impl Into<String>, health_table: impl Into<String>) -> Self {
        DynamoMetadata {
            client,
            table: table.into(),
            health_table: health_table.into(),
        }
    }

    async fn put_health_item(&self, item: Item) -> Result<(), PortError> {
        self.client
            .put_item()
            .table_name(&self.health_table)
            .set_item(Some(item))
            .send()
            .await
            .map_err(|e| port_error("PutItem health", e))?;
        Ok(())
    }

    async fn get_health_item(&self, name: &str) -> Result<Option<Item>, PortError> {
        let answer = self
            .client
            .get_item()
            .table_name(&self.health_table)
            .key("name", s(name))
            .send()
            .await
            .map_err(|e| port_error("GetItem health", e))?;
        Ok(answer.item().cloned())
    }
}

/// The record as a conditional update left it (the update asked for ALL_NEW).
fn written(out: &aws_sdk_dynamodb::operation::update_item::UpdateItemOutput) -> Result<Written, PortError> {
    let item = out.attributes().ok_or_else(|| bad("attributes"))?;
    Ok(Written::Done(Box::new(from_item(item)?)))
}

/// Whether a conditional write (an update or a delete) failed its condition.
fn is_condition_failure<E: ProvideErrorMetadata>(
    err: &SdkError<E, aws_sdk_dynamodb::config::http::HttpResponse>,
) -> bool {
    err.as_service_error().and_then(ProvideErrorMetadata::code) == Some("ConditionalCheckFailedException")
}

impl MetadataStore for DynamoMetadata {
    async fn create(&self, record: &FileRecord) -> Result<(), PortError> {
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(to_item(record)))
            .condition_expression("attribute_not_exists(id)")
            .send()
            .await
            .map_err(|e| port_error("PutItem", e))?;
        Ok(())
    }

    async fn get(&self, id: FileId) -> Result<Option<FileRecord>, PortError> {
        let answer = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("id", s(id.to_string()))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| port_error("GetItem", e))?;
        answer.item().map(from_item).transpose()
    }

    async fn delete_upload(&self, id: FileId) -> Result<Written, PortError> {
        let answer = self
            .client
            .delete_item()
            .table_name(&self.table)
            .key("id", s(id.to_string()))
            .condition_expression("#state = :uploading")
            .expression_attribute_names("#state", "state")
            .expression_attribute_values(":uploading", s(RecordState::Uploading.as_str()))
            .return_values(ReturnValue::AllOld)
            .send()
            .await;
        match answer {
            Ok(out) => match out.attributes() {
                Some(item) => Ok(Written::Done(Box::new(from_item(item)?))),
                None => Ok(Written::ConditionFailed),
            },
            Err(err) if is_condition_failure(&err) => Ok(Written::ConditionFailed),
            Err(err) => Err(port_error("DeleteItem", err)),
        }
    }

    async fn mark_available(&self, record: &FileRecord, now_ms: i64) -> Result<Written, PortError> {
        let mut update = String::from(
            "SET #state = :available, updated_at_ms = :now, copies.#primary.#copy_state = :verified, copies.#primary.updated_at_ms = :now",
        );
        let mut values = HashMap::from([
            (":available".to_owned(), s(RecordState::Available.as_str())),
            (":uploading".to_owned(), s(RecordState::Uploading.as_str())),
            (":verified".to_owned(), s(CopyState::Verified.as_str())),
            (":now".to_owned(), n(now_ms)),
        ]);
        if record.visibility == Visibility::Listed {
            update.push_str(", list_pk = :public, list_sk = :list_sk");
            values.insert(":public".into(), s(PUBLIC));
            values.insert(":list_sk".into(), s(public_sort_key(record)));
        }
        update.push_str(" REMOVE expires_at");
        let answer = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("id", s(record.id.to_string()))
            .update_expression(update)
            .condition_expression("attribute_exists(id) AND #state = :uploading")
            .expression_attribute_names("#state", "state")
            .expression_attribute_names("#copy_state", "state")
            .expression_attribute_names("#primary", "primary")
            .set_expression_attribute_values(Some(values))
            .return_values(ReturnValue::AllNew)
            .send()
            .await;
        match answer {
            Ok(out) => written(&out),
            // Already available (a repeated completion), or gone: read it to tell which.
            Err(err) if is_condition_failure(&err) => match self.get(record.id).await? {
                Some(current) if current.state == RecordState::Available => Ok(Written::Done(Box::new(current))),
                _ => Ok(Written::ConditionFailed),
            },
            Err(err) => Err(port_error("UpdateItem", err)),
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
                "attribute_exists(id) AND copies.#role.#state <> :verified"
            }
            Guard::Unchanged(seen) => {
                values.insert(":seen".into(), n(seen));
                "attribute_exists(id) AND copies.#role.updated_at_ms = :seen"
            }
        };
        let answer = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("id", s(id.to_string()))
            .update_expression("SET copies.#role.#state = :state, copies.#role.updated_at_ms = :now")
            .condition_expression(condition)
            .expression_attribute_names("#role", role.as_str())
            .expression_attribute_names("#state", "state")
            .set_expression_attribute_values(Some(values))
            .return_values(ReturnValue::AllNew)
            .send()
            .await;
        match answer {
            Ok(out) => written(&out),
            Err(err) if is_condition_failure(&err) => Ok(Written::ConditionFailed),
            Err(err) => Err(port_error("UpdateItem", err)),
        }
    }

    async fn scan(&self, after: Option<FileId>, limit: u32) -> Result<(Vec<FileRecord>, Option<FileId>), PortError> {
        let page = self
            .client
            .scan()
            .table_name(&self.table)
            .consistent_read(true)
            .limit(i32::try_from(limit).unwrap_or(i32::MAX))
            .set_exclusive_start_key(after.map(|id| HashMap::from([("id".to_owned(), s(id.to_string()))])))
            .send()
            .await
            .map_err(|e| port_error("Scan", e))?;
        let records = page.items().iter().map(from_item).collect::<Result<Vec<_>, _>>()?;
        let next = page
            .last_evaluated_key()
            .and_then(|key| key.get("id"))
            .and_then(|v| v.as_s().ok())
            .and_then(|id| FileId::parse(id).ok());
        Ok((records, next))
    }

    /// Both regions' rows in one BatchGetItem: every download reads them, so one round trip.
    async fn region_health(&self) -> Result<Vec<RegionHealth>, PortError> {
        let roles = [CopyRole::Primary, CopyRole::Replica];
        let keys = KeysAndAttributes::builder()
            .set_keys(Some(
                roles
                    .iter()
                    .map(|role| HashMap::from([("name".to_owned(), s(health_name(*role)))]))
                    .collect(),
            ))
            .consistent_read(false)
            .build()
            .map_err(|e| PortError::Other(format!("health keys: {e}")))?;
        let answer = self
            .client
            .batch_get_item()
            .request_items(&self.health_table, keys)
            .send()
            .await
            .map_err(|e| port_error("BatchGetItem health", e))?;
        let items = answer
            .responses()
            .and_then(|tables| tables.get(&self.health_table))
            .map(Vec::as_slice)
            .unwrap_or_default();
        let mut all = Vec::new();
        for role in roles {
            let name = health_name(role);
            if let Some(item) = items
                .iter()
                .find(|item| item.get("name").and_then(|v| v.as_s().ok()) == Some(&name))
            {
                all.push(health_from_item(role, item)?);
            }
        }
        Ok(all)
    }

    async fn record_region_health(&self, health: &RegionHealth) -> Result<(), PortError> {
        let mut item = HashMap::from([
            ("name".to_owned(), s(health_name(health.role))),
            ("region".to_owned(), s(&health.region)),
            ("status".to_owned(), s(health.status.as_str())),
            ("checked_at_ms".to_owned(), n(health.checked_at_ms)),
            ("latency_ms".to_owned(), n(health.latency_ms)),
            ("consecutive_failures".to_owned(), n(health.consecutive_failures)),
        ]);
        if let Some(error) = &health.last_error {
            item.insert("last_error".into(), s(error));
        }
        self.put_health_item(item).await
    }

    async fn replication_summary(&self) -> Result<Option<ReplicationSummary>, PortError> {
        let Some(item) = self.get_health_item(SUMMARY).await? else {
            return Ok(None);
        };
        Ok(Some(ReplicationSummary {
            not_redundant: get_n(&item, "not_redundant")?,
            oldest_pending_since_ms: item
                .get("oldest_pending_since_ms")
                .and_then(|v| v.as_n().ok())
                .and_then(|v| v.parse().ok()),
            swept_at_ms: get_n(&item, "swept_at_ms")?,
        }))
    }

    async fn record_replication_summary(&self, summary: &ReplicationSummary) -> Result<(), PortError> {
        let mut item = HashMap::from([
            ("name".to_owned(), s(SUMMARY)),
            ("not_redundant".to_owned(), n(summary.not_redundant)),
            ("swept_at_ms".to_owned(), n(summary.swept_at_ms)),
        ]);
        if let Some(since) = summary.oldest_pending_since_ms {
            item.insert("oldest_pending_since_ms".into(), n(since));
        }
        self.put_health_item(item).await
    }

    async fn list_public(&self, query: &ListQuery) -> Result<(Vec<FileRecord>, Option<ListCursor>), PortError> {
        let mut key_condition = String::from("list_pk = :public");
        let mut values = HashMap::from([(":public".to_owned(), s(PUBLIC))]);
        if let Some(after) = &query.after {
            key_condition.push_str(" AND list_sk < :after");
            values.insert(":after".into(), s(after.sort_key()));
        }
        let mut filters = Vec::new();
        if let Some(search) = &query.search {
            filters.push("contains(name_lower, :search)");
            values.insert(":search".into(), s(search));
        }
        if let Some(uploader) = &query.uploader {
            filters.push("uploader_lower = :uploader");
            values.insert(":uploader".into(), s(uploader));
        }
        let limit = query.limit as usize;
        let mut found: Vec<FileRecord> = Vec::new();
        let mut start: Option<Item> = None;
        for _ in 0..MAX_INDEX_PAGES {
            let mut request = self
                .client
                .query()
                .table_name(&self.table)
                .index_name(PUBLIC_INDEX)
                .key_condition_expression(&key_condition)
                .set_expression_attribute_values(Some(values.clone()))
                .scan_index_forward(false)
                // One more than asked, to know whether a next page exists.
                .limit(i32::try_from(limit + 1).unwrap_or(i32::MAX))
                .set_exclusive_start_key(start.take());
            if !filters.is_empty() {
                request = request.filter_expression(filters.join(" AND "));
            }
            let page = request.send().await.map_err(|e| port_error("Query", e))?;
            for item in page.items() {
                found.push(from_item(item)?);
            }
            if found.len() > limit {
                found.truncate(limit);
                let last = found.last().map(|r| ListCursor {
                    created_at_ms: r.created_at_ms,
                    id: r.id,
                });
                return Ok((found, last));
            }
            match page.last_evaluated_key() {
                Some(key) => start = Some(key.clone()),
                None => return Ok((found, None)),
            }
        }
        // Read the most index pages allowed without filling the page: continue from there.
        let resume = start
            .as_ref()
            .and_then(|key| key.get("list_sk"))
            .and_then(|v| v.as_s().ok())
            .and_then(|sk| ListCursor::from_sort_key(sk));
        Ok((found, resume))
    }
}
