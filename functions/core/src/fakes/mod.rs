//! In-memory ports for fast tests of the use cases and handlers. They follow the same contracts
//! as the AWS adapters, which the integration tests check against moto.

mod metadata;
mod store;

pub use metadata::MemoryMetadata;
pub use store::{MemoryCopier, MemoryStore};

use std::time::Duration;

use twinshare_api::CopyRole;

use crate::ports::{Clock, ObjectStore};

/// A clock that always says the same time.
#[derive(Debug, Clone, Copy)]
pub struct FixedClock(pub i64);

impl Clock for FixedClock {
    fn now_ms(&self) -> i64 {
        self.0
    }
}

/// The use cases on in-memory ports, for handler tests.
pub type FakeService = crate::Service<MemoryStore, MemoryMetadata, FixedClock>;

pub fn service() -> FakeService {
    crate::Service::new(
        MemoryStore::new("eu-west-1", "primary"),
        MemoryStore::new("us-west-2", "replica"),
        MemoryMetadata::default(),
        FixedClock(5),
        crate::ServiceSettings::default(),
    )
}

/// The same service answering from the second region (its functions there), on the same
/// buckets and table: for tests of what each region may do.
pub fn in_second_region(service: &FakeService) -> FakeService {
    crate::Service::new(
        service.primary.clone(),
        service.replica.clone(),
        service.metadata.clone(),
        service.clock,
        crate::ServiceSettings {
            serving_region: Some(service.replica.region().to_owned()),
            ..service.settings.clone()
        },
    )
}

/// Replication on the same in-memory buckets and table as `service`, for tests of both.
pub type FakeReplication = crate::replication::Replication<MemoryStore, MemoryMetadata, MemoryCopier, FixedClock>;

pub fn replication(service: &FakeService, now_ms: i64) -> FakeReplication {
    replication_in(CopyRole::Primary, service, now_ms)
}

/// Replication as `region`'s functions run it, on the same buckets and table as `service`.
pub fn replication_in(region: CopyRole, service: &FakeService, now_ms: i64) -> FakeReplication {
    crate::replication::Replication {
        region,
        primary: service.primary.clone(),
        replica: service.replica.clone(),
        metadata: service.metadata.clone(),
        copier: MemoryCopier {
            primary: service.primary.clone(),
            replica: service.replica.clone(),
        },
        clock: FixedClock(now_ms),
        grace: Duration::from_secs(60),
        upload_url_ttl: Duration::from_secs(15 * 60),
    }
}

/// SHA-256 of `bytes`, base64, as S3 writes checksums.
pub(crate) fn sha256_base64(bytes: &[u8]) -> String {
    use base64::Engine;
    use sha2::Digest;
    base64::engine::general_purpose::STANDARD.encode(sha2::Sha256::digest(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_memory_store_keeps_the_port_contract() {
        let store = MemoryStore::new("eu-west-1", "primary");
        crate::contract::object_store(&store, |presigned, bytes| {
            let stored = store.send(&presigned, &bytes);
            async move { stored }
        })
        .await;
    }

    #[tokio::test]
    async fn the_memory_metadata_keeps_the_port_contract() {
        crate::contract::metadata_store(&MemoryMetadata::default()).await;
    }
}
