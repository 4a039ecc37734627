//! Files homed in the second region: announced there while the primary was down, copied back
//! to the primary bucket by the second region's replication, and never copied back and forth.
use twinshare_api::{CopyRole, CopyState, FileStatus, UploadPlan, Visibility};

use super::Replicated;
use crate::{
    fakes::{in_second_region, replication, service, FakeService},
    service::test_support::{announce, announce_in_parts},
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
