//! Configuration of the HTTP functions, from the environment that `template.yaml` (or the local
//! stack) sets. Read once at start; a missing or malformed value stops the cold start with a
//! message naming the variable.

use std::{str::FromStr, time::Duration};

use anyhow::{anyhow, Context};
use twinshare_api::CopyRole;
use twinshare_aws::{clients, clients::RegionsSdk, AwsEndpoints, CopyMode, DynamoMetadata, S3Copier, S3ObjectStore};
use twinshare_core::{
    access::UploadAccess, ports::SystemClock, probe::Probe, rate::RateLimits, replication::Replication,
    validate::ExpiryPolicy, Service, ServiceSettings,
};

#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    pub primary_region: String,
    pub primary_bucket: String,
    pub replica_region: String,
    pub replica_bucket: String,
    pub table: String,
    pub health_table: String,
    /// The public listing's search index.
    pub search_table: String,
    pub endpoints: AwsEndpoints,
    pub settings: ServiceSettings,
    pub copy_mode: CopyMode,
    /// How long a copy may stay unverified before the sweep copies it again.
    pub sweep_grace: Duration,
    /// How long a read-path function waits on one attempt at its table before giving up
    /// ([`clients::read_path_dynamodb_client`]).
    pub metadata_read_timeout: Duration,
}

/// The service as deployed: S3, DynamoDB and the system clock.
pub type LiveService = Service<S3ObjectStore, DynamoMetadata, SystemClock>;
/// The probe as deployed.
pub type LiveProbe = Probe<S3ObjectStore, DynamoMetadata, SystemClock>;
/// Replication as deployed.
pub type LiveReplication = Replication<S3ObjectStore, DynamoMetadata, S3Copier, SystemClock>;

fn required(name: &str) -> anyhow::Result<String> {
    std::env::var(name)
        .ok()
        .filter(|v| !v.is_empty())
        .ok_or_else(|| anyhow!("environment variable {name} must be set"))
}

