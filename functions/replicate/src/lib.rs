//! Handler of `replicate`, generic over the ports.
//!
//! Each SQS message holds one S3 event notification. Messages of a batch are handled
//! concurrently; the reply names only those that must be retried (partial batch failure), so
//! one bad message does not redeliver the others. After the queue's maxReceiveCount a message
//! goes to the dead-letter queue.

use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent, SqsMessage};
use futures::future::join_all;
use serde::Deserialize;
use tracing::Instrument;
use twinshare_core::{
    ports::{Clock, Copier, MetadataStore, ObjectStore},
    replication::Replication,
};

pub async fn handle<S: ObjectStore, M: MetadataStore, X: Copier, C: Clock>(
    replication: &Replication<S, M, X, C>,
    event: SqsEvent,
) -> SqsBatchResponse {
    let outcomes = join_all(event.records.iter().map(|message| {
        let span = tracing::info_span!("message", message_id = message.message_id.as_deref().unwrap_or(""));
        async move { (message, process(replication, message).await) }.instrument(span)
    }))
    .await;
    let mut response = SqsBatchResponse::default();
    for (message, outcome) in outcomes {
        if let Err(why) = outcome {
            tracing::warn!(message_id = message.message_id.as_deref().unwrap_or(""), %why, "will be retried");
            let mut failure = BatchItemFailure::default();
            failure.item_identifier = message.message_id.clone().unwrap_or_default();
            response.batch_item_failures.push(failure);
        }
    }
    response
}

/// The part of an S3 event notification this function reads. Only these fields: the rest
/// (times, principals) differs between S3 and S3-compatible senders and is not needed.
#[derive(Debug, Deserialize)]
struct Notification {
    #[serde(rename = "Records")]
    records: Vec<NotificationRecord>,
}

#[derive(Debug, Deserialize)]
struct NotificationRecord {
    #[serde(rename = "eventName")]
    event_name: String,
    s3: NotificationS3,
}

#[derive(Debug, Deserialize)]
struct NotificationS3 {
    bucket: NotificationBucket,
    object: NotificationObject,
}

#[derive(Debug, Deserialize)]
struct NotificationBucket {
    name: String,
}

#[derive(Debug, Deserialize)]
struct NotificationObject {
    /// URL-encoded, `+` for a space.
    key: String,
}

/// `Err` means retry the message.
async fn process<S: ObjectStore, M: MetadataStore, X: Copier, C: Clock>(
    replication: &Replication<S, M, X, C>,
    message: &SqsMessage,
) -> Result<(), String> {
    let body = message.body.as_deref().unwrap_or_default();
    let json: serde_json::Value = serde_json::from_str(body).map_err(|e| format!("not JSON: {e}"))?;
    // S3 sends one when notifications are configured: nothing to copy.
    if json.get("Event").and_then(|e| e.as_str()) == Some("s3:TestEvent") {
        tracing::info!("s3:TestEvent ignored");
        return Ok(());
    }
    // A message that is not an S3 event can never succeed: retries take it to the DLQ, where
    // the alarm shows it to an operator.
    let event: Notification = serde_json::from_value(json).map_err(|e| format!("not an S3 event: {e}"))?;
    for record in &event.records {
        let (bucket, key) = (record.s3.bucket.name.as_str(), record.s3.object.key.as_str());
        if !record.event_name.starts_with("ObjectCreated") {
            tracing::info!(
                event_name = record.event_name,
                key,
                "not an ObjectCreated event; ignored"
            );
            continue;
        }
        let outcome = replication
            .on_object_created(bucket, key)
            .await
            .map_err(|e| e.to_string())?;
        tracing::info!(bucket, key, ?outcome, "replication");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use twinshare_api::{CopyRole, CopyState, CreateUploadRequest, Visibility};
    use twinshare_core::{
        fakes::{replication, service, FakeService},
        FileId,
    };

    use super::*;

    fn fixture(name: &str) -> SqsEvent {
        let path = format!("{}/events/{name}", env!("CARGO_MANIFEST_DIR"));
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
    }

    /// The fixture's first message, pointed at `key` in `bucket`.
    fn event_for(bucket: &str, key: &str) -> SqsEvent {
        let mut event = fixture("object-created.json");
        let body = event.records[0].body.take().unwrap();
        let body = body
            .replace("files/00000000000000000000000000000000", key)
            .replace("twinshare-primary", bucket);
        event.records[0].body = Some(body);
        event
    }

    async fn uploaded(svc: &FakeService) -> FileId {
        let request = CreateUploadRequest {
            name: "a.txt".into(),
            size: 3,
            sha256: Some("ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0=".into()),
            visibility: Visibility::Listed,
            ..Default::default()
        };
        let id = FileId::parse(&svc.create_upload(request, &Default::default()).await.unwrap().file.id).unwrap();
        svc.primary.put(&id.object_key(), b"abc");
        id
    }

    #[tokio::test]
    async fn the_fixture_for_an_unknown_object_is_acknowledged() {
        let svc = service();
        let response = handle(&replication(&svc, 10), fixture("object-created.json")).await;
        assert!(response.batch_item_failures.is_empty());
    }

    #[tokio::test]
    async fn a_batch_replicates_and_reports_only_the_failures() {
        let svc = service();
        let id = uploaded(&svc).await;
        let mut event = event_for(svc.primary.bucket(), id.object_key().as_str());
        let mut test_event = fixture("test-event.json");
        event.records.append(&mut test_event.records);
        let mut garbage = event.records[0].clone();
        garbage.message_id = Some("garbage".into());
        garbage.body = Some("{not json".into());
        event.records.push(garbage);

        let response = handle(&replication(&svc, 10), event).await;
        let failed: Vec<&str> = response
            .batch_item_failures
            .iter()
            .map(|f| f.item_identifier.as_str())
            .collect();
        assert_eq!(failed, ["garbage"]);
        let record = svc.metadata.get(id).await.unwrap().unwrap();
        assert_eq!(record.copy_state(CopyRole::Replica), Some(CopyState::Verified));
    }

    #[tokio::test]
    async fn a_replica_outage_asks_for_a_retry() {
        let svc = service();
        let id = uploaded(&svc).await;
        svc.replica.fail_next("replica down");
        let response = handle(
            &replication(&svc, 10),
            event_for(svc.primary.bucket(), id.object_key().as_str()),
        )
        .await;
        assert_eq!(response.batch_item_failures.len(), 1);
    }
}
