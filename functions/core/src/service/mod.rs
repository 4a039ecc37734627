//! The API's use cases, generic over the ports, one module per capability:
//! [`uploads`] (announce, complete, cancel), [`multipart`] (parts of large files), [`files`]
//! (the table, details, status and downloads), [`unlock`] (a protected file's password),
//! [`manage`] (the owner's edit and delete) and [`moderation`] (the operator's).
//! Each HTTP function calls the ones it serves; the operator's command calls `moderation`.

mod admission;
#[cfg(test)]
mod admission_tests;
mod files;
mod manage;
pub mod moderation;
mod multipart;
mod status;
mod unlock;
mod uploads;

use std::time::Duration;

use twinshare_api::{CopyRole, PresignedRequest};

use crate::{
    access::UploadAccess,
    health::{self, RegionHealth},
    owner,
    ports::{Clock, MetadataStore, ObjectStore, PortError, Presigned},
    rate::RateLimits,
    record::FileRecord,
    validate::ExpiryPolicy,
    ApiError, FileId,
};

/// Tunables of the use cases, read from the function's configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct ServiceSettings {
    /// Who may announce uploads.
    pub upload_access: UploadAccess,
    /// Largest file accepted.
    pub max_upload_bytes: u64,
    /// Bytes all live files may take together (see [`crate::quota`]); `None`: no quota.
    pub storage_quota_bytes: Option<u64>,
    /// What one client may announce per hour and per day (see [`crate::rate`]).
    pub rate_limits: RateLimits,
    /// Lifetime of a presigned upload URL.
    pub upload_url_ttl: Duration,
    /// Lifetime of a presigned download URL.
    pub download_url_ttl: Duration,
    /// Lifetime of the presigned download URL of a file with a download limit: as short as a
    /// download can take to start, since a URL handed out can be used more than once.
    pub limited_download_url_ttl: Duration,
    /// How long files are shared.
    pub expiry: ExpiryPolicy,
    /// What CloudFront adds to every request it forwards (`x-twinshare-edge`, template.yaml):
    /// only a request carrying it is believed about its viewer's address. `None` without
    /// CloudFront (locally): each request is its own connection's address.
    pub edge_secret: Option<String>,
    /// Longest a download waits for a region to confirm it holds the copy before trying the
    /// other region.
    pub copy_check_timeout: Duration,
    /// How long a download waits for the preferred region to confirm its copy before asking the
    /// other region too (hedging). Short: the normal case answers well within it.
    pub hedge_after: Duration,
    /// How old a probe result may be and still be trusted (a few probe intervals).
    pub health_max_age: Duration,
    /// The region this function runs in (Lambda's `AWS_REGION`); `None`: the primary's.
    pub serving_region: Option<String>,
}

impl Default for ServiceSettings {
    fn default() -> Self {
        ServiceSettings {
            upload_access: UploadAccess::Open,
            storage_quota_bytes: None,
            rate_limits: RateLimits::default(),
            // Well above S3's 5 GiB limit of one PUT: larger files go in parts.
            max_upload_bytes: 50 * 1024 * 1024 * 1024,
            upload_url_ttl: Duration::from_secs(15 * 60),
            download_url_ttl: Duration::from_secs(5 * 60),
            limited_download_url_ttl: Duration::from_secs(60),
            expiry: ExpiryPolicy::default(),
            edge_secret: None,
            copy_check_timeout: Duration::from_millis(400),
            hedge_after: Duration::from_millis(50),
            health_max_age: Duration::from_secs(180),
            serving_region: None,
        }
    }
}

/// Who announces an upload: the upload code they sent (`x-upload-code`) and their address
/// (see `twinshare_lambda::respond::client_address`; empty when unknown).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Uploader<'a> {
    pub code: Option<&'a str>,
    pub address: &'a str,
}

pub struct Service<S, M, C> {
    pub primary: S,
    /// Where the second copy of each file goes (written by replication, not here).
    pub replica: S,
    pub metadata: M,
    pub clock: C,
    pub settings: ServiceSettings,
}

impl<S: ObjectStore, M: MetadataStore, C: Clock> Service<S, M, C> {
    pub fn new(primary: S, replica: S, metadata: M, clock: C, settings: ServiceSettings) -> Self {
        Service {
            primary,
            replica,
            metadata,
            clock,
            settings,
        }
    }

    /// The region this service answers from: Lambda's region, the primary's unless told.
    pub fn serving_region(&self) -> &str {
        self.settings
            .serving_region
            .as_deref()
            .unwrap_or_else(|| self.primary.region())
    }

    /// The copy this region keeps: uploads announced here land in its bucket, and records
    /// homed here are written here (one writer per item).
    pub fn home(&self) -> CopyRole {
        crate::home_of(self.serving_region(), self.primary.region(), self.replica.region())
    }

    pub(super) fn is_home_of(&self, record: &FileRecord) -> bool {
        record.home == self.home()
    }

    /// The region that must act for `record`'s writes (see [`FileRecord::home`]); refused here
    /// when this is not it, before anything is written.
    pub(super) fn act_as_home_of(&self, record: &FileRecord, what: &str) -> Result<(), ApiError> {
        if self.is_home_of(record) {
            return Ok(());
        }
        let home = self.store_of(record.home).region();
        tracing::info!(file_id = %record.id, home, what, "refused outside the file's home region");
        Err(ApiError::HomeRegionAway {
            id: record.id.to_string(),
            home: home.to_owned(),
            what: what.to_owned(),
        })
    }

    pub(super) fn store_of(&self, role: CopyRole) -> &S {
        match role {
            CopyRole::Primary => &self.primary,
            CopyRole::Replica => &self.replica,
        }
    }

