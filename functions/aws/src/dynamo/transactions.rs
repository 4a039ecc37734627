//! Transactions (TransactWriteItems) that concurrent ones may cancel: the storage counter and a
//! client's announcement counts are hot items, so a transaction cancelled by another
//! (`TransactionConflict`) is tried again after a short random wait; one cancelled by a failed
//! condition answers which item's.

use aws_sdk_dynamodb::{
    error::SdkError, operation::transact_write_items::TransactWriteItemsError, types::TransactWriteItem,
};
use twinshare_core::ports::PortError;

use super::DynamoMetadata;
use crate::errors::port_error;

/// Attempts of a transaction that concurrent ones on the counter cancelled.
const CONFLICT_ATTEMPTS: usize = 8;

/// Why a transaction was cancelled, as far as retrying is concerned.
enum Cancelled {
    /// The item at this index failed its condition.
    Condition(usize),
    /// Another transaction held an item (or the reasons were not given): worth another try.
    Conflict,
}

fn cancellation(
    err: &SdkError<TransactWriteItemsError, aws_sdk_dynamodb::config::http::HttpResponse>,
) -> Option<Cancelled> {
    let Some(TransactWriteItemsError::TransactionCanceledException(cancelled)) = err.as_service_error() else {
        return None;
    };
    let failed = cancelled
        .cancellation_reasons()
        .iter()
        .position(|reason| reason.code() == Some("ConditionalCheckFailed"));
    Some(failed.map_or(Cancelled::Conflict, Cancelled::Condition))
}

/// A short wait, spread at random so that transactions cancelled together do not retry
/// together (`attempt` 1, 2, …: up to 20, 40, … ms).
async fn jittered(attempt: usize) {
    let ceiling = 20u64 << attempt.min(6);
    let spread = u64::from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .subsec_nanos(),
    );
    tokio::time::sleep(std::time::Duration::from_millis(spread % ceiling + 1)).await;
}

impl DynamoMetadata {
    /// Runs the transaction, again while concurrent ones cancel it; the index of the item whose
    /// condition failed, if one did.
    pub(super) async fn transact(&self, items: Vec<TransactWriteItem>, what: &str) -> Result<Option<usize>, PortError> {
        for attempt in 1..=CONFLICT_ATTEMPTS {
            let answer = self
                .client
                .transact_write_items()
                .set_transact_items(Some(items.clone()))
                .send()
                .await;
            match answer {
                Ok(_) => return Ok(None),
                Err(err) => match cancellation(&err) {
                    Some(Cancelled::Condition(index)) => return Ok(Some(index)),
                    Some(Cancelled::Conflict) if attempt < CONFLICT_ATTEMPTS => jittered(attempt).await,
                    _ => return Err(port_error(what, err)),
                },
            }
        }
        unreachable!("the last attempt returns")
    }
}