fn optional(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

fn parsed<T: FromStr>(name: &str, default: T) -> anyhow::Result<T>
where
    T::Err: std::error::Error + Send + Sync + 'static,
{
    match optional(name) {
        Some(text) => text
            .parse()
            .with_context(|| format!("environment variable {name}={text:?} is malformed")),
        None => Ok(default),
    }
}

impl Config {
    pub fn from_env() -> anyhow::Result<Self> {
        let defaults = ServiceSettings::default();
        let endpoints = AwsEndpoints {
            primary_s3: optional("PRIMARY_S3_ENDPOINT"),
            replica_s3: optional("REPLICA_S3_ENDPOINT"),
            dynamodb: optional("DYNAMODB_ENDPOINT"),
        };
        // Server-side copy needs both buckets on one S3 service: true on AWS, not across emulators.
        let copy_mode = match optional("COPY_MODE").as_deref() {
            None if endpoints.primary_s3.is_none() && endpoints.replica_s3.is_none() => CopyMode::ServerSide,
            None | Some("stream") => CopyMode::Stream,
            Some("server-side") => CopyMode::ServerSide,
            Some(other) => return Err(anyhow!("COPY_MODE={other:?} is neither \"server-side\" nor \"stream\"")),
        };
        Ok(Config {
            primary_region: required("PRIMARY_REGION")?,
            primary_bucket: required("PRIMARY_BUCKET")?,
            replica_region: required("REPLICA_REGION")?,
            replica_bucket: required("REPLICA_BUCKET")?,
            table: required("TABLE_NAME")?,
            health_table: required("HEALTH_TABLE_NAME")?,
            search_table: required("SEARCH_TABLE_NAME")?,
            endpoints,
            copy_mode,
            sweep_grace: Duration::from_secs(parsed("SWEEP_GRACE_SECS", 300)?),
            metadata_read_timeout: Duration::from_millis(parsed("METADATA_READ_TIMEOUT_MS", 300)?),
            settings: ServiceSettings {
                upload_access: UploadAccess::from_settings(
                    optional("UPLOAD_MODE").as_deref().unwrap_or("open"),
                    optional("UPLOAD_CODE_HASH").as_deref(),
                )
                .map_err(|why| anyhow!(why))?,
                // 0: no quota (the template parameter's default).
                storage_quota_bytes: Some(parsed("STORAGE_QUOTA_BYTES", 0u64)?).filter(|&quota| quota > 0),
                rate_limits: RateLimits {
                    uploads_per_hour: Some(parsed("UPLOADS_PER_HOUR_PER_CLIENT", 0u32)?).filter(|&max| max > 0),
                    bytes_per_day: Some(parsed("BYTES_PER_DAY_PER_CLIENT", 0u64)?).filter(|&max| max > 0),
                },
                max_upload_bytes: parsed("MAX_UPLOAD_BYTES", defaults.max_upload_bytes)?,
                upload_url_ttl: Duration::from_secs(parsed("UPLOAD_URL_TTL_SECS", defaults.upload_url_ttl.as_secs())?),
                download_url_ttl: Duration::from_secs(parsed(
                    "DOWNLOAD_URL_TTL_SECS",
                    defaults.download_url_ttl.as_secs(),
                )?),
                copy_check_timeout: Duration::from_millis(parsed(
                    "COPY_CHECK_TIMEOUT_MS",
                    defaults.copy_check_timeout.as_millis() as u64,
                )?),
                hedge_after: Duration::from_millis(parsed("HEDGE_AFTER_MS", defaults.hedge_after.as_millis() as u64)?),
                health_max_age: Duration::from_secs(parsed("HEALTH_MAX_AGE_SECS", defaults.health_max_age.as_secs())?),
                limited_download_url_ttl: Duration::from_secs(parsed(
                    "LIMITED_DOWNLOAD_URL_TTL_SECS",
                    defaults.limited_download_url_ttl.as_secs(),
                )?),
                // The operator's choice (template parameters); 0 days: "never" / no maximum.
                edge_secret: optional("EDGE_SECRET"),
                // Set by Lambda in every function (and by the local stack).
                serving_region: optional("AWS_REGION"),
                expiry: ExpiryPolicy::from_days(parsed("DEFAULT_EXPIRY_DAYS", 7)?, parsed("MAX_EXPIRY_DAYS", 30)?),
            },
        })
    }

    /// The function's credentials (its Lambda role) in each region, loaded once per cold start.
    pub async fn sdk(&self) -> RegionsSdk {
        RegionsSdk::load(&self.primary_region, &self.replica_region).await
    }

    /// The region this function runs in (Lambda's `AWS_REGION`), the primary's unless told.
    pub fn serving_region(&self) -> &str {
        self.settings.serving_region.as_deref().unwrap_or(&self.primary_region)
    }

    /// The copy this region keeps (as [`Service::home`]): the second region's when this
    /// function runs there.
    pub fn home(&self) -> CopyRole {
        twinshare_core::home_of(self.serving_region(), &self.primary_region, &self.replica_region)
    }

    /// The SDK clients: each bucket through its own region, the table through this function's
    /// own region (its replica of the table; `DYNAMODB_ENDPOINT` is that replica's, locally).
    fn adapters(&self, sdk: &RegionsSdk) -> (S3ObjectStore, S3ObjectStore, DynamoMetadata) {
        let (primary, replica) = self.buckets(sdk);
        let dynamodb =
            clients::dynamodb_client(sdk.in_region(self.serving_region()), self.endpoints.dynamodb.as_deref());
        (primary, replica, self.metadata(dynamodb))
    }

    fn buckets(&self, sdk: &RegionsSdk) -> (S3ObjectStore, S3ObjectStore) {
        let primary = clients::s3_client(&sdk.primary, self.endpoints.primary_s3.as_deref());
        let replica = clients::s3_client(&sdk.replica, self.endpoints.replica_s3.as_deref());
        (
            S3ObjectStore::new(primary, &self.primary_region, &self.primary_bucket),
            S3ObjectStore::new(replica, &self.replica_region, &self.replica_bucket),
        )
    }

    fn metadata(&self, dynamodb: aws_sdk_dynamodb::Client) -> DynamoMetadata {
        DynamoMetadata::new(dynamodb, &self.table, &self.health_table, &self.search_table)
    }

    /// The API's use cases on AWS.
    pub fn service(&self, sdk: &RegionsSdk) -> LiveService {
        let (primary, replica, metadata) = self.adapters(sdk);
        Service::new(primary, replica, metadata, SystemClock, self.settings.clone())
    }

    /// The use cases of the read path (`files-api`: list, search, file details, download,
    /// status), whose table calls give up after [`Config::metadata_read_timeout`].
    pub fn read_service(&self, sdk: &RegionsSdk) -> LiveService {
        let (primary, replica) = self.buckets(sdk);
        let dynamodb = clients::read_path_dynamodb_client(
            sdk.in_region(self.serving_region()),
            self.endpoints.dynamodb.as_deref(),
            self.metadata_read_timeout,
        );
        Service::new(
            primary,
            replica,
            self.metadata(dynamodb),
            SystemClock,
            self.settings.clone(),
        )
    }

    /// The region probe on AWS: a region has `within` to answer the canary.
    pub fn probe(&self, sdk: &RegionsSdk, within: Duration) -> LiveProbe {
        let (primary, replica, metadata) = self.adapters(sdk);
        Probe {
            primary,
            replica,
            metadata,
            clock: SystemClock,
            observer: self.serving_region().to_owned(),
            within,
        }
    }

    /// Replication and repair on AWS.
    pub fn replication(&self, sdk: &RegionsSdk) -> LiveReplication {
        let (primary, replica, metadata) = self.adapters(sdk);
        let copier = S3Copier::new(primary.clone(), replica.clone(), self.copy_mode);
        Replication {
            region: self.home(),
            primary,
            replica,
            metadata,
            copier,
            clock: SystemClock,
            grace: self.sweep_grace,
            upload_url_ttl: self.settings.upload_url_ttl,
        }
    }
}
