//! A 100 MiB object replicated with the copy's memory far below the object's size.
//!
//! Its own test binary, so that the process's peak resident memory (VmHWM) measures this copy
//! and nothing else: the object is uploaded one part at a time, each made as it is sent, so
//! nothing but the replication could hold it in memory.

use integration_tests::stack;
use sha2::{Digest, Sha256};
use twinshare_api::{CopyRole, FileStatus, UploadPlan};
use twinshare_core::ServiceSettings;

const SIZE: usize = 100 * 1024 * 1024;

fn peak_resident_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let kib: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmHWM in /proc/self/status");
    kib / 1024.0
}

/// Byte `offset` of the test object: varied, and computable without holding the object.
fn byte_at(offset: usize) -> u8 {
    let (block, within) = (offset / (1024 * 1024), offset % (1024 * 1024));
    (block * 31 + within * 7) as u8
}

#[tokio::test]
async fn a_100_mib_object_replicates_in_bounded_memory() {
    let stack = stack(ServiceSettings::default()).await;

    // Uploaded in parts as the site does, each part made when it is sent: the test process never
    // holds more than one part.
    let body = serde_json::json!({ "name": "large.bin", "size": SIZE }).to_string();
    let created: twinshare_api::CreateUploadResponse = stack.expect(201, "POST", "/api/uploads", Some(&body)).await;
    let UploadPlan::Multipart(plan) = created.upload else {
        panic!("100 MiB goes in parts: {:?}", created.upload)
    };
    let mut whole = Sha256::new();
    for number in 1..=plan.part_count {
        let (start, end) = plan.range(number, SIZE as u64);
        let part: Vec<u8> = (start as usize..end as usize).map(byte_at).collect();
        whole.update(&part);
        let sha256 = integration_tests::sha256_base64(&part);
        let urls = stack.sign_parts(&created.file.id, [(number, sha256)]).await;
        assert!(stack.send(&urls.parts[0].request, &part).await.is_success());
    }
    let expected = whole.finalize();
    assert_eq!(
        stack
            .api("POST", &format!("/api/uploads/{}/complete", created.file.id), None)
            .await
            .status(),
        200
    );

    let before = peak_resident_mib();
    let (_, failed) = stack.deliver_events().await;
    let after = peak_resident_mib();
    assert_eq!(failed, 0);
    let file = stack.file(&created.file.id).await;
    assert_eq!(file.status, FileStatus::Redundant, "verified by size");

    // The replica's bytes, hashed as they stream in.
    let mut replica = stack
        .replica_s3
        .get_object()
        .bucket(integration_tests::REPLICA_BUCKET)
        .key(format!("files/{}", created.file.id))
        .send()
        .await
        .unwrap();
    let (mut copied, mut size) = (Sha256::new(), 0);
    while let Some(chunk) = replica.body.try_next().await.unwrap() {
        size += chunk.len();
        copied.update(&chunk);
    }
    assert_eq!(size, SIZE);
    assert!(
        copied.finalize() == expected,
        "the replica's bytes differ from the upload's"
    );
    assert!(file.copies.iter().any(|c| c.role == CopyRole::Replica));

    println!(
        "replicating 100 MiB: peak resident memory of the process {after:.1} MiB (before the copy {before:.1} MiB)"
    );
    // The upload's own buffers set the baseline (about 46 MiB); a copy holding the object
    // would take the peak past 100 MiB.
    assert!(
        after < 70.0,
        "peak {after:.1} MiB: the copy must not hold the 100 MiB object in memory"
    );
}
