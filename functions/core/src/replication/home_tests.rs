//! Files homed in the second region: announced there while the primary was down, copied back
//! to the primary bucket by the second region's replication, and never copied back and forth.
use twinshare_api::{CopyRole, CopyState, FileStatus, UploadPlan, Visibility};

use super::Replicated;
use crate::{
    fakes::{in_second_region, replication, replication_in, service, FakeService},
    ports::MetadataStore,
    service::test_support::{announce, announce_in_parts, available},
    ApiError, FileId, ObjectKey,
};

/// A file announced and completed through the second region's API while the primary is down.
async fn shared_in_second_region(svc: &FakeService) -> (ObjectKey, String) {
    svc.primary.set_down(true);
    let second = in_second_region(svc);
    let created = second
        .create_upload(announce("a.txt", Visibility::Listed), &Default::default())
        .await
        .unwrap();
    let UploadPlan::Single(put) = &created.upload else {
        panic!("{:?}", created.upload)
    };
    assert!(
        put.url.contains("replica"),
        "signed for the second region's bucket: {}",
        put.url
    );
    assert_eq!(created.file.home_region, "us-west-2");
    let key = FileId::parse(&created.file.id).unwrap().object_key();
    svc.replica.put(&key, b"abc");
    let done = second
        .complete_upload(&created.file.id, Some(&created.manage_token))
        .await
        .unwrap();
    assert_eq!(done.status, FileStatus::Available);
    let replica = done.copies.iter().find(|c| c.role == CopyRole::Replica).unwrap();
    assert_eq!(replica.state, CopyState::Verified, "the copy it was sent to");
    svc.primary.set_down(false);
    (key, created.manage_token)
}

#[tokio::test]
async fn the_primary_refuses_uploads_while_down_and_the_second_region_takes_them() {
    let svc = service();
    svc.primary.set_down(true);
    assert!(matches!(
        svc.create_upload(announce("a.txt", Visibility::Listed), &Default::default())
            .await,
        Err(ApiError::UploadsPaused(_))
    ));
    let (key, _) = shared_in_second_region(&svc).await;
    assert!(svc.replica.holds(&key) && !svc.primary.holds(&key));
}

#[tokio::test]
async fn its_own_bucket_copies_it_to_the_primary_and_the_copy_is_not_copied_back() {
    let svc = service();
    let (key, _) = shared_in_second_region(&svc).await;
    let replication = replication(&svc, 10);
    assert_eq!(
        replication.on_object_created("replica", key.as_str()).await.unwrap(),
        Replicated::Copied
    );
    assert_eq!(svc.primary.get(&key).unwrap(), b"abc");
    // The copy's own notification from the primary bucket: recognised, nothing copied back
    // (a copy back would overwrite the marker).
    svc.replica.put(&key, b"marker");
    assert_eq!(
        replication.on_object_created("primary", key.as_str()).await.unwrap(),
        Replicated::IsCopy
    );
    assert_eq!(svc.replica.get(&key).unwrap(), b"marker", "nothing written back");
    svc.replica.put(&key, b"abc");
    let file = svc.get_file(&key.file_id().to_string()).await.unwrap();
    assert_eq!(file.status, FileStatus::Redundant);
    assert_eq!(
        replication.on_object_created("replica", key.as_str()).await.unwrap(),
        Replicated::AlreadyVerified
    );
}

#[tokio::test]
async fn a_primary_upload_is_not_copied_from_its_replica_either() {
    let svc = service();
    let created = svc
        .create_upload(announce("a.txt", Visibility::Listed), &Default::default())
        .await
        .unwrap();
    assert_eq!(created.file.home_region, "eu-west-1");
    let key = FileId::parse(&created.file.id).unwrap().object_key();
    svc.primary.put(&key, b"abc");
    svc.complete_upload(&created.file.id, Some(&created.manage_token))
        .await
        .unwrap();
    let replication = replication(&svc, 10);
    assert_eq!(
        replication.on_object_created("primary", key.as_str()).await.unwrap(),
        Replicated::Copied
    );
    assert_eq!(
        replication.on_object_created("replica", key.as_str()).await.unwrap(),
        Replicated::IsCopy
    );
    assert_eq!(
        replication.on_object_created("elsewhere", key.as_str()).await.unwrap(),
        Replicated::NotOurs
    );
}

