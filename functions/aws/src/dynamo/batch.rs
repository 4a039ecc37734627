//! Reading items of the files table by key, many at once: BatchGetItem, strongly consistent,
//! 100 keys a call, retrying what DynamoDB leaves unprocessed.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::KeysAndAttributes;
use twinshare_core::ports::PortError;

use super::{items::s, DynamoMetadata, Item};
use crate::errors::port_error;

/// Keys per BatchGetItem (DynamoDB's limit).
const BATCH: usize = 100;
/// Rounds of retrying what a throttled batch call (BatchGetItem, BatchWriteItem) left
/// unprocessed.
pub(super) const UNPROCESSED_RETRIES: usize = 5;

/// The wait before retry round `retry` (1, 2, …) of what a batch call left unprocessed.
pub(super) async fn back_off(retry: usize) {
    tokio::time::sleep(std::time::Duration::from_millis(50 << retry)).await;
}

impl DynamoMetadata {
    /// The items with these ids that exist, in any order.
    pub(super) async fn batch_get(&self, ids: &[String]) -> Result<Vec<Item>, PortError> {
        let mut found = Vec::with_capacity(ids.len());
        for batch in ids.chunks(BATCH) {
            let mut keys: Vec<HashMap<String, _>> = batch
                .iter()
                .map(|id| HashMap::from([("id".to_owned(), s(id))]))
                .collect();
            for retry in 0..=UNPROCESSED_RETRIES {
                if retry > 0 {
                    back_off(retry).await;
                }
                let request = KeysAndAttributes::builder()
                    .set_keys(Some(keys))
                    .consistent_read(true)
                    .build()
                    .map_err(|e| PortError::Other(format!("item keys: {e}")))?;
                let answer = self
                    .client
                    .batch_get_item()
                    .request_items(&self.table, request)
                    .send()
                    .await
                    .map_err(|e| port_error("BatchGetItem", e))?;
                if let Some(items) = answer.responses().and_then(|tables| tables.get(&self.table)) {
                    found.extend(items.iter().cloned());
                }
                keys = answer
                    .unprocessed_keys()
                    .and_then(|left| left.get(&self.table))
                    .map(|left| left.keys().to_vec())
                    .unwrap_or_default();
                if keys.is_empty() {
                    break;
                }
            }
            if !keys.is_empty() {
                return Err(PortError::Unavailable("the table throttled the read".into()));
            }
        }
        Ok(found)
    }
}
