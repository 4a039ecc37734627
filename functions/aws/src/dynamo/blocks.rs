//! What the operator blocked: one item per content identity beside the records
//! (`blocked#<sha256>`, read by every announcement of a file sent in one PUT, and
//! `blocked#<composite sha256>-<parts>`, read by the completion of one sent in parts) and per
//! address (`blocked#client:<hash>`, read by every announcement).

use twinshare_core::ports::PortError;

use super::{
    is_condition_failure,
    items::{n, s},
    DynamoMetadata,
};
use crate::errors::port_error;

fn blocked_id(sha256: &str) -> String {
    format!("blocked#{sha256}")
}

impl DynamoMetadata {
    pub(super) async fn read_blocked(&self, sha256: &str) -> Result<bool, PortError> {
        let answer = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("id", s(blocked_id(sha256)))
            .consistent_read(true)
            .projection_expression("id")
            .send()
            .await
            .map_err(|e| port_error("GetItem blocked", e))?;
        Ok(answer.item().is_some())
    }

    /// Written once: blocking again keeps the first block's time.
    pub(super) async fn write_blocked(&self, sha256: &str, now_ms: i64) -> Result<(), PortError> {
        let answer = self
            .client
            .put_item()
            .table_name(&self.table)
            .item("id", s(blocked_id(sha256)))
            .item("blocked_at_ms", n(now_ms))
            .condition_expression("attribute_not_exists(id)")
            .send()
            .await;
        match answer {
            Ok(_) => Ok(()),
            Err(err) if is_condition_failure(&err) => Ok(()),
            Err(err) => Err(port_error("PutItem blocked", err)),
        }
    }
}
