//! A client's wrong passwords on a file: one item per (file, guesser) beside the records.

use aws_sdk_dynamodb::types::ReturnValue;
use twinshare_core::{
    ports::{PasswordAttempts, PortError},
    FileId,
};

use super::{
    is_condition_failure,
    items::{bad, get_n, n, s},
    DynamoMetadata, Item,
};
use crate::errors::port_error;

/// How long a client's wrong passwords are remembered (the item's TTL).
const ATTEMPTS_KEPT_SECS: i64 = 24 * 60 * 60;

/// The key of a client's wrong-password count on a file, beside the file's record.
fn attempts_id(id: FileId, guesser: &str) -> String {
    format!("attempts#{id}#{guesser}")
}

fn attempts_from_item(item: &Item) -> Result<PasswordAttempts, PortError> {
    Ok(PasswordAttempts {
        failures: get_n(item, "failures")?,
        last_failure_ms: get_n(item, "last_failure_ms")?,
    })
}

impl DynamoMetadata {
    pub(super) async fn attempts_of(&self, id: FileId, guesser: &str) -> Result<Option<PasswordAttempts>, PortError> {
        let answer = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("id", s(attempts_id(id, guesser)))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| port_error("GetItem attempts", e))?;
        answer.item().map(attempts_from_item).transpose()
    }

    /// One update adds the failure, so concurrent guesses are all counted.
    pub(super) async fn add_wrong_password(
        &self,
        id: FileId,
        guesser: &str,
        now_ms: i64,
    ) -> Result<PasswordAttempts, PortError> {
        let answer = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("id", s(attempts_id(id, guesser)))
            .update_expression("ADD failures :one SET last_failure_ms = :now, expires_at = :ttl")
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":now", n(now_ms))
            .expression_attribute_values(":ttl", n(now_ms / 1000 + ATTEMPTS_KEPT_SECS))
            .return_values(ReturnValue::AllNew)
            .send()
            .await
            .map_err(|e| port_error("UpdateItem attempts", e))?;
        attempts_from_item(answer.attributes().ok_or_else(|| bad("attempts"))?)
    }

    pub(super) async fn reset_wrong_passwords(&self, id: FileId, guesser: &str) -> Result<(), PortError> {
        let answer = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("id", s(attempts_id(id, guesser)))
            .update_expression("SET failures = :zero")
            .condition_expression("attribute_exists(id)")
            .expression_attribute_values(":zero", n(0))
            .send()
            .await;
        match answer {
            Ok(_) => Ok(()),
            // Nothing to forget.
            Err(err) if is_condition_failure(&err) => Ok(()),
            Err(err) => Err(port_error("UpdateItem attempts", err)),
        }
    }
}
