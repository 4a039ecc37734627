//! Replication and repair against moto with the real SDK: events from the primary bucket's
//! notifications through the real queue to `replicate`, and the sweep.

use integration_tests::{sqs_event, stack, Stack};
use twinshare_api::{CopyRole, CopyState, FileStatus, FileView};
use twinshare_core::ServiceSettings;

fn replica_state(file: &FileView) -> CopyState {
    file.copies
        .iter()
        .find(|c| c.role == CopyRole::Replica)
        .map(|c| c.state)
        .expect("a replica copy")
}

async fn shared_and_replicated(stack: &Stack, name: &str, bytes: &[u8]) -> FileView {
    let file = stack.share(name, bytes, None, "listed").await;
    let (handled, failed) = stack.deliver_events().await;
    assert!(handled >= 1 && failed == 0, "handled {handled}, failed {failed}");
    stack.file(&file.id).await
}

#[tokio::test]
async fn an_upload_becomes_redundant_through_the_queue() {
    let stack = stack(ServiceSettings::default()).await;
    let bytes = b"two regions".repeat(10_000);
    let file = shared_and_replicated(&stack, "a.txt", &bytes).await;
    assert_eq!(file.status, FileStatus::Redundant);
    assert_eq!(replica_state(&file), CopyState::Verified);
    assert_eq!(stack.object(CopyRole::Replica, &file.id).await.unwrap(), bytes);
    let listed = stack.api("GET", "/api/files", None).await;
    assert!(String::from_utf8_lossy(listed.body().as_ref()).contains("\"redundant\""));
}

#[tokio::test]
async fn the_same_event_three_times_gives_one_copy_and_one_record() {
    let stack = stack(ServiceSettings::default()).await;
    let file = stack.share("dup.txt", b"once", None, "listed").await;
    let received = stack
        .sqs
        .receive_message()
        .queue_url(&stack.queue_url)
        .max_number_of_messages(10)
        .send()
        .await
        .unwrap();
    let message = received
        .messages()
        .iter()
        .find(|m| m.body().is_some_and(|b| b.contains(&file.id)))
        .unwrap()
        .clone();

    let response = replicate::handle(&stack.replicate, sqs_event(std::slice::from_ref(&message))).await;
    assert!(response.batch_item_failures.is_empty());
    let after_first = stack.file(&file.id).await;
    // Twice more, once concurrently with itself.
    let twice = sqs_event(&[message.clone(), message.clone()]);
    assert!(replicate::handle(&stack.replicate, twice)
        .await
        .batch_item_failures
        .is_empty());
    assert_eq!(
        stack.file(&file.id).await,
        after_first,
        "repeated deliveries change nothing"
    );
    assert_eq!(replica_state(&after_first), CopyState::Verified);
    let listed = stack
        .replica_s3
        .list_objects_v2()
        .bucket(integration_tests::REPLICA_BUCKET)
        .send()
        .await
        .unwrap();
    assert_eq!(listed.key_count(), Some(1));
    assert_eq!(stack.object(CopyRole::Replica, &file.id).await.unwrap(), b"once");
}

#[tokio::test]
async fn a_replica_outage_during_a_burst_loses_nothing() {
    let mut stack = stack(ServiceSettings::default()).await;
    stack.replica.stop();
    let mut files = Vec::new();
    for i in 0..10 {
        files.push(
            stack
                .share(
                    &format!("burst {i}.txt"),
                    format!("burst {i}").as_bytes(),
                    None,
                    "listed",
                )
                .await,
        );
    }
    // Ten notifications and S3's test event, which needs no copy.
    let (handled, failed) = stack.deliver_events().await;
    assert_eq!(
        (handled, failed),
        (11, 10),
        "every copy failed and was left for a retry"
    );
    for file in &files {
        let file = stack.file(&file.id).await;
        assert_eq!(
            file.status,
            FileStatus::Available,
            "downloadable from the primary meanwhile"
        );
        assert_eq!(replica_state(&file), CopyState::Failed);
    }

    stack.restart_replica_empty();
    let report = sweep::handle(&stack.sweep).await.unwrap();
    assert_eq!(report["replicas_copied"], 10, "{report}");
    for file in &files {
        assert_eq!(stack.file(&file.id).await.status, FileStatus::Redundant);
        let expected = file.name.trim_end_matches(".txt").as_bytes().to_vec();
        assert_eq!(stack.object(CopyRole::Replica, &file.id).await.unwrap(), expected);
    }
}

#[tokio::test]
async fn the_sweep_restores_a_replica_deleted_behind_our_back() {
    let stack = stack(ServiceSettings::default()).await;
    let file = shared_and_replicated(&stack, "r.txt", b"replica bytes").await;
    stack.delete_object(CopyRole::Replica, &file.id).await;
    let report = sweep::handle(&stack.sweep).await.unwrap();
    assert_eq!(report["replicas_copied"], 1, "{report}");
    assert_eq!(
        stack.object(CopyRole::Replica, &file.id).await.unwrap(),
        b"replica bytes"
    );
    assert_eq!(stack.file(&file.id).await.status, FileStatus::Redundant);
}

