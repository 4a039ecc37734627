//! The contract of [`MetadataStore`]: records, removals, edits, counts, blocked content and the
//! scan (the health rows: `health.rs`; the public listing and its search: `listing.rs`).

use twinshare_api::{CopyRole, CopyState, Visibility};

use crate::{
    ports::{Guard, MetadataStore, Written},
    record::{FileRecord, Placement, RecordState, Removal, RemovalReason},
    validate::{Edit, NewUpload},
    FileId,
};

const PRIMARY: Placement<'static> = Placement {
    region: "eu-west-1",
    bucket: "primary",
};
const REPLICA: Placement<'static> = Placement {
    region: "us-west-2",
    bucket: "replica",
};

pub(super) fn upload(name: &str, visibility: Visibility, uploader: Option<&str>, created_at_ms: i64) -> FileRecord {
    let new = NewUpload {
        name: name.into(),
        size: 3,
        content_type: "text/plain".into(),
        sha256: Some("ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0=".into()),
        parts: None,
        uploader: uploader.map(str::to_owned),
        visibility,
        expires_in_ms: None,
        max_downloads: None,
        password_hash: None,
    };
    let hash = "ab".repeat(32);
    FileRecord::new_upload(FileId::random(), new, None, [PRIMARY, REPLICA], hash, created_at_ms)
}

/// "now" for the listing: after every record the suite creates.
pub(super) const LIST_NOW: i64 = 5_000_000_000_000;

pub(super) async fn available<M: MetadataStore>(store: &M, record: &FileRecord) -> FileRecord {
    store.create(record, None).await.unwrap();
    match store.mark_available(record, record.created_at_ms + 1).await.unwrap() {
        Written::Done(record) => *record,
        Written::ConditionFailed => panic!("marking a new upload available failed"),
    }
}

pub(super) fn ids(records: &[FileRecord]) -> Vec<FileId> {
    records.iter().map(|r| r.id).collect()
}

/// The whole contract of [`MetadataStore`].
pub async fn metadata_store<M: MetadataStore>(store: &M) {
    records_are_created_once_and_read_back(store).await;
    a_removal_is_written_once_and_stops_every_other_write(store).await;
    edits_and_download_counts_are_conditional(store).await;
    wrong_passwords_are_counted_per_guesser(store).await;
    blocked_content_is_remembered_and_is_no_record(store).await;
    copy_states_change_only_as_guarded(store).await;
    scan_visits_every_record_once(store).await;
    super::admission::usage_is_charged_released_and_settled(store).await;
    super::admission::announcements_are_counted_per_client_and_window(store).await;
    super::health::region_health_and_summary_round_trip(store).await;
    // Last: they count every public record in the store.
    super::listing::public_listing(store).await;
}

async fn records_are_created_once_and_read_back<M: MetadataStore>(store: &M) {
    let record = upload("Über Report.PDF", Visibility::Unlisted, Some("Zoë"), 1_000);
    store.create(&record, None).await.unwrap();
    assert_eq!(store.get(record.id).await.unwrap().as_ref(), Some(&record));
    // The same call again (an SDK retry after a lost answer) is done already, charged once.
    let usage = store.storage_usage().await.unwrap();
    assert_eq!(
        store.create(&record, None).await.unwrap(),
        crate::quota::Creation::Created
    );
    assert_eq!(store.storage_usage().await.unwrap(), usage);
    let impostor = FileRecord {
        manage_hash: Some("cd".repeat(32)),
        ..record.clone()
    };
    assert!(
        store.create(&impostor, None).await.is_err(),
        "another record with the same id must fail"
    );
    assert_eq!(store.get(record.id).await.unwrap().as_ref(), Some(&record));
    assert_eq!(store.get(FileId::random()).await.unwrap(), None);
    // Many at once: those that exist, whatever else is asked.
    let other = upload("other.txt", Visibility::Listed, None, 1_000);
    store.create(&other, None).await.unwrap();
    let asked: Vec<FileId> = (0..150)
        .map(|_| FileId::random())
        .chain([record.id, other.id])
        .collect();
    let mut found: Vec<FileId> = store.get_many(&asked).await.unwrap().iter().map(|r| r.id).collect();
    found.sort();
    let mut expected = vec![record.id, other.id];
    expected.sort();
    assert_eq!(found, expected);
    assert!(store.get_many(&[]).await.unwrap().is_empty());

    let Written::Done(done) = store.mark_available(&record, 2_000).await.unwrap() else {
        panic!("mark_available of an upload")
    };
    assert_eq!(done.state, RecordState::Available);
    assert_eq!(done.copy_state(CopyRole::Primary), Some(CopyState::Verified));
    assert_eq!(store.get(record.id).await.unwrap().as_ref(), Some(&*done));
    // Completing again answers the record as it is.
    let Written::Done(again) = store.mark_available(&record, 3_000).await.unwrap() else {
        panic!("mark_available of an available record")
    };
    assert_eq!(again.state, RecordState::Available);
    let missing = upload("missing.txt", Visibility::Listed, None, 1_000);
    assert_eq!(
        store.mark_available(&missing, 2_000).await.unwrap(),
        Written::ConditionFailed
    );
}

