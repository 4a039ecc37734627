//! The sweep at scale, on the same emulated AWS as the integration tests (moto behind the
//! IAM-checking gateways, which record every call): a table seeded directly with N records
//! (BatchWriteItem; each an available file whose two copies are verified, with its own object
//! in both buckets), then one full pass timed and its calls counted; and the orphan audit's
//! time per 10,000 objects no record accounts for. Prints one JSON line per measurement; run
//! by `infra/bench` (release build), which prints them beside the goals:
//!
//!     sweep_bench [--records 10000,100000] [--orphans 10000] [--per-run 100000]

use std::{collections::BTreeMap, process::Command, time::Instant};

use integration_tests::{arg, repo_root, stack, Stack, BUCKET, REGION, REPLICA_BUCKET, REPLICA_REGION};
use twinshare_core::{
    ports::{Clock, SystemClock},
    FileId, ServiceSettings,
};

const BODY: &[u8] = b"template";

/// Seeding goes straight to moto, not through the gateways, by `seed_objects.py`, with the
/// primary bucket's event notifications off meanwhile (moto sends each to SQS, at about 70
/// PUTs a second): it is not what is measured.
async fn put_objects(stack: &Stack, keys: &[String], buckets: &[&str]) {
    let notifications = stack
        .primary_s3
        .get_bucket_notification_configuration()
        .bucket(BUCKET)
        .send()
        .await
        .unwrap();
    let quiet = aws_sdk_s3::types::NotificationConfiguration::builder().build();
    let set = |configuration| {
        stack
            .primary_s3
            .put_bucket_notification_configuration()
            .bucket(BUCKET)
            .notification_configuration(configuration)
            .send()
    };
    set(quiet).await.unwrap();
    let list = std::env::temp_dir().join(format!("twinshare-bench-keys-{}", std::process::id()));
    std::fs::write(&list, keys.join("\n")).unwrap();
    let seeders: Vec<_> = buckets
        .iter()
        .map(|bucket| {
            let (emulator, region) = if *bucket == BUCKET {
                (&stack.primary, REGION)
            } else {
                (&stack.replica, REPLICA_REGION)
            };
            Command::new("python3")
                .arg(repo_root().join("infra/local/seed_objects.py"))
                .args(["--endpoint", &emulator.moto.url, "--region", region, "--bucket", bucket])
                .arg("--keys")
                .arg(&list)
                .spawn()
                .expect("python3 runs")
        })
        .collect();
    for mut seeder in seeders {
        assert!(seeder.wait().unwrap().success(), "seeding objects failed");
    }
    let _ = std::fs::remove_file(list);
    let restored = aws_sdk_s3::types::NotificationConfiguration::builder()
        .set_queue_configurations(Some(notifications.queue_configurations().to_vec()))
        .build();
    set(restored).await.unwrap();
}

/// N records cloned from a real redundant, unlisted file's record, each naming its own object,
/// written in both buckets.
async fn seed_records(stack: &Stack, count: usize) {
    let template = stack.share("template.bin", BODY, None, "unlisted").await;
    stack.deliver_events().await;
    let ids = stack.seed_records(&template.id, count, false).await;
    let keys: Vec<String> = ids.iter().map(|id| format!("files/{id}")).collect();
    put_objects(stack, &keys, &[BUCKET, REPLICA_BUCKET]).await;
}

/// The sweep's calls recorded since the last `forget_calls`, by service.
fn sweep_calls(stack: &Stack) -> BTreeMap<String, usize> {
    let mut by_service = BTreeMap::new();
    for (function, action, _, _) in stack.iam.calls() {
        if function == "sweep" {
            let service = action.split(':').next().unwrap_or_default().to_owned();
            *by_service.entry(service).or_default() += 1;
        }
    }
    by_service
}

#[tokio::main]
async fn main() {
    let sizes: Vec<usize> = arg("--records", "10000,100000")
        .split(',')
        .map(|n| n.trim().parse().expect("--records: numbers"))
        .collect();
    let orphans: usize = arg("--orphans", "10000").parse().expect("--orphans: a number");
    let per_run: usize = arg("--per-run", &sweep::MAX_RECORDS_PER_RUN.to_string())
        .parse()
        .expect("--per-run: a number");
    let mut rows = Vec::new();
    for records in sizes {
        let stack = stack(ServiceSettings::default()).await;
        let seeding = Instant::now();
        seed_records(&stack, records - 1).await;
        let seeded_in = seeding.elapsed().as_secs_f64();
        stack.iam.forget_calls();
        let started = Instant::now();
        let mut runs = 0;
        let mut repaired = 0;
        loop {
            let report = stack.sweep.sweep(per_run).await.unwrap();
            runs += 1;
            repaired += report.replicas_copied + report.primaries_restored;
            if report.pass_finished {
                assert_eq!(report.not_redundant, 0, "{report:?}");
                break;
            }
        }
        let seconds = started.elapsed().as_secs_f64();
        let calls = sweep_calls(&stack);
        eprintln!("{records} records seeded in {seeded_in:.0} s; pass: {runs} run(s), {seconds:.1} s, {calls:?}, {repaired} repaired");
        rows.push((format!("full pass, {records} records"), runs, seconds, calls));
    }
    if orphans > 0 {
        let stack = stack(ServiceSettings::default()).await;
        let keys: Vec<String> = (0..orphans).map(|_| format!("files/{}", FileId::random())).collect();
        put_objects(&stack, &keys, &[BUCKET]).await;
        stack.iam.forget_calls();
        let started = Instant::now();
        // An hour on, every object is past the upload URL TTL and the grace.
        let report = stack
            .sweep_at(SystemClock.now_ms() + 3_600_000)
            .sweep(1_000)
            .await
            .unwrap();
        let seconds = started.elapsed().as_secs_f64();
        assert_eq!(report.orphans_deleted, orphans as u64, "{report:?}");
        rows.push((
            format!("audit, {orphans} orphaned objects (found, looked up, deleted)"),
            1,
            seconds,
            sweep_calls(&stack),
        ));
    }
    // One JSON line per measurement, for infra/bench.py's table.
    for (what, runs, seconds, calls) in rows {
        let count = |service: &str| calls.get(service).copied().unwrap_or(0);
        let line = serde_json::json!({
            "what": what, "runs": runs, "seconds": seconds, "s3": count("s3"), "dynamodb": count("dynamodb"),
        });
        println!("{line}");
    }
}