#[tokio::test]
async fn the_sweep_restores_a_primary_deleted_behind_our_back() {
    let stack = stack(ServiceSettings::default()).await;
    let file = shared_and_replicated(&stack, "p.txt", b"primary bytes").await;
    stack.delete_object(CopyRole::Primary, &file.id).await;
    let report = sweep::handle(&stack.sweep).await.unwrap();
    assert_eq!(report["primaries_restored"], 1, "{report}");
    assert_eq!(
        stack.object(CopyRole::Primary, &file.id).await.unwrap(),
        b"primary bytes"
    );
    // Restoring the primary notifies the queue again: that event must change nothing.
    stack.deliver_events().await;
    assert_eq!(stack.file(&file.id).await.status, FileStatus::Redundant);
    let report = sweep::handle(&stack.sweep).await.unwrap();
    assert_eq!(
        (
            report["replicas_copied"].as_u64(),
            report["primaries_restored"].as_u64()
        ),
        (Some(0), Some(0))
    );
}

#[tokio::test]
async fn events_for_objects_without_a_record_are_acknowledged() {
    let stack = stack(ServiceSettings::default()).await;
    let stray = "0123456789abcdef0123456789abcdef";
    stack
        .primary_s3
        .put_object()
        .bucket(integration_tests::BUCKET)
        .key(format!("files/{stray}"))
        .body(b"stray".to_vec().into())
        .send()
        .await
        .unwrap();
    let (handled, failed) = stack.deliver_events().await;
    assert!(handled >= 1, "the notification arrived");
    assert_eq!(failed, 0, "acknowledged, not retried forever");
    assert_eq!(stack.object(CopyRole::Replica, stray).await, None);
}

/// On AWS both buckets are on one S3 service and the copy is server-side: CopyObject, or
/// UploadPartCopy ranges for objects over 5 GiB (here, with the limit lowered to 5 MiB).
#[tokio::test]
async fn server_side_copy_between_buckets_of_one_s3_service() {
    use twinshare_aws::{CopyMode, S3Copier, S3ObjectStore};
    use twinshare_core::{ports::Copier, FileId};

    let stack = stack(ServiceSettings::default()).await;
    let same_service = "twinshare-same-service-replica";
    let location = aws_sdk_s3::types::CreateBucketConfiguration::builder()
        .location_constraint(aws_sdk_s3::types::BucketLocationConstraint::EuWest1)
        .build();
    stack
        .primary_s3
        .create_bucket()
        .bucket(same_service)
        .create_bucket_configuration(location)
        .send()
        .await
        .unwrap();
    let store = |bucket: &str| S3ObjectStore::new(stack.primary_s3.clone(), integration_tests::REGION, bucket);
    let copier = S3Copier::new(
        store(integration_tests::BUCKET),
        store(same_service),
        CopyMode::ServerSide,
    );
    const MIB: u64 = 1024 * 1024;
    let in_parts = copier.clone().with_part_copy(5 * MIB, 5 * MIB);
    // 12 MiB and a bit: three ranges, the last one short.
    let large: Vec<u8> = (0..12 * MIB + 17).map(|i| (i * 7 % 253) as u8).collect();

    for (copier, bytes) in [(&copier, b"copied by S3 itself".to_vec()), (&in_parts, large)] {
        let file = stack.share("server side.bin", &bytes, None, "listed").await;
        let key = FileId::parse(&file.id).unwrap().object_key();
        let copied = copier
            .copy(CopyRole::Primary, &key)
            .await
            .unwrap()
            .expect("the source exists");
        assert_eq!(copied.size, bytes.len() as u64);
        if let (Some(copied), Some(declared)) = (&copied.sha256, &file.sha256) {
            assert_eq!(copied, declared, "S3's SHA-256 of the copy");
        }
        let object = stack
            .primary_s3
            .get_object()
            .bucket(same_service)
            .key(key.as_str())
            .send()
            .await
            .unwrap();
        assert!(
            object.body.collect().await.unwrap().into_bytes().as_ref() == bytes.as_slice(),
            "the copy of {} bytes differs",
            bytes.len()
        );
    }
    let open = stack
        .primary_s3
        .list_multipart_uploads()
        .bucket(same_service)
        .send()
        .await
        .unwrap();
    assert_eq!(open.uploads().len(), 0, "a part copy was left open");

    let absent = FileId::random().object_key();
    assert_eq!(copier.copy(CopyRole::Primary, &absent).await.unwrap(), None);
    assert_eq!(in_parts.copy(CopyRole::Primary, &absent).await.unwrap(), None);
}
