//! The orphan audit: what each bucket holds under `files/`, listed at the start of a sweep
//! run, and the deletion of every object that no live record accounts for. That covers bytes
//! left by anything that slipped past the removal path: a PUT on a still-valid URL after its
//! record was gone, a record deleted by the table's TTL before its bytes, a copy that landed
//! after a removal was settled.

use std::collections::{HashMap, HashSet};

use twinshare_api::{BucketUsage, CopyRole};

use super::{sweep::SweepReport, Replication};
use crate::{
    ports::{Clock, Copier, ListedObject, MetadataStore, ObjectStore, DELETE_BATCH},
    FileId, ObjectKey,
};

/// Ids looked up per `get_many` call (DynamoDB's BatchGetItem takes 100 keys).
const LOOKUP_BATCH: usize = 100;

/// One bucket's objects, by raw key.
struct Listing {
    role: CopyRole,
    region: String,
    objects: HashMap<String, ListedObject>,
}

/// Both buckets' listings; a bucket that could not be listed (its region down) is `None`, and
/// then every check of it falls back to asking for the object itself.
pub(super) struct Inventory([Option<Listing>; 2]);

impl Inventory {
    pub(super) async fn list<S: ObjectStore>(stores: [&S; 2]) -> Self {
        let [primary, replica] = stores;
        let (primary, replica) = tokio::join!(listing(primary, CopyRole::Primary), listing(replica, CopyRole::Replica));
        Inventory([primary, replica])
    }

    /// Whether the bucket was listed with this object in it.
    pub(super) fn holds(&self, role: CopyRole, key: &ObjectKey) -> bool {
        self.of(role).is_some_and(|l| l.objects.contains_key(key.as_str()))
    }

    /// Notes that the sweep put the record's object in both buckets (a repair), so that what
    /// the pass reports as stored is what the buckets hold after the run.
    pub(super) fn note_repaired(&mut self, key: &ObjectKey, size: u64, now_ms: i64) {
        for listing in self.0.iter_mut().flatten() {
            listing
                .objects
                .entry(key.as_str().to_owned())
                .or_insert_with(|| ListedObject {
                    key: Some(key.clone()),
                    raw_key: key.as_str().to_owned(),
                    size,
                    modified_ms: now_ms,
                });
        }
    }

    fn of(&self, role: CopyRole) -> Option<&Listing> {
        self.0.iter().flatten().find(|l| l.role == role)
    }

    /// What each listed bucket holds.
    pub(super) fn usage(&self) -> Vec<BucketUsage> {
        self.0
            .iter()
            .flatten()
            .map(|l| BucketUsage {
                role: l.role,
                region: l.region.clone(),
                objects: l.objects.len() as u64,
                bytes: l.objects.values().map(|o| o.size).sum(),
            })
            .collect()
    }
}

async fn listing<S: ObjectStore>(store: &S, role: CopyRole) -> Option<Listing> {
    let mut objects = HashMap::new();
    let mut after = None;
    loop {
        match store.list(after).await {
            Ok((page, next)) => {
                objects.extend(page.into_iter().map(|o| (o.raw_key.clone(), o)));
                match next {
                    Some(next) => after = Some(next),
                    None => break,
                }
            }
            Err(err) => {
                tracing::warn!(region = store.region(), error = %err, "could not list the bucket; audit skipped there");
                return None;
            }
        }
    }
    Some(Listing {
        role,
        region: store.region().to_owned(),
        objects,
    })
}

impl<S: ObjectStore, M: MetadataStore, X: Copier, C: Clock> Replication<S, M, X, C> {
    /// Deletes the listed objects that no live record accounts for, once they are older than
    /// any upload URL could have written them plus the grace. `live` holds the keys of the live
    /// records this run read; every other candidate's record is looked up before anything is
    /// deleted, so a pass spread over several runs never deletes a live file's bytes.
    pub(super) async fn audit(&self, inventory: &mut Inventory, live: &HashSet<ObjectKey>, report: &mut SweepReport) {
        let cutoff = self.clock.now_ms() - (self.upload_url_ttl + self.grace).as_millis() as i64;
        let candidates: Vec<(CopyRole, ListedObject)> = inventory
            .0
            .iter()
            .flatten()
            .flat_map(|l| l.objects.values().map(move |o| (l.role, o.clone())))
            .filter(|(_, o)| o.modified_ms <= cutoff)
            .filter(|(_, o)| o.key.as_ref().is_none_or(|key| !live.contains(key)))
            .collect();
        let ids: Vec<FileId> = candidates
            .iter()
            .filter_map(|(_, o)| o.key.as_ref().map(ObjectKey::file_id))
            .collect::<HashSet<_>>()
            .into_iter()
            .collect();
        let mut accounted = HashSet::new();
        for batch in ids.chunks(LOOKUP_BATCH) {
            match self.metadata.get_many(batch).await {
                // Removed records' bytes go too (their removal is done; the sweep settles it);
                // expired and abandoned ones are removed through the removal path, not here.
                Ok(records) => accounted.extend(records.iter().filter(|r| r.removal.is_none()).map(|r| r.id)),
                Err(err) => {
                    tracing::warn!(error = %err, "could not look up the records of listed objects; audit stopped");
                    return;
                }
            }
        }
        let mut orphans: [Vec<ListedObject>; 2] = [Vec::new(), Vec::new()];
        for (role, object) in candidates {
            match &object.key {
                None => tracing::warn!(
                    key = object.raw_key,
                    "an object this service did not write is under files/; left alone"
                ),
                Some(key) if accounted.contains(&key.file_id()) => {}
                Some(_) => orphans[role_index(role)].push(object),
            }
        }
        for (role, objects) in [CopyRole::Primary, CopyRole::Replica].into_iter().zip(orphans) {
            // A thousand a call (DeleteObjects), not one.
            for batch in objects.chunks(DELETE_BATCH) {
                let keys: Vec<ObjectKey> = batch.iter().filter_map(|o| o.key.clone()).collect();
                let failed = match self.store(role).delete_many(&keys).await {
                    Ok(failed) => failed,
                    Err(err) => {
                        tracing::warn!(copy = ?role, error = %err, "could not delete orphans; the next run tries again");
                        continue;
                    }
                };
                for object in batch
                    .iter()
                    .filter(|o| o.key.as_ref().is_some_and(|k| !failed.contains(k)))
                {
                    tracing::warn!(key = object.raw_key, copy = ?role, size = object.size, "orphan deleted: no live record accounts for it");
                    report.orphans_deleted += 1;
                    report.orphan_bytes_deleted += object.size;
                    if let Some(listing) = inventory.0.iter_mut().flatten().find(|l| l.role == role) {
                        listing.objects.remove(&object.raw_key);
                    }
                }
            }
        }
    }
}

fn role_index(role: CopyRole) -> usize {
    match role {
        CopyRole::Primary => 0,
        CopyRole::Replica => 1,
    }
}
