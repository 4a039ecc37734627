//! The contract of the public listing ([`MetadataStore::list_public`]): every match of a search
//! found, every order paged through exactly once, and every change seen at once.

use twinshare_api::Visibility;

use super::metadata::{available, ids, removal, upload, LIST_NOW};
use crate::{
    ports::{MetadataStore, Written},
    record::{FileRecord, RecordState, RemovalReason},
    search::{self, SortBy},
    validate::{Edit, ListQuery},
    FileId,
};

pub(super) async fn public_listing<M: MetadataStore>(store: &M) {
    the_public_listing_is_newest_first_complete_and_filtered(store).await;
    every_order_pages_through_every_file_once(store).await;
    short_and_accented_searches_find_every_match(store).await;
    a_record_behind_its_index_is_listed_once_reindexed(store).await;
}

/// Every page of the public listing for `query`, following the cursor to the end. Each page
/// must hold at most `query.limit` files.
async fn every_page<M: MetadataStore>(store: &M, mut query: ListQuery) -> Vec<Vec<FileRecord>> {
    let mut pages = Vec::new();
    loop {
        let (page, next) = store.list_public(&query, LIST_NOW).await.unwrap();
        assert!(
            page.len() <= query.limit as usize,
            "a page of {} over the limit {}",
            page.len(),
            query.limit
        );
        pages.push(page);
        match next {
            Some(cursor) => query.after = Some(cursor),
            None => return pages,
        }
        assert!(pages.len() < 1_000, "the listing does not end");
    }
}

async fn the_public_listing_is_newest_first_complete_and_filtered<M: MetadataStore>(store: &M) {
    let already: usize = every_page(store, query(100)).await.iter().map(Vec::len).sum();
    let mut listed = Vec::new();
    // Far in the future, so that they are the newest records in the store.
    let base = 4_000_000_000_000;
    for i in 0..30 {
        let name = if i == 0 { "Rare QUARTZ notes.txt" } else { "common.txt" };
        let uploader = if i % 3 == 0 { Some("Ana") } else { None };
        listed.push(available(store, &upload(name, Visibility::Listed, uploader, base + i)).await);
    }
    available(
        store,
        &upload("quartz unlisted.txt", Visibility::Unlisted, None, base + 100),
    )
    .await;
    store
        .create(
            &upload("quartz uploading.txt", Visibility::Listed, None, base + 101),
            None,
        )
        .await
        .unwrap();
    // Removed, expired or made unlisted by an edit: not listed.
    let deleted = available(
        store,
        &upload("quartz deleted.txt", Visibility::Listed, None, base + 102),
    )
    .await;
    store
        .remove(deleted.id, removal(RemovalReason::Deleted, base + 200))
        .await
        .unwrap();
    let mut expiring = upload("quartz expired.txt", Visibility::Listed, None, base + 103);
    expiring.expiry_ms = Some(LIST_NOW);
    available(store, &expiring).await;
    let hidden = available(
        store,
        &upload("quartz hidden.txt", Visibility::Listed, None, base + 104),
    )
    .await;
    let unlist = Edit {
        visibility: Some(Visibility::Unlisted),
        ..Default::default()
    };
    store.edit(&hidden, &unlist, base + 200).await.unwrap();
    // Renamed: found by its new name.
    let renamed = available(store, &upload("plain.txt", Visibility::Listed, None, base + 105)).await;
    let rename = Edit {
        name: Some("QUARTZ renamed.txt".into()),
        ..Default::default()
    };
    store.edit(&renamed, &rename, base + 200).await.unwrap();
    listed.push(store.get(renamed.id).await.unwrap().unwrap());

    // Everything, newest first, each listed available file exactly once, in pages of 7.
    let pages = every_page(store, query(7)).await;
    let all: Vec<FileRecord> = pages.into_iter().flatten().collect();
    assert_eq!(
        all.len(),
        already + listed.len(),
        "unlisted or unfinished files were listed"
    );
    let newest: Vec<FileId> = listed.iter().rev().map(|r| r.id).collect();
    assert_eq!(ids(&all[..listed.len()]), newest, "not newest first, or a file missed");

    // A search finds every match however far down it is, following the cursor; case-insensitive.
    let search = ListQuery {
        search: Some("quartz".into()),
        ..query(1)
    };
    let found: Vec<FileRecord> = every_page(store, search).await.into_iter().flatten().collect();
    assert_eq!(ids(&found), vec![renamed.id, listed[0].id]);

    let by_ana = ListQuery {
        uploader: Some("ana".into()),
        ..query(4)
    };
    let found: Vec<FileRecord> = every_page(store, by_ana).await.into_iter().flatten().collect();
    assert_eq!(found.len(), 10);
    assert!(found.iter().all(|r| r.uploader.as_deref() == Some("Ana")));
}

fn query(limit: u32) -> ListQuery {
    ListQuery {
        limit,
        descending: true,
        ..Default::default()
    }
}