pub(super) fn removal(reason: RemovalReason, at_ms: i64) -> Removal {
    Removal {
        reason,
        at_ms,
        bytes_gone_at_ms: None,
    }
}

async fn a_removal_is_written_once_and_stops_every_other_write<M: MetadataStore>(store: &M) {
    let unfinished = upload("cancel me.txt", Visibility::Listed, None, 1_000);
    store.create(&unfinished, None).await.unwrap();
    let id = unfinished.id;
    let first = removal(RemovalReason::Cancelled, 2_000);
    let Written::Done(removed) = store.remove(id, first).await.unwrap() else {
        panic!("removing an upload")
    };
    assert_eq!(removed.removal, Some(first));
    // Again, for another reason: the first removal stands, and the answer is the same.
    let Written::Done(again) = store.remove(id, removal(RemovalReason::Deleted, 3_000)).await.unwrap() else {
        panic!("removing a removed file")
    };
    assert_eq!(again.removal, Some(first));
    assert_eq!(store.get(id).await.unwrap().unwrap().removal, Some(first));
    // Nothing else may write to it any more.
    assert_eq!(
        store.mark_available(&unfinished, 4_000).await.unwrap(),
        Written::ConditionFailed
    );
    assert_eq!(
        store
            .set_copy_state(id, CopyRole::Replica, CopyState::Copying, 4_000, Guard::NotVerified)
            .await
            .unwrap(),
        Written::ConditionFailed
    );
    let rename = Edit {
        name: Some("revived.txt".into()),
        ..Default::default()
    };
    assert_eq!(
        store.edit(&unfinished, &rename, 4_000).await.unwrap(),
        Written::ConditionFailed
    );
    assert_eq!(store.get(id).await.unwrap().unwrap().state, RecordState::Uploading);

    // An abandoned upload is removed only while it is still unfinished: one that completed
    // meanwhile is not abandoned.
    let completed = available(store, &upload("completed late.txt", Visibility::Listed, None, 1_000)).await;
    assert_eq!(
        store
            .remove(completed.id, removal(RemovalReason::Abandoned, 5_000))
            .await
            .unwrap(),
        Written::ConditionFailed
    );
    assert_eq!(store.get(completed.id).await.unwrap().unwrap().removal, None);
    let left = upload("left.txt", Visibility::Listed, None, 1_000);
    store.create(&left, None).await.unwrap();
    let Written::Done(abandoned) = store
        .remove(left.id, removal(RemovalReason::Abandoned, 5_000))
        .await
        .unwrap()
    else {
        panic!("removing an abandoned upload")
    };
    assert_eq!(abandoned.removal.map(|r| r.reason), Some(RemovalReason::Abandoned));

    let Written::Done(settled) = store.settle_removal(id, 5_000).await.unwrap() else {
        panic!("settling a removal")
    };
    assert_eq!(settled.removal.and_then(|r| r.bytes_gone_at_ms), Some(5_000));
    assert_eq!(store.get(id).await.unwrap().unwrap().removal, settled.removal);

    let nobody = FileId::random();
    let deleted = removal(RemovalReason::Deleted, 1);
    assert_eq!(store.remove(nobody, deleted).await.unwrap(), Written::ConditionFailed);
    assert_eq!(store.settle_removal(nobody, 1).await.unwrap(), Written::ConditionFailed);
    let live = available(store, &upload("live.txt", Visibility::Unlisted, None, 1_000)).await;
    assert_eq!(
        store.settle_removal(live.id, 1).await.unwrap(),
        Written::ConditionFailed,
        "only a removed file settles"
    );
}