    /// Each copy's role and region.
    pub(super) fn placements(&self) -> [(CopyRole, &str); 2] {
        [
            (CopyRole::Primary, self.primary.region()),
            (CopyRole::Replica, self.replica.region()),
        ]
    }

    /// What this region's probe last saw of each region.
    pub(super) async fn region_health(&self) -> Result<Vec<RegionHealth>, PortError> {
        self.metadata
            .region_health(self.serving_region(), self.placements())
            .await
    }

    /// Regions the probe recently marked down. Health is advice: if it cannot be read, every
    /// region is tried.
    pub(super) async fn down_regions(&self) -> Vec<CopyRole> {
        match self.region_health().await {
            Ok(health) => health::down_regions(&health, self.clock.now_ms(), self.settings.health_max_age),
            Err(err) => {
                tracing::warn!(error = %err, "region health unreadable; trying every region");
                Vec::new()
            }
        }
    }

    /// The record of a file that is still shared: removed and expired files answer why not.
    pub(super) async fn find(&self, id: &str) -> Result<FileRecord, ApiError> {
        let record = self.find_any(id).await?;
        match record.gone(self.clock.now_ms()) {
            Some(gone) => Err(gone),
            None => Ok(record),
        }
    }

    async fn find_any(&self, id: &str) -> Result<FileRecord, ApiError> {
        let id = FileId::parse(id)?;
        self.metadata
            .get(id)
            .await?
            .ok_or_else(|| ApiError::FileNotFound(id.to_string()))
    }

    /// The record of a file whose owner's token was given (removed files too: the caller decides
    /// what an action on one means). A missing token is refused before anything is read.
    pub(super) async fn find_owned(&self, id: &str, token: Option<&str>) -> Result<FileRecord, ApiError> {
        if token.is_none() {
            return Err(ApiError::ManageTokenMissing);
        }
        let record = self.find_any(id).await?;
        owner::authorize(&record, token)?;
        Ok(record)
    }

    pub(super) fn for_browser(&self, presigned: Presigned, now_ms: i64, ttl: Duration) -> PresignedRequest {
        PresignedRequest {
            method: presigned.method,
            url: presigned.url,
            // The browser computes content-length from the body and may not set it itself.
            headers: presigned
                .headers
                .into_iter()
                .filter(|(name, _)| !name.eq_ignore_ascii_case("content-length"))
                .collect(),
            expires_at_ms: now_ms + i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX),
        }
    }
}

/// What the use cases' tests share: a service on fakes with a fixed clock, and announcements.
#[cfg(test)]
pub(crate) mod test_support {
    use twinshare_api::{CopyRole, CopyState, CreateUploadRequest, CreateUploadResponse, Visibility};

    use crate::{
        fakes::{self, FakeService, FixedClock},
        ports::MetadataStore,
        validate::ListQuery,
        FileId, Service,
    };

    pub const SHA_OF_ABC: &str = "ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0=";

    pub fn service() -> FakeService {
        Service {
            clock: FixedClock(1_000),
            ..fakes::service()
        }
    }

    pub fn announce(name: &str, visibility: Visibility) -> CreateUploadRequest {
        CreateUploadRequest {
            name: name.into(),
            size: 3,
            content_type: "text/plain".into(),
            sha256: Some(SHA_OF_ABC.into()),
            uploader: None,
            visibility,
            ..Default::default()
        }
    }

    /// The size of [`announce_in_parts`]: four 8 MiB parts and a last one of 3 bytes.
    pub const IN_PARTS_SIZE: u64 = 32 * 1024 * 1024 + 3;

    /// A file over the single-PUT limit: sent in parts, without a whole-file SHA-256.
    pub fn announce_in_parts(name: &str) -> CreateUploadRequest {
        CreateUploadRequest {
            size: IN_PARTS_SIZE,
            sha256: None,
            ..announce(name, Visibility::Listed)
        }
    }

    /// Announces an upload and sends its bytes; the answer to the announcement, with the token.
    pub async fn uploaded(svc: &FakeService, request: CreateUploadRequest) -> CreateUploadResponse {
        let created = svc.create_upload(request, &Default::default()).await.unwrap();
        svc.primary
            .put(&FileId::parse(&created.file.id).unwrap().object_key(), b"abc");
        created
    }

    /// An available file (one verified copy), and its manage token.
    pub async fn available(svc: &FakeService, request: CreateUploadRequest) -> (FileId, String) {
        let created = uploaded(svc, request).await;
        let token = created.manage_token;
        svc.complete_upload(&created.file.id, Some(&token)).await.unwrap();
        (FileId::parse(&created.file.id).unwrap(), token)
    }

    /// What the public table shows.
    pub async fn public_files(svc: &FakeService) -> Vec<twinshare_api::FileView> {
        svc.list_files(&ListQuery {
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap()
        .files
    }

    /// A listed file whose two copies are verified.
    pub async fn redundant(svc: &FakeService) -> FileId {
        redundant_owned(svc, announce("a.txt", Visibility::Listed)).await.0
    }

    /// A file whose two copies are verified, and its manage token.
    pub async fn redundant_owned(svc: &FakeService, request: CreateUploadRequest) -> (FileId, String) {
        let (id, token) = available(svc, request).await;
        svc.replica.put(&id.object_key(), b"abc");
        let guard = crate::ports::Guard::NotVerified;
        svc.metadata
            .set_copy_state(id, CopyRole::Replica, CopyState::Verified, 2_000, guard)
            .await
            .unwrap();
        (id, token)
    }
}
