//! Per-client announcement counts: one item per (client, hour) and per (client, day) beside the
//! records (`rate#<client>#h<n>`, `rate#<client>#d<n>`), expired by the table's TTL a day after
//! their window. Both are counted in one transaction whose conditions are the limits, so
//! concurrent announcements of one client cannot pass them together.

use aws_sdk_dynamodb::types::{TransactWriteItem, Update};
use twinshare_core::{
    ports::PortError,
    rate::{self, Limit, RateLimits},
};

use super::{
    items::{n, s},
    DynamoMetadata,
};

impl DynamoMetadata {
    pub(super) async fn count_announcement(
        &self,
        client: &str,
        size: u64,
        now_ms: i64,
        limits: RateLimits,
    ) -> Result<Option<Limit>, PortError> {
        let (hour, day) = rate::windows(now_ms);
        let ttl = rate::windows_expire_at_secs(now_ms);
        let room = match limits.bytes_per_day.map(|max| max.checked_sub(size)) {
            Some(None) => return Ok(Some(Limit::BytesPerDay)),
            Some(Some(room)) => Some(room),
            None => None,
        };
        let window = |key: String, counter: &str, add: u64| {
            Update::builder()
                .table_name(&self.table)
                .key("id", s(format!("rate#{client}#{key}")))
                .update_expression("ADD #count :add SET expires_at = :ttl")
                .expression_attribute_names("#count", counter)
                .expression_attribute_values(":add", n(add))
                .expression_attribute_values(":ttl", n(ttl))
        };
        let uploads = window(hour, "uploads", 1);
        let uploads = match limits.uploads_per_hour {
            Some(max) => uploads
                .condition_expression("attribute_not_exists(#count) OR #count < :max")
                .expression_attribute_values(":max", n(max)),
            None => uploads,
        };
        let bytes = window(day, "bytes", size);
        let bytes = match room {
            Some(room) => bytes
                .condition_expression("attribute_not_exists(#count) OR #count <= :room")
                .expression_attribute_values(":room", n(room)),
            None => bytes,
        };
        let built = |update: aws_sdk_dynamodb::types::builders::UpdateBuilder| {
            update
                .build()
                .map(|update| TransactWriteItem::builder().update(update).build())
                .map_err(|e| PortError::Other(format!("rate transaction: {e}")))
        };
        let items = vec![built(uploads)?, built(bytes)?];
        Ok(match self.transact(items, "TransactWriteItems rate").await? {
            None => None,
            Some(0) => Some(Limit::UploadsPerHour),
            Some(_) => Some(Limit::BytesPerDay),
        })
    }
}
