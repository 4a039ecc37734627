//! Who may upload and how much, on fakes: each upload mode, blocked addresses, per-client
//! limits, and the storage quota from the announcement to the removal (the sweep's repairs of the count: `replication/sweep_tests.rs`).

use twinshare_api::Visibility;

use super::test_support::{announce, available, service};
use crate::{
    access::UploadAccess,
    fakes::{replication, FakeService},
    password,
    ports::MetadataStore,
    quota::StorageUsage,
    rate::RateLimits,
    ApiError, ServiceSettings, Uploader,
};

fn with_code(code: &str) -> Uploader<'_> {
    Uploader {
        code: Some(code),
        address: "198.51.100.7",
    }
}

fn with(settings: ServiceSettings) -> FakeService {
    FakeService { settings, ..service() }
}

fn quota(bytes: u64) -> FakeService {
    with(ServiceSettings {
        storage_quota_bytes: Some(bytes),
        ..Default::default()
    })
}

async fn used(svc: &FakeService) -> (u64, u64) {
    let usage = svc.metadata.storage_usage().await.unwrap();
    (usage.bytes, usage.files)
}

#[tokio::test]
async fn each_upload_mode_admits_whom_it_says_and_refuses_before_anything_is_written() {
    let code = with(ServiceSettings {
        upload_access: UploadAccess::Code {
            hash: password::hash("team-42").unwrap(),
        },
        ..Default::default()
    });
    let request = || announce("a.txt", Visibility::Listed);
    assert_eq!(
        code.create_upload(request(), &Default::default()).await.unwrap_err(),
        ApiError::UploadCodeMissing
    );
    assert_eq!(
        code.create_upload(request(), &with_code("team-41")).await.unwrap_err(),
        ApiError::UploadCodeInvalid
    );
    assert!(code.metadata.is_empty() && code.primary.open_uploads() == 0);
    assert!(code.create_upload(request(), &with_code("team-42")).await.is_ok());

    let closed = with(ServiceSettings {
        upload_access: UploadAccess::Closed,
        ..Default::default()
    });
    assert_eq!(
        closed
            .create_upload(request(), &with_code("team-42"))
            .await
            .unwrap_err(),
        ApiError::UploadsClosed
    );
    assert!(closed.metadata.is_empty());
    assert_eq!(
        closed.status().await.unwrap().uploads.mode,
        twinshare_api::UploadMode::Closed
    );
}

#[tokio::test]
async fn an_upload_past_the_quota_is_refused_up_front_and_deleting_frees_the_room() {
    // Each announced file takes 3 bytes: room for two.
    let svc = quota(7);
    let (first, token) = available(&svc, announce("one.txt", Visibility::Listed)).await;
    svc.create_upload(announce("two.txt", Visibility::Listed), &Default::default())
        .await
        .unwrap();
    assert_eq!(used(&svc).await, (6, 2), "an upload in progress counts too");
    assert_eq!(
        svc.create_upload(announce("three.txt", Visibility::Listed), &Default::default())
            .await
            .unwrap_err(),
        ApiError::QuotaExceeded { needed: 3, free: 1 }
    );
    assert_eq!(svc.metadata.len(), 2, "nothing recorded for the refused one");
    let status = svc.status().await.unwrap().uploads;
    assert_eq!((status.quota_bytes, status.used_bytes), (Some(7), Some(6)));

    svc.delete_file(&first.to_string(), Some(&token)).await.unwrap();
    assert_eq!(used(&svc).await, (3, 1));
    svc.create_upload(announce("three.txt", Visibility::Listed), &Default::default())
        .await
        .unwrap();
}

#[tokio::test]
async fn expiry_and_abandoned_uploads_free_their_room_through_the_sweep() {
    let svc = quota(6);
    let expiring = twinshare_api::CreateUploadRequest {
        expires_in_secs: Some(60),
        ..announce("for a minute.txt", Visibility::Listed)
    };
    available(&svc, expiring).await;
    svc.create_upload(announce("never sent.txt", Visibility::Listed), &Default::default())
        .await
        .unwrap();
    assert_eq!(used(&svc).await, (6, 2));
    // A day later the file has expired and no URL of the upload can write any more.
    let report = replication(&svc, 1_000 + 24 * 3600 * 1000).sweep(1_000).await.unwrap();
    assert_eq!((report.expired, report.abandoned), (1, 1));
    assert_eq!(used(&svc).await, (0, 0));
}