async fn edits_and_download_counts_are_conditional<M: MetadataStore>(store: &M) {
    let file = available(store, &upload("edit me.txt", Visibility::Listed, Some("Ana"), 1_000)).await;
    let edit = Edit {
        name: Some("Edited NAME.txt".into()),
        visibility: Some(Visibility::Unlisted),
        expiry_ms: Some(Some(9_000_000_000_000)),
        max_downloads: Some(Some(2)),
        password_hash: Some(Some("$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into())),
    };
    let Written::Done(edited) = store.edit(&file, &edit, 3_000).await.unwrap() else {
        panic!("editing a file")
    };
    assert_eq!(edited.name, "Edited NAME.txt");
    assert_eq!(edited.visibility, Visibility::Unlisted);
    assert_eq!(edited.expiry_ms, Some(9_000_000_000_000));
    assert_eq!(edited.max_downloads, Some(2));
    assert!(edited.password_hash.is_some());
    assert_eq!(edited.uploader.as_deref(), Some("Ana"), "untouched fields stay");
    assert_eq!(store.get(file.id).await.unwrap().as_ref(), Some(&*edited));

    // Exactly the downloads allowed are counted.
    for _ in 0..2 {
        assert!(matches!(store.count_download(file.id).await.unwrap(), Written::Done(_)));
    }
    assert_eq!(store.count_download(file.id).await.unwrap(), Written::ConditionFailed);
    assert_eq!(store.get(file.id).await.unwrap().unwrap().downloads, 2);

    let unlimit = Edit {
        expiry_ms: Some(None),
        max_downloads: Some(None),
        password_hash: Some(None),
        ..Default::default()
    };
    let Written::Done(unlimited) = store.edit(&file, &unlimit, 4_000).await.unwrap() else {
        panic!("removing the limits")
    };
    assert_eq!((unlimited.expiry_ms, unlimited.max_downloads), (None, None));
    assert_eq!(unlimited.password_hash, None);
    assert_eq!(
        store.count_download(file.id).await.unwrap(),
        Written::ConditionFailed,
        "only limited files count downloads"
    );
    assert_eq!(
        store
            .edit(
                &upload("never created.txt", Visibility::Listed, None, 1),
                &unlimit,
                4_000
            )
            .await
            .unwrap(),
        Written::ConditionFailed
    );
    // Read while uploading, edited after it completed: refused, to be read again.
    let racing = upload("racing.txt", Visibility::Unlisted, None, 1_000);
    available(store, &racing).await;
    assert_eq!(
        store.edit(&racing, &unlimit, 4_000).await.unwrap(),
        Written::ConditionFailed
    );
}

async fn wrong_passwords_are_counted_per_guesser<M: MetadataStore>(store: &M) {
    let id = FileId::random();
    assert_eq!(store.password_attempts(id, "guesser-a").await.unwrap(), None);
    for n in 1..=3 {
        let attempts = store.record_wrong_password(id, "guesser-a", 1_000 * n).await.unwrap();
        assert_eq!((attempts.failures, attempts.last_failure_ms), (n as u32, 1_000 * n));
    }
    assert_eq!(
        store.password_attempts(id, "guesser-b").await.unwrap(),
        None,
        "per guesser"
    );
    assert_eq!(
        store.password_attempts(FileId::random(), "guesser-a").await.unwrap(),
        None,
        "per file"
    );
    store.clear_wrong_passwords(id, "guesser-a").await.unwrap();
    let cleared = store.password_attempts(id, "guesser-a").await.unwrap();
    assert_eq!(cleared.map_or(0, |a| a.failures), 0);
    store.clear_wrong_passwords(id, "nobody").await.unwrap();
    assert_eq!(
        store
            .record_wrong_password(id, "guesser-a", 9_000)
            .await
            .unwrap()
            .failures,
        1
    );
}

async fn copy_states_change_only_as_guarded<M: MetadataStore>(store: &M) {
    let record = available(store, &upload("copies.txt", Visibility::Unlisted, None, 1_000)).await;
    let set = |state, now, guard| store.set_copy_state(record.id, CopyRole::Replica, state, now, guard);

    let Written::Done(copying) = set(CopyState::Copying, 5_000, Guard::NotVerified).await.unwrap() else {
        panic!("pending → copying")
    };
    assert_eq!(copying.copy_state(CopyRole::Replica), Some(CopyState::Copying));
    // Written since it was read: refused.
    assert_eq!(
        set(CopyState::Failed, 6_000, Guard::Unchanged(4_999)).await.unwrap(),
        Written::ConditionFailed
    );
    assert!(matches!(
        set(CopyState::Verified, 6_000, Guard::Unchanged(5_000)).await.unwrap(),
        Written::Done(_)
    ));
    // A late or repeated delivery does not regress a verified copy.
    assert_eq!(
        set(CopyState::Copying, 7_000, Guard::NotVerified).await.unwrap(),
        Written::ConditionFailed
    );
    let stored = store.get(record.id).await.unwrap().unwrap();
    assert_eq!(stored.copy_state(CopyRole::Replica), Some(CopyState::Verified));
    assert_eq!(stored.copy(CopyRole::Replica).map(|c| c.updated_at_ms), Some(6_000));
    // No record: nothing is written.
    assert_eq!(
        store
            .set_copy_state(
                FileId::random(),
                CopyRole::Replica,
                CopyState::Copying,
                1,
                Guard::NotVerified
            )
            .await
            .unwrap(),
        Written::ConditionFailed
    );
}

async fn scan_visits_every_record_once<M: MetadataStore>(store: &M) {
    for i in 0..5 {
        let record = upload(&format!("scan {i}.txt"), Visibility::Listed, None, 1_000 + i);
        store.create(&record, None).await.unwrap();
        // Items beside the records (a tombstone here) must not disturb the paging.
        if i % 2 == 0 {
            store
                .remove(record.id, removal(RemovalReason::Cancelled, 2_000))
                .await
                .unwrap();
        }
    }
    let mut seen = Vec::new();
    let mut after = None;
    loop {
        let (page, next) = store.scan(after, 2).await.unwrap();
        assert!(page.len() <= 2, "a scan page over its limit");
        seen.extend(ids(&page));
        match next {
            Some(id) => after = Some(id),
            None => break,
        }
        assert!(seen.len() < 10_000, "the scan does not end");
    }
    let mut unique = seen.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), seen.len(), "a record was visited twice");
    let all = store.scan(None, 1_000).await.unwrap().0;
    assert_eq!(unique.len(), all.len(), "paging missed records");
}

async fn blocked_content_is_remembered_and_is_no_record<M: MetadataStore>(store: &M) {
    let sha256 = "n4bQgYhMfWWaL+qgxVrQFaO/TxsrC4Is0V1sFbDwCgg=";
    assert!(!store.is_blocked(sha256).await.unwrap());
    store.block(sha256, 1_000).await.unwrap();
    store
        .block(sha256, 2_000)
        .await
        .expect("blocking again is not an error");
    assert!(store.is_blocked(sha256).await.unwrap());
    assert!(!store
        .is_blocked("ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0=")
        .await
        .unwrap());
    // The scan reads records only: a blocked item read as a record would fail the scan.
    let mut after = None;
    loop {
        let (_, next) = store.scan(after, 100).await.unwrap();
        match next {
            Some(next) => after = Some(next),
            None => break,
        }
    }
}
