//! A 100 MiB object replicated with the copy's memory far below the object's size.
//!
//! Its own test binary, so that the process's peak resident memory (VmHWM) measures this copy
//! and nothing else: the object is written to disk and uploaded from there in a stream, so
//! nothing but the replication could hold it in memory.

use std::io::Write;

use aws_sdk_s3::primitives::ByteStream;
use base64::Engine;
use integration_tests::{stack, BUCKET};
use sha2::{Digest, Sha256};
use twinshare_api::{CopyRole, FileStatus};
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

#[tokio::test]
async fn a_100_mib_object_replicates_in_bounded_memory() {
    let stack = stack(ServiceSettings::default()).await;

    // 100 MiB of varied bytes, written and hashed 1 MiB at a time.
    let dir = std::env::temp_dir().join(format!("twinshare-large-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("large.bin");
    let mut file = std::fs::File::create(&path).unwrap();
    let mut hasher = Sha256::new();
    let mut block = vec![0u8; 1024 * 1024];
    for i in 0..SIZE / block.len() {
        for (j, byte) in block.iter_mut().enumerate() {
            *byte = (i * 31 + j * 7) as u8;
        }
        hasher.update(&block);
        file.write_all(&block).unwrap();
    }
    drop(file);
    let sha256 = base64::engine::general_purpose::STANDARD.encode(hasher.finalize());

    let body = serde_json::json!({ "name": "large.bin", "size": SIZE, "sha256": sha256 }).to_string();
    let created: twinshare_api::CreateUploadResponse =
        integration_tests::json(&stack.api("POST", "/api/uploads", Some(&body)).await);
    stack
        .primary_s3
        .put_object()
        .bucket(BUCKET)
        .key(format!("files/{}", created.file.id))
        .body(ByteStream::from_path(&path).await.unwrap())
        .send()
        .await
        .unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
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
    assert_eq!(file.status, FileStatus::Redundant, "verified by size and SHA-256");
    let replica = stack
        .replica_s3
        .head_object()
        .bucket(integration_tests::REPLICA_BUCKET)
        .key(format!("files/{}", created.file.id))
        .send()
        .await
        .unwrap();
    assert_eq!(replica.content_length(), Some(SIZE as i64));
    assert!(file.copies.iter().any(|c| c.role == CopyRole::Replica));

    println!(
        "replicating 100 MiB: peak resident memory of the process {after:.1} MiB (before the copy {before:.1} MiB)"
    );
    assert!(
        after < 50.0,
        "peak {after:.1} MiB: the copy must not hold the 100 MiB object in memory"
    );
}