#[tokio::test]
async fn the_sweep_charges_files_from_before_the_quota_and_repairs_a_counter_off_the_records() {
    let svc = service();
    let (id, _) = available(&svc, announce("old.txt", Visibility::Listed)).await;
    // As a record written before the quota existed, and a counter that lost it.
    let mut old = svc.metadata.get(id).await.unwrap().unwrap();
    old.charged = false;
    svc.metadata.put_record(old);
    svc.metadata.put_usage(StorageUsage::default());

    let report = replication(&svc, 2_000).sweep(1_000).await.unwrap();
    assert_eq!(report.charges_settled, 1);
    assert!(!report.usage_repaired, "the pass changed the counter itself");
    assert_eq!(used(&svc).await, (3, 1));
    assert!(svc.metadata.get(id).await.unwrap().unwrap().charged);

    // A counter that drifted (a hand edit): the next quiet pass sets it right, once.
    let drifted = StorageUsage {
        bytes: 1_000,
        files: 9,
        changes: 40,
    };
    svc.metadata.put_usage(drifted);
    let report = replication(&svc, 3_000).sweep(1_000).await.unwrap();
    assert!(report.usage_repaired);
    assert_eq!(used(&svc).await, (3, 1));
    let report = replication(&svc, 4_000).sweep(1_000).await.unwrap();
    assert!(!report.usage_repaired && report.charges_settled == 0);
}

#[tokio::test]
async fn a_client_past_its_hourly_uploads_waits_for_the_next_hour_and_others_do_not() {
    let svc = with(ServiceSettings {
        rate_limits: RateLimits {
            uploads_per_hour: Some(2),
            bytes_per_day: None,
        },
        ..Default::default()
    });
    let from = |address| Uploader { code: None, address };
    for _ in 0..2 {
        svc.create_upload(announce("a.txt", Visibility::Listed), &from("198.51.100.7"))
            .await
            .unwrap();
    }
    let refused = svc
        .create_upload(announce("a.txt", Visibility::Listed), &from("viewer 198.51.100.7"))
        .await
        .unwrap_err();
    // The test clock is 1 s past the epoch's first hour.
    let retry = match &refused {
        ApiError::RateLimited { retry_after_secs, .. } => *retry_after_secs,
        other => panic!("{other:?}"),
    };
    assert_eq!(retry, 3_599);
    assert!(refused.to_string().contains("2 uploads an hour"), "{refused}");
    assert_eq!(svc.metadata.len(), 2, "nothing recorded for the refused one");
    assert!(svc
        .create_upload(announce("a.txt", Visibility::Listed), &from("203.0.113.9"))
        .await
        .is_ok());
}

#[tokio::test]
async fn a_blocked_address_cannot_announce_and_a_file_over_the_daily_bytes_is_a_400() {
    let svc = with(ServiceSettings {
        rate_limits: RateLimits {
            uploads_per_hour: None,
            bytes_per_day: Some(2),
        },
        ..Default::default()
    });
    let blocked = Uploader {
        code: None,
        address: "viewer 198.51.100.7",
    };
    let refused = svc.create_upload(announce("a.txt", Visibility::Listed), &blocked).await;
    assert!(
        matches!(refused, Err(ApiError::Invalid { field: "size", .. })),
        "{refused:?}"
    );
    svc.block_client("198.51.100.7").await.unwrap();
    assert_eq!(
        svc.create_upload(announce("a.txt", Visibility::Listed), &blocked)
            .await
            .unwrap_err(),
        ApiError::UploaderBlocked
    );
}

#[tokio::test]
async fn guessing_the_upload_code_is_held_to_the_hourly_limit() {
    let svc = with(ServiceSettings {
        upload_access: UploadAccess::Code {
            hash: password::hash("team-42").unwrap(),
        },
        rate_limits: RateLimits {
            uploads_per_hour: Some(3),
            bytes_per_day: None,
        },
        ..Default::default()
    });
    let guess = |code| Uploader {
        code: Some(code),
        address: "198.51.100.7",
    };
    for wrong in ["guess-1", "guess-2", "guess-3"] {
        let refused = svc
            .create_upload(announce("a.txt", Visibility::Listed), &guess(wrong))
            .await;
        assert_eq!(refused.unwrap_err(), ApiError::UploadCodeInvalid);
    }
    // The fourth try waits for the next hour, even with the right code.
    let refused = svc
        .create_upload(announce("a.txt", Visibility::Listed), &guess("team-42"))
        .await;
    assert!(matches!(refused, Err(ApiError::RateLimited { .. })), "{refused:?}");
    assert!(svc.metadata.is_empty());
}
