//! Search and sort against moto, through the files API and the real SDK, with more files than
//! any page reads: the oldest file's rare name is found on the first page, and every order pages
//! through every file exactly once. (Edits, unlisting and deletion changing results at once:
//! `share_controls.rs` and the port contract.)

use std::collections::HashSet;

use futures::{stream, StreamExt};
use integration_tests::{json, listed_upload, stack, Stack};
use twinshare_api::{FileList, FileView};
use twinshare_core::{
    ports::{MetadataStore, Written},
    record::FileRecord,
    ServiceSettings,
};

/// Listed files seeded: 10 pages of the largest page size. (moto reads a whole table for each
/// Query, ~0.3 s at this size; the benchmark measures 10,000 and 100,000.)
const FILES: usize = 1_000;

/// Shares `FILES` listed files the way completing an upload does (the upload API's own write,
/// which brings the search index along), oldest first. The oldest is the only "quartz". Through
/// an adapter patient with moto, which copies the whole table for each transaction while the
/// gateway serialises writes: with four in flight, one waited past the functions' 10 s on a
/// loaded CI machine. (What is tested here is what is found, not how fast it is written.)
async fn seed(stack: &Stack) -> Vec<FileRecord> {
    let records: Vec<FileRecord> = (0..FILES)
        .map(|i| {
            let name = match i {
                0 => "Oldest QUARTZ ledger.ods".to_owned(),
                i => format!("doc-{i:04}.pdf"),
            };
            // Sizes repeat (ties are broken by id) and do not follow age.
            let size = (i as u64 * 7_919) % 1_000;
            let uploader = if i % 2 == 0 { "Ana" } else { "Bo" };
            listed_upload(&name, size, Some(uploader), 1_700_000_000_000 + i as i64 * 1_000)
        })
        .collect();
    let metadata = &stack.patient_metadata();
    stream::iter(&records)
        .for_each_concurrent(4, |record| async move {
            metadata.create(record, None).await.unwrap();
            let done = metadata.mark_available(record, record.created_at_ms + 1).await.unwrap();
            assert!(
                matches!(&done, Written::Done(r) if r.is_index_current()),
                "the index followed: {done:?}"
            );
        })
        .await;
    records
}

/// `GET path`, asked again (up to three times) while it answers 503 `unavailable`, as
/// that answer tells a client to: moto reads the whole table for each Query, and on a loaded CI
/// machine one read of these 1,000 items once took longer than the function's 10 s.
async fn read_patiently(stack: &Stack, path: &str) -> lambda_http::Response<lambda_http::Body> {
    let mut response = stack.api("GET", path, None).await;
    for _ in 0..2 {
        if response.status() != 503 {
            break;
        }
        response = stack.api("GET", path, None).await;
    }
    response
}

/// Every page of `GET /api/files?<query>`, following the cursor; each page must be non-empty.
async fn every_page(stack: &Stack, query: &str) -> Vec<FileView> {
    let mut files = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..FILES {
        let path = match &cursor {
            Some(c) => format!("/api/files?{query}&cursor={c}"),
            None => format!("/api/files?{query}"),
        };
        let response = read_patiently(stack, &path).await;
        assert_eq!(response.status(), 200, "{path}");
        let page: FileList = json(&response);
        assert!(!page.files.is_empty(), "{path}: an empty page");
        files.extend(page.files);
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => return files,
        }
    }
    panic!("{query}: the pages do not end");
}

#[tokio::test]
async fn every_file_is_found_and_every_order_pages_through_all_of_them_once() {
    let stack = stack(ServiceSettings::default()).await;
    let records = seed(&stack).await;

    // The oldest file's rare name: on the first page, alone.
    let first: FileList = json(&read_patiently(&stack, "/api/files?q=quartz").await);
    let names: Vec<&str> = first.files.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(names, ["Oldest QUARTZ ledger.ods"]);
    assert!(first.next_cursor.is_none());
    // A term in a hundred names, with the uploader filter: every match, newest first.
    let found = every_page(&stack, "q=DOC-00&uploader=ana&limit=7").await;
    let expected = (1..100).filter(|i| i % 2 == 0).count();
    assert_eq!(found.len(), expected);
    assert!(found.windows(2).all(|w| w[0].created_at_ms > w[1].created_at_ms));

    for (query, key) in [
        ("sort=size&order=asc&limit=100", "size"),
        ("sort=size&order=desc&limit=100", "size"),
        ("sort=name&limit=100", "name"),
        ("sort=name&order=desc&limit=100", "name"),
        ("sort=age&order=asc&limit=100", "age"),
    ] {
        let files = every_page(&stack, query).await;
        let ids: HashSet<&str> = files.iter().map(|f| f.id.as_str()).collect();
        assert_eq!(files.len(), FILES, "{query}: every file");
        assert_eq!(ids.len(), FILES, "{query}: each once");
        let ascending = !query.contains("desc");
        let in_order = files.windows(2).all(|w| {
            let (a, b) = if ascending { (&w[0], &w[1]) } else { (&w[1], &w[0]) };
            match key {
                "size" => a.size <= b.size,
                "name" => a.name.to_lowercase() <= b.name.to_lowercase(),
                _ => a.created_at_ms <= b.created_at_ms,
            }
        });
        assert!(in_order, "{query}: out of order");
    }
    assert_eq!(records.len(), FILES);
}

#[tokio::test]
async fn bad_sort_requests_are_refused_with_what_to_fix() {
    let stack = stack(ServiceSettings::default()).await;
    for (query, field) in [("sort=date", "sort"), ("order=up", "order"), ("cursor=zz", "cursor")] {
        let response = stack.api("GET", &format!("/api/files?{query}"), None).await;
        assert_eq!(response.status(), 400, "{query}");
        let body: twinshare_api::ErrorBody = json(&response);
        assert!(body.message.contains(field), "{query}: {}", body.message);
    }
    // A cursor from one order cannot continue another.
    stack.share("a.txt", b"a", None, "listed").await;
    stack.share("b.txt", b"b", None, "listed").await;
    let page: FileList = json(&stack.api("GET", "/api/files?sort=size&limit=1", None).await);
    let cursor = page.next_cursor.expect("a second page");
    let response = stack
        .api("GET", &format!("/api/files?sort=name&limit=1&cursor={cursor}"), None)
        .await;
    assert_eq!(response.status(), 400);
}
