//! Who may announce an upload: the upload mode (a wrong code counted against the client's
//! limit), then, once the announcement is valid, what it must pass before anything is signed:
//! the operator's blocks (of the client, of the content), the per-client limits and the
//! storage quota. Each is refused with its own 4xx.

use super::{Service, Uploader};
use crate::{
    ports::{Clock, MetadataStore, ObjectStore},
    quota,
    rate::{self, Limit, RateLimits},
    validate::NewUpload,
    ApiError,
};

impl<S: ObjectStore, M: MetadataStore, C: Clock> Service<S, M, C> {
    /// The upload mode's check. A wrong code counts as an announcement against the client's
    /// hourly limit, so that guessing the code is as slow as the limit (60 tries an hour by
    /// default), on top of the Argon2 check each try costs.
    pub(super) async fn admit_uploader(&self, uploader: &Uploader<'_>) -> Result<(), ApiError> {
        let refused = match self.settings.upload_access.admit(uploader.code) {
            Err(ApiError::UploadCodeInvalid) => ApiError::UploadCodeInvalid,
            other => return other,
        };
        let limits = RateLimits {
            bytes_per_day: None,
            ..self.settings.rate_limits
        };
        if limits.is_unlimited() {
            return Err(refused);
        }
        let now = self.clock.now_ms();
        let client = rate::client_key(uploader.address);
        match self.metadata.count_upload(&client, 0, now, limits).await? {
            None => Err(refused),
            Some(limit) => Err(rate_limited(limit, limits, now)),
        }
    }

    /// Refuses the announcement of `upload` by the client at `address`, or counts it against
    /// the client's limits. The quota is checked here only when plainly passed (a clear answer
    /// before any signing); the record's own write is what holds it exactly.
    pub(super) async fn admit(&self, upload: &NewUpload, address: &str) -> Result<(), ApiError> {
        if self.metadata.is_blocked(&rate::blocked_client(address)).await? {
            return Err(ApiError::UploaderBlocked);
        }
        let limits = self.settings.rate_limits;
        if let Some(per_day) = limits.bytes_per_day.filter(|&per_day| upload.size > per_day) {
            return Err(ApiError::invalid(
                "size",
                format!(
                    "this site takes at most {} a day from one client; this file is larger",
                    crate::error::bytes(per_day)
                ),
            ));
        }
        if let Some(quota) = self.settings.storage_quota_bytes {
            let used = self.metadata.storage_usage().await?.bytes;
            if used + upload.size > quota {
                return Err(quota::over_quota(upload.size, used, quota));
            }
        }
        // Content the operator took down and blocked. Only a whole-file SHA-256 can be
        // compared: files sent in parts have none (see moderation).
        if let Some(sha256) = &upload.sha256 {
            if self.metadata.is_blocked(sha256).await? {
                return Err(ApiError::ContentBlocked);
            }
        }
        // Counted last, so that an announcement refused for another reason costs nothing.
        if limits.is_unlimited() {
            return Ok(());
        }
        let now = self.clock.now_ms();
        let client = rate::client_key(address);
        match self.metadata.count_upload(&client, upload.size, now, limits).await? {
            None => Ok(()),
            Some(limit) => Err(rate_limited(limit, limits, now)),
        }
    }
}

/// The 429 for the limit that refused, with how long to wait.
fn rate_limited(limit: Limit, limits: RateLimits, now_ms: i64) -> ApiError {
    ApiError::RateLimited {
        limit: match limit {
            Limit::UploadsPerHour => format!("{} uploads an hour", limits.uploads_per_hour.unwrap_or(0)),
            Limit::BytesPerDay => format!("{} a day", crate::error::bytes(limits.bytes_per_day.unwrap_or(0))),
        },
        retry_after_secs: limit.retry_after_secs(now_ms),
    }
}