#[tokio::test]
async fn only_the_home_region_edits_completes_or_resumes() {
    let svc = service();
    let (key, token) = shared_in_second_region(&svc).await;
    let id = key.file_id().to_string();
    let edit = twinshare_api::EditFileRequest {
        name: Some("b.txt".into()),
        ..Default::default()
    };
    match svc.edit_file(&id, Some(&token), edit.clone()).await {
        Err(ApiError::HomeRegionAway { home, .. }) => assert_eq!(home, "us-west-2"),
        other => panic!("{other:?}"),
    }
    let edited = in_second_region(&svc).edit_file(&id, Some(&token), edit).await.unwrap();
    assert_eq!(edited.name, "b.txt");

    // A multipart upload started in the primary stays there: the second region says so.
    let created = svc
        .create_upload(announce_in_parts("big.bin"), &Default::default())
        .await
        .unwrap();
    let second = in_second_region(&svc);
    for outcome in [
        second
            .stored_parts(&created.file.id, Some(&created.manage_token))
            .await
            .map(|_| ()),
        second
            .complete_upload(&created.file.id, Some(&created.manage_token))
            .await
            .map(|_| ()),
    ] {
        match outcome {
            Err(ApiError::HomeRegionAway { home, what, .. }) => {
                assert_eq!(home, "eu-west-1");
                assert!(what.contains("upload"), "{what}");
            }
            other => panic!("{other:?}"),
        }
    }
}

#[tokio::test]
async fn either_region_deletes_and_both_copies_go() {
    let svc = service();
    let (key, token) = shared_in_second_region(&svc).await;
    replication(&svc, 10)
        .on_object_created("replica", key.as_str())
        .await
        .unwrap();
    svc.delete_file(&key.file_id().to_string(), Some(&token)).await.unwrap();
    assert!(!svc.primary.holds(&key) && !svc.replica.holds(&key));
}

/// Past the sweep's grace (60 s in the fakes): an unverified copy is overdue.
const PAST_GRACE_MS: i64 = 1_000 + 120_000;

#[tokio::test]
async fn each_regions_sweep_repairs_only_the_files_homed_in_it() {
    let svc = service();
    // Homed in the second region, its copy to the primary lost (its message never delivered).
    let (outage_upload, _) = shared_in_second_region(&svc).await;
    // Homed in the primary, its replica never copied.
    let (id, _) = available(&svc, announce("b.txt", Visibility::Listed)).await;
    let primary_upload = id.object_key();

    let second = replication_in(CopyRole::Replica, &svc, PAST_GRACE_MS)
        .sweep(1_000)
        .await
        .unwrap();
    assert_eq!(second.replicas_copied + second.primaries_restored, 1, "{second:?}");
    assert_eq!(
        second.not_redundant, 1,
        "the primary's file, counted, not written: {second:?}"
    );
    assert_eq!(svc.primary.get(&outage_upload).unwrap(), b"abc");
    assert!(!svc.replica.holds(&primary_upload), "the primary region's to repair");
    let outage_file = svc.get_file(&outage_upload.file_id().to_string()).await.unwrap();
    assert_eq!(outage_file.status, FileStatus::Redundant);

    let primary = replication_in(CopyRole::Primary, &svc, PAST_GRACE_MS)
        .sweep(1_000)
        .await
        .unwrap();
    assert_eq!((primary.replicas_copied, primary.not_redundant), (1, 0), "{primary:?}");
    assert_eq!(svc.replica.get(&primary_upload).unwrap(), b"abc");

    // Each keeps its own pass; only the primary's is the status page's summary.
    for region in [CopyRole::Primary, CopyRole::Replica] {
        let pass = svc.metadata.sweep_pass(region).await.unwrap().unwrap();
        assert_eq!((pass.saves, pass.cursor), (1, None), "{region:?}");
    }
    let summary = svc.metadata.replication_summary().await.unwrap().unwrap();
    assert_eq!((summary.files, summary.not_redundant), (2, 0));
}

#[tokio::test]
async fn a_file_homed_in_the_second_region_is_expired_by_its_sweep_alone() {
    let svc = service();
    let (key, _) = shared_in_second_region(&svc).await;
    replication(&svc, 10)
        .on_object_created("replica", key.as_str())
        .await
        .unwrap();
    let record = svc.metadata.get(key.file_id()).await.unwrap().unwrap();
    let after_expiry = record.expiry_ms.expect("files expire by default") + 1;

    let primary = replication_in(CopyRole::Primary, &svc, after_expiry)
        .sweep(1_000)
        .await
        .unwrap();
    assert_eq!((primary.expired, primary.orphans_deleted), (0, 0), "{primary:?}");
    assert!(
        svc.primary.holds(&key) && svc.replica.holds(&key),
        "left to its home region"
    );
    let untouched = svc.metadata.get(key.file_id()).await.unwrap().unwrap();
    assert!(untouched.removal.is_none());

    let second = replication_in(CopyRole::Replica, &svc, after_expiry)
        .sweep(1_000)
        .await
        .unwrap();
    assert_eq!(second.expired, 1, "{second:?}");
    assert!(!svc.primary.holds(&key) && !svc.replica.holds(&key));
    assert!(svc
        .metadata
        .get(key.file_id())
        .await
        .unwrap()
        .unwrap()
        .removal
        .is_some());
}
