//! Uploads while the primary region is down: the second region's upload API (infra/replica.yaml)
//! takes them into its own bucket and table replica, making itself their home; its bucket
//! notifies its own queue and replicate function, which copies them to the primary region once
//! it is back. The copies the other region writes notify too, and are left alone: nothing is
//! copied back and forth.

use std::{
    collections::BTreeMap,
    time::{Duration, Instant},
};

use integration_tests::{
    json, pseudo_random_bytes, stack_in_two_regions, ApiRegion, Stack, BUCKET, REGION, REPLICA_BUCKET, REPLICA_REGION,
};
use twinshare_api::{CopyRole, ErrorBody, FileList, FileStatus, FileView};
use twinshare_core::ServiceSettings;

const MIB: usize = 1024 * 1024;

/// Each object under `files/` in a bucket, with when it was last written.
async fn objects_in(client: &aws_sdk_s3::Client, bucket: &str) -> BTreeMap<String, String> {
    let listed = client
        .list_objects_v2()
        .bucket(bucket)
        .prefix("files/")
        .send()
        .await
        .unwrap();
    listed
        .contents()
        .iter()
        .map(|o| {
            (
                o.key().unwrap().to_owned(),
                format!("{:?} {:?}", o.last_modified(), o.e_tag()),
            )
        })
        .collect()
}

/// Both buckets' objects, as [`objects_in`].
async fn both_buckets(stack: &Stack) -> BTreeMap<String, String> {
    let mut all = BTreeMap::new();
    for (name, listed) in [
        (BUCKET, objects_in(&stack.primary_s3, BUCKET).await),
        (REPLICA_BUCKET, objects_in(&stack.replica_s3, REPLICA_BUCKET).await),
    ] {
        all.extend(
            listed
                .into_iter()
                .map(|(key, written)| (format!("{name}/{key}"), written)),
        );
    }
    all
}

/// Delivers both regions' queues until neither holds a message. Fails on any failed message,
/// and after 10 rounds: copies that notified copies would never be quiet.
async fn deliver_until_quiet(stack: &Stack) {
    for _ in 0..10 {
        let (here, failed_here) = stack.deliver_events_in(ApiRegion::Primary).await;
        let (there, failed_there) = stack.deliver_events_in(ApiRegion::Second).await;
        assert_eq!((failed_here, failed_there), (0, 0), "no replication message may fail");
        if here + there == 0 {
            return;
        }
    }
    panic!("replication is still sending messages after 10 rounds");
}

/// No ping-pong: every object written before replication ran (the uploads, in their home
/// buckets) is exactly as it was, not written over by a copy coming back; and each bucket
/// holds one object per file.
async fn uploads_untouched_and_one_copy_each(stack: &Stack, before: &BTreeMap<String, String>, files: usize) {
    let after = both_buckets(stack).await;
    for (key, written) in before {
        assert_eq!(after.get(key), Some(written), "{key} was written again");
    }
    assert_eq!(objects_in(&stack.primary_s3, BUCKET).await.len(), files);
    assert_eq!(objects_in(&stack.replica_s3, REPLICA_BUCKET).await.len(), files);
}

