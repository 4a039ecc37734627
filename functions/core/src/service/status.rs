//! The status page: each region's health as this region sees it, whether the other region's
//! own probe still reports, the last sweep's summary, and who may upload how much.

use twinshare_api::{StatusView, UploadsView};

use super::Service;
use crate::{
    health,
    ports::{Clock, MetadataStore, ObjectStore},
    ApiError,
};

impl<S: ObjectStore, M: MetadataStore, C: Clock> Service<S, M, C> {
    /// Each region's health, the last sweep's replication summary, and who may upload how much.
    pub async fn status(&self) -> Result<StatusView, ApiError> {
        let health = self.region_health().await?;
        let summary = self.metadata.replication_summary().await?;
        let used = match self.metadata.storage_usage().await {
            Ok(usage) => Some(usage.bytes),
            Err(err) => {
                tracing::warn!(error = %err, "storage usage unreadable");
                None
            }
        };
        let uploads = UploadsView {
            mode: self.settings.upload_access.mode(),
            max_file_bytes: self.settings.max_upload_bytes,
            quota_bytes: self.settings.storage_quota_bytes,
            used_bytes: used,
        };
        // The other region's own reports, replicated here: whether its API and table work.
        let other = self
            .placements()
            .map(|(_, region)| region)
            .into_iter()
            .find(|region| *region != self.serving_region());
        let other_reported = match other {
            Some(region) => match self.metadata.region_health(region, self.placements()).await {
                Ok(rows) => health::latest_report(&rows).map(|at| (region, at)),
                Err(err) => {
                    tracing::warn!(error = %err, region, "the other region's reports unreadable");
                    None
                }
            },
            None => None,
        };
        Ok(health::status_view(
            self.placements(),
            &health,
            other_reported,
            summary.as_ref(),
            self.clock.now_ms(),
            self.settings.health_max_age,
            uploads,
            self.serving_region().to_owned(),
        ))
    }
}

#[cfg(test)]
mod tests {
    use twinshare_api::CopyRole;

    use super::*;
    use crate::service::test_support::service;

    #[tokio::test]
    async fn the_status_names_the_region_that_answered_and_whether_the_other_one_reports() {
        use twinshare_api::RegionStatus::{Down, Unknown, Up};
        let mut svc = service();
        svc.settings.serving_region = Some("us-west-2".into());
        let apis = |status: &StatusView| status.regions.iter().map(|r| r.api).collect::<Vec<_>>();
        let status = svc.status().await.unwrap();
        assert_eq!(status.served_by, "us-west-2");
        assert_eq!(apis(&status), [Unknown, Up], "eu-west-1's probe never reported here");

        // eu-west-1's own probe wrote its rows there; replicated, they arrive here.
        let now = svc.clock.now_ms();
        let report = crate::health::RegionHealth {
            observer: "eu-west-1".into(),
            role: CopyRole::Primary,
            region: "eu-west-1".into(),
            status: Up,
            checked_at_ms: now,
            latency_ms: 40,
            consecutive_failures: 0,
            last_error: None,
        };
        svc.metadata.record_region_health(&report).await.unwrap();
        let status = svc.status().await.unwrap();
        assert_eq!(apis(&status), [Up, Up]);
        assert_eq!(status.regions[0].api_seen_at_ms, Some(now));

        // Its reports stopped: its functions or its table are not working.
        let stale = now - svc.settings.health_max_age.as_millis() as i64 - 1;
        let old = crate::health::RegionHealth {
            checked_at_ms: stale,
            ..report
        };
        svc.metadata.record_region_health(&old).await.unwrap();
        assert_eq!(apis(&svc.status().await.unwrap()), [Down, Up]);
    }
}
