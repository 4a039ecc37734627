//! Search and sort at scale, on the same emulated AWS as the integration tests: N listed files
//! seeded through the metadata adapter (each record written, then its search items, as the
//! sweep's backfill does), then the first page of a rare term, a common term, the worst case
//! (a rare name made only of common trigrams), the whole table by size and by age: what each
//! page cost (Queries, index items read, record reads) and how long the emulator took (median
//! of 3). Prints one JSON line per measurement; run by `infra/bench --search-only`:
//!
//!     search_bench [--files 1000,10000]

use std::{collections::HashSet, time::Instant};

use futures::{stream, StreamExt};
use integration_tests::{arg, listed_file, stack};
use twinshare_aws::record_item;
use twinshare_core::{
    ports::{Clock, MetadataStore, SystemClock, Written},
    record::FileRecord,
    search::{self, SortBy},
    validate::ListQuery,
    ServiceSettings,
};

const FIRST_WORDS: [&str; 5] = ["budget", "report", "photo", "draft", "invoice"];
const SECOND_WORDS: [&str; 5] = ["report", "summary", "budget", "scan", "backup"];
/// The oldest file's name has the one rare word.
const RARE: &str = "quokka";
/// The second oldest's name is the one "report budget": each of its trigrams is in thousands
/// of names ("report", "rt s", "t b", " bu", "budget"), the whole in one.
const WORST: &str = "report budget";

fn name_of(i: usize) -> String {
    match i {
        0 => format!("{RARE} ledger.ods"),
        1 => format!("{WORST}.pdf"),
        i => {
            let first = FIRST_WORDS[i % 5];
            let second = SECOND_WORDS[(i / 5) % 5];
            // Never the worst case's pair: it must stay rare.
            let second = if format!("{first} {second}") == WORST {
                "scan"
            } else {
                second
            };
            format!("{first} {second}.pdf")
        }
    }
}

fn record(i: usize) -> FileRecord {
    listed_file(
        &name_of(i),
        (i as u64 * 7_919) % 1_000_000,
        1_700_000_000_000 + i as i64 * 1_000,
    )
}

#[tokio::main]
async fn main() {
    let sizes: Vec<usize> = arg("--files", "1000,10000")
        .split(',')
        .map(|n| n.trim().parse().expect("--files: numbers"))
        .collect();
    for files in sizes {
        let stack = stack(ServiceSettings::default()).await;
        let metadata = &stack.operator.metadata;
        let seeding = Instant::now();
        // Records written as they are stored, then indexed as the sweep would.
        let records: Vec<FileRecord> = (0..files).map(record).collect();
        stack.put_items(records.iter().map(record_item).collect()).await;
        stream::iter(&records)
            .for_each_concurrent(8, |record| async move {
                assert!(matches!(metadata.reindex(record).await.unwrap(), Written::Done(_)));
            })
            .await;
        let items: usize = (0..files)
            .map(|i| search::grams(&search::fold(&name_of(i))).len() + 1)
            .sum();
        eprintln!(
            "{files} files ({items} search items) seeded in {:.0} s",
            seeding.elapsed().as_secs_f64()
        );
        // moto reads the whole table for each Query (seconds at 10,000 files, and the probes of a
        // long query wait for each other): the same adapter with timeouts for the emulator.
        let reader = stack.patient_metadata();
        let now = SystemClock.now_ms();
        let cases = [
            ("rare term", Some(RARE), SortBy::Age, true),
            ("common term", Some("report"), SortBy::Age, true),
            ("worst case", Some(WORST), SortBy::Age, true),
            ("no search, by size", None, SortBy::Size, false),
            ("no search, newest first", None, SortBy::Age, true),
        ];
        for (case, term, sort, descending) in cases {
            let query = ListQuery {
                search: term.map(search::fold),
                sort,
                descending,
                limit: 25,
                ..Default::default()
            };
            let mut seconds = Vec::new();
            let mut last = None;
            for _ in 0..3 {
                let started = Instant::now();
                let page = reader.search_page(&query, now).await.unwrap();
                seconds.push(started.elapsed().as_secs_f64());
                last = Some(page);
            }
            seconds.sort_by(f64::total_cmp);
            let page = last.unwrap();
            let line = serde_json::json!({
                "files": files, "items": items, "case": case, "term": term,
                "returned": page.records.len(), "more": page.next.is_some(),
                "queries": page.cost.queries, "items_read": page.cost.items_read,
                "record_reads": page.cost.record_reads, "records_read": page.cost.records_read,
                "median_s": seconds[1], "min_s": seconds[0], "max_s": seconds[2],
            });
            println!("{line}");
        }
        // The whole table by size, in pages of 100: every file once, in order, and what the
        // costliest page cost.
        let mut query = ListQuery {
            sort: SortBy::Size,
            descending: false,
            limit: 100,
            ..Default::default()
        };
        let started = Instant::now();
        let (mut seen, mut pages, mut most_queries, mut most_items) = (HashSet::new(), 0, 0, 0);
        let mut last_size = 0;
        loop {
            let page = reader.search_page(&query, now).await.unwrap();
            pages += 1;
            most_queries = most_queries.max(page.cost.queries);
            most_items = most_items.max(page.cost.items_read);
            for record in &page.records {
                assert!(record.size >= last_size, "out of order");
                last_size = record.size;
                assert!(seen.insert(record.id), "a file twice");
            }
            match page.next {
                Some(next) => query.after = Some(next),
                None => break,
            }
        }
        assert_eq!(seen.len(), files, "every file");
        let line = serde_json::json!({
            "files": files, "items": items, "case": "every page by size", "term": null,
            "pages": pages, "every_file_once": true, "most_queries": most_queries, "most_items": most_items,
            "seconds": started.elapsed().as_secs_f64(),
        });
        println!("{line}");
    }
}