/// Every listed file of one uploader, in every order both ways, in pages of 4: each exactly
/// once, in the order of its sort key (ties broken by id).
async fn every_order_pages_through_every_file_once<M: MetadataStore>(store: &M) {
    let base = 4_100_000_000_000;
    let names = [
        "zebra.png",
        "Apple.txt",
        "apple.txt",
        "Émile.doc",
        "banana",
        "b",
        "x-ray 2.PDF",
        "ångström.csv",
        "10.txt",
        "9.txt",
        "Zebra.png",
    ];
    let mut mine = Vec::new();
    for (i, name) in names.iter().enumerate() {
        let mut record = upload(name, Visibility::Listed, Some("Sorter"), base + (i as i64 % 4));
        // Sizes repeat, so that ties are broken by id.
        record.size = [5, 1_000, 5, 70_000_000_000][i % 4];
        mine.push(available(store, &record).await);
    }
    // Not the uploader's, or not listed: never in these pages.
    available(store, &upload("apple.txt", Visibility::Listed, Some("Other"), base)).await;
    available(store, &upload("apple.txt", Visibility::Unlisted, Some("Sorter"), base)).await;
    for sort in [SortBy::Age, SortBy::Name, SortBy::Size] {
        for descending in [false, true] {
            let mut expected: Vec<&FileRecord> = mine.iter().collect();
            expected.sort_by_key(|r| search::sort_key(r, sort));
            if descending {
                expected.reverse();
            }
            let sorted = ListQuery {
                uploader: Some("sorter".into()),
                sort,
                descending,
                ..query(4)
            };
            let pages = every_page(store, sorted).await;
            assert!(
                pages.iter().all(|p| !p.is_empty()),
                "{sort:?} {descending}: an empty page"
            );
            let got: Vec<FileRecord> = pages.into_iter().flatten().collect();
            let want: Vec<FileId> = expected.iter().map(|r| r.id).collect();
            assert_eq!(ids(&got), want, "{sort:?}, descending {descending}");
        }
    }
    // Search and sort together: the matches only, in the order asked.
    let apples = ListQuery {
        search: Some("apple".into()),
        uploader: Some("sorter".into()),
        sort: SortBy::Size,
        descending: false,
        ..query(1)
    };
    let got: Vec<FileRecord> = every_page(store, apples).await.into_iter().flatten().collect();
    assert_eq!(got.len(), 2);
    assert!(got[0].size <= got[1].size);
}

/// Queries of one and two characters, accents and case, punctuation.
async fn short_and_accented_searches_find_every_match<M: MetadataStore>(store: &M) {
    let base = 4_200_000_000_000;
    let names = [
        "Été 2024.jpg",
        "ete-notes.txt",
        "x.y",
        "résumé v2.PDF",
        "QQ.txt",
        "plain",
    ];
    let mut records = Vec::new();
    for (i, name) in names.iter().enumerate() {
        records.push(
            available(
                store,
                &upload(name, Visibility::Listed, Some("Folder"), base + i as i64),
            )
            .await,
        );
    }
    let found = |q: &str| {
        let q = search::fold(q);
        async move {
            let query = ListQuery {
                search: Some(q),
                uploader: Some("folder".into()),
                ..query(2)
            };
            let got: Vec<FileRecord> = every_page(store, query).await.into_iter().flatten().collect();
            let mut names: Vec<String> = got.into_iter().map(|r| r.name).collect();
            names.sort();
            names
        }
    };
    assert_eq!(found("ÉTÉ").await, ["ete-notes.txt", "Été 2024.jpg"]);
    assert_eq!(found("q").await, ["QQ.txt"]);
    assert_eq!(found("v2").await, ["résumé v2.PDF"]);
    assert_eq!(
        found(".").await,
        ["QQ.txt", "ete-notes.txt", "résumé v2.PDF", "x.y", "Été 2024.jpg"]
    );
    assert_eq!(found("sume v2.p").await, ["résumé v2.PDF"]);
    assert_eq!(found("2024.jpgx").await, Vec::<String>::new());
}

/// A record written without its index (one that predates it, or whose follow-up failed) is
/// listed, at its place, once rewritten; a rewrite of a record changed since it was read is
/// refused.
async fn a_record_behind_its_index_is_listed_once_reindexed<M: MetadataStore>(store: &M) {
    let mut record = upload(
        "Backfilled quokka.txt",
        Visibility::Listed,
        Some("Backfill"),
        4_300_000_000_000,
    );
    record.state = RecordState::Available;
    store.create(&record, None).await.unwrap();
    let stored = store.get(record.id).await.unwrap().unwrap();
    assert!(stored.needs_index());
    let Written::Done(indexed) = store.reindex(&stored).await.unwrap() else {
        panic!("rewriting the index of an unchanged record was refused");
    };
    assert!(!indexed.needs_index());
    assert!(!store.get(record.id).await.unwrap().unwrap().needs_index());
    let by_name = ListQuery {
        search: Some("quokka".into()),
        ..query(10)
    };
    let got: Vec<FileRecord> = every_page(store, by_name.clone()).await.into_iter().flatten().collect();
    assert_eq!(ids(&got), vec![record.id]);
    // Removed: gone from the search at once, and its index follows.
    store
        .remove(record.id, removal(RemovalReason::Deleted, 4_300_000_000_100))
        .await
        .unwrap();
    assert!(every_page(store, by_name.clone())
        .await
        .into_iter()
        .flatten()
        .next()
        .is_none());
    // A rewrite from a stale read indexes the record as it is now, not as it was read.
    let Written::Done(current) = store.reindex(&stored).await.unwrap() else {
        panic!("rewriting the index from a stale read was refused");
    };
    assert!(current.removal.is_some() && !current.needs_index());
    assert!(every_page(store, by_name).await.into_iter().flatten().next().is_none());
    let gone = FileId::random();
    let mut never = record.clone();
    never.id = gone;
    assert_eq!(
        store.reindex(&never).await.unwrap(),
        Written::ConditionFailed,
        "no such record"
    );
}