/// Waits until a region's API shows the file redundant (tables replicate asynchronously).
async fn redundant_in(stack: &Stack, region: ApiRegion, id: &str) -> FileView {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let response = stack
            .api_in(region, None, "GET", &format!("/api/files/{id}"), None)
            .await;
        if response.status() == 200 {
            let file: FileView = json(&response);
            if file.status == FileStatus::Redundant {
                return file;
            }
        }
        assert!(
            Instant::now() < deadline,
            "{region:?} still answers {id} with {}: {}",
            response.status(),
            String::from_utf8_lossy(response.body().as_ref())
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn with_the_primary_region_down_uploads_land_in_the_second_and_become_redundant_on_its_return() {
    let stack = stack_in_two_regions(ServiceSettings::default()).await;

    // A multipart upload started in the primary region, half sent, when the region goes down.
    let big = pseudo_random_bytes(36 * MIB + 777, 7);
    let stranded = stack.announce("stranded.bin", &big, None, "unlisted").await;
    stack.put_parts(&stranded, &big, [1, 2]).await;
    // Its record has reached the second region's table (it answers for it, not 404).
    let parts = format!("/api/uploads/{}/parts", stranded.file.id);
    let deadline = Instant::now() + Duration::from_secs(60);
    while stack.second_region_api("GET", &parts).await.status() == 404 {
        assert!(
            Instant::now() < deadline,
            "the stranded upload's record never reached us-west-2"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    stack.set_primary_region("down").await;

    // A single-PUT and a multipart upload, sent as the site sends them: the primary answers
    // 5xx, the second region takes them.
    let note = b"written while eu-west-1 was away".repeat(20);
    let single = stack.share("outage notes.txt", &note, Some("ana"), "listed").await;
    let video = pseudo_random_bytes(36 * MIB + 4321, 11);
    let multipart = stack.share("outage video.bin", &video, Some("ana"), "listed").await;
    for file in [&single, &multipart] {
        assert_eq!(file.home_region, REPLICA_REGION, "{file:?}");
        assert_eq!(file.status, FileStatus::Available, "one copy until the primary returns");
    }
    assert_eq!(objects_in(&stack.replica_s3, REPLICA_BUCKET).await.len(), 2);

    // Listed and downloadable at once, from the second region's copy.
    let listed: FileList = json(&stack.second_region_api("GET", "/api/files?q=outage").await);
    let mut names: Vec<_> = listed.files.iter().map(|f| f.name.as_str()).collect();
    names.sort();
    assert_eq!(names, ["outage notes.txt", "outage video.bin"]);
    for (file, bytes) in [(&single, &note), (&multipart, &video)] {
        let got = stack.download_in(ApiRegion::Second, &file.id).await;
        assert!(got.location.starts_with(&stack.replica.url), "{}", got.location);
        assert!(got.bytes == *bytes, "{} downloads what was uploaded", file.name);
    }

    // The upload begun in the primary region cannot be resumed here: it says so.
    let response = stack
        .second_region_api("GET", &format!("/api/uploads/{}/parts", stranded.file.id))
        .await;
    assert_eq!(response.status(), 503);
    let error: ErrorBody = json(&response);
    assert_eq!(error.error, "home_region_unavailable");
    assert!(error.message.contains(REGION), "{}", error.message);

    // The primary region returns: each becomes redundant without anyone acting, its copy
    // verified in the primary bucket.
    stack.set_primary_region("ok").await;
    let uploads = both_buckets(&stack).await;
    assert_eq!(
        uploads.len(),
        2,
        "only the two uploads, in the second region's bucket: {uploads:?}"
    );
    deliver_until_quiet(&stack).await;
    for (file, bytes) in [(&single, &note), (&multipart, &video)] {
        let there = redundant_in(&stack, ApiRegion::Second, &file.id).await;
        assert_eq!(there.home_region, REPLICA_REGION);
        let here = redundant_in(&stack, ApiRegion::Primary, &file.id).await;
        assert_eq!(here.name, file.name);
        let copy = stack.object(CopyRole::Primary, &file.id).await;
        assert!(
            copy.as_deref() == Some(bytes.as_slice()),
            "{}'s copy in {BUCKET}",
            file.name
        );
    }
    uploads_untouched_and_one_copy_each(&stack, &uploads, 2).await;
    stack.wait_until_tables_agree().await;

    // The owner's edit goes to the file's home region (the site sends it to the second region
    // after the primary's 503), and reaches both tables.
    let response = stack
        .api_as(
            stack.token_for(&single.id).as_deref(),
            "PATCH",
            &format!("/api/manage/{}", single.id),
            Some(r#"{"name":"renamed.txt"}"#),
        )
        .await;
    assert_eq!(response.status(), 503, "the primary region is not this file's home");
    assert_eq!(json::<ErrorBody>(&response).error, "home_region_unavailable");
    let response = stack
        .api(
            "PATCH",
            &format!("/api/manage/{}", single.id),
            Some(r#"{"name":"renamed.txt"}"#),
        )
        .await;
    assert_eq!(response.status(), 200);
    // A delete from either region removes both copies.
    let response = stack
        .api_as(
            stack.token_for(&multipart.id).as_deref(),
            "DELETE",
            &format!("/api/manage/{}", multipart.id),
            None,
        )
        .await;
    assert_eq!(
        response.status(),
        204,
        "{}",
        String::from_utf8_lossy(response.body().as_ref())
    );
    assert_eq!(stack.object(CopyRole::Primary, &multipart.id).await, None);
    assert_eq!(stack.object(CopyRole::Replica, &multipart.id).await, None);
    stack.wait_until_tables_agree().await;
    let renamed: FileView = json(&stack.api("GET", &format!("/api/files/{}", single.id), None).await);
    assert_eq!(renamed.name, "renamed.txt");
}

#[tokio::test]
async fn a_burst_split_between_regions_while_the_primary_flaps_ends_with_two_copies_of_everything() {
    let stack = stack_in_two_regions(ServiceSettings::default()).await;
    let mut shared = Vec::new();
    for round in 0..4u64 {
        let primary_down = round % 2 == 1;
        if primary_down {
            stack.set_primary_region("down").await;
        } else {
            stack.set_primary_region("ok").await;
        }
        for n in 0..4u64 {
            let bytes = pseudo_random_bytes(1000 + (round * 4 + n) as usize, round * 100 + n);
            let file = stack
                .share(&format!("burst {round}-{n}.bin"), &bytes, None, "listed")
                .await;
            let expected_home = if primary_down { REPLICA_REGION } else { REGION };
            assert_eq!(file.home_region, expected_home, "{file:?}");
            shared.push((file, bytes));
        }
    }
    stack.set_primary_region("ok").await;
    let uploads = both_buckets(&stack).await;
    assert_eq!(uploads.len(), shared.len(), "each upload in its home bucket only");
    deliver_until_quiet(&stack).await;
    uploads_untouched_and_one_copy_each(&stack, &uploads, shared.len()).await;
    for (file, bytes) in &shared {
        for role in [CopyRole::Primary, CopyRole::Replica] {
            let copy = stack.object(role, &file.id).await;
            assert!(copy.as_deref() == Some(bytes.as_slice()), "{} in {role:?}", file.name);
        }
        redundant_in(&stack, ApiRegion::Primary, &file.id).await;
        redundant_in(&stack, ApiRegion::Second, &file.id).await;
    }
    // One consistent record of each in both tables.
    stack.wait_until_tables_agree().await;
}

#[tokio::test]
async fn a_file_homed_in_the_second_region_expires_from_both_buckets_and_both_tables() {
    let stack = stack_in_two_regions(ServiceSettings::default()).await;
    stack.set_primary_region("down").await;
    let bytes = b"kept for a week, then gone everywhere".to_vec();
    let file = stack.share("short-lived.txt", &bytes, None, "listed").await;
    assert_eq!(file.home_region, REPLICA_REGION);
    stack.set_primary_region("ok").await;
    deliver_until_quiet(&stack).await;
    redundant_in(&stack, ApiRegion::Primary, &file.id).await;

    // Its home region's sweep removes it once its expiry has passed, from both buckets; the
    // primary region's leaves it alone (one writer region per record).
    stack.wait_until_tables_agree().await;
    let after_expiry = file.expires_at_ms.expect("files expire by default") + 1;
    let report = stack.sweep_at(after_expiry).sweep(1_000).await.unwrap();
    assert_eq!(report.expired, 0, "{report:?}");
    assert!(stack.object(CopyRole::Primary, &file.id).await.is_some());
    let report = stack.second_region_sweep_at(after_expiry).sweep(1_000).await.unwrap();
    assert_eq!(report.expired, 1, "{report:?}");
    assert_eq!(stack.object(CopyRole::Primary, &file.id).await, None);
    assert_eq!(stack.object(CopyRole::Replica, &file.id).await, None);
    stack.wait_until_tables_agree().await;
    for region in [ApiRegion::Primary, ApiRegion::Second] {
        let response = stack
            .api_in(region, None, "GET", &format!("/api/files/{}/download", file.id), None)
            .await;
        assert_eq!(response.status(), 410, "{region:?}");
        assert_eq!(json::<ErrorBody>(&response).error, "file_expired", "{region:?}");
    }
}

#[tokio::test]
async fn an_outage_upload_whose_copy_messages_were_lost_is_repaired_by_the_second_regions_sweep() {
    let stack = stack_in_two_regions(ServiceSettings::default()).await;
    stack.set_primary_region("down").await;
    let bytes = pseudo_random_bytes(70_000, 5);
    let file = stack.share("lost message.bin", &bytes, None, "listed").await;
    assert_eq!(file.home_region, REPLICA_REGION);
    // Its copy to the primary cannot be made while the region is down, and the message is
    // lost (as after its retries, to the dead-letter queue).
    assert!(stack.lose_events_in(ApiRegion::Second).await >= 1);
    stack.set_primary_region("ok").await;
    stack.wait_until_tables_agree().await;

    // The primary region's sweep counts it, but leaves it to its home region's.
    let primary = stack.sweep.sweep(1_000).await.unwrap();
    assert_eq!((primary.checked, primary.not_redundant), (1, 1), "{primary:?}");
    assert_eq!(primary.replicas_copied + primary.primaries_restored, 0, "{primary:?}");
    assert_eq!(stack.object(CopyRole::Primary, &file.id).await, None);

    // The second region's sweep copies it to the primary bucket, verified.
    let second = stack.second().sweep.sweep(1_000).await.unwrap();
    assert_eq!(second.primaries_restored, 1, "{second:?}");
    let copy = stack.object(CopyRole::Primary, &file.id).await;
    assert!(copy.as_deref() == Some(bytes.as_slice()), "its copy in {BUCKET}");
    redundant_in(&stack, ApiRegion::Second, &file.id).await;
    redundant_in(&stack, ApiRegion::Primary, &file.id).await;
    // The copy's own notification, in the primary region: recognised as a copy, nothing sent back.
    deliver_until_quiet(&stack).await;
    assert_eq!(both_buckets(&stack).await.len(), 2);
    stack.wait_until_tables_agree().await;
}
