//! Configuration of the HTTP functions, from the environment that `template.yaml` (or the local
//! stack) sets. Read once at start; a missing or malformed value stops the cold start with a
//! message naming the variable.

use std::{str::FromStr, time::Duration};

use anyhow::{anyhow, Context};
use twinshare_aws::{clients, AwsEndpoints, DynamoMetadata, S3ObjectStore};
use twinshare_core::{ports::SystemClock, Service, ServiceSettings};

#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    pub primary_region: String,
    pub primary_bucket: String,
    pub table: String,
    pub endpoints: AwsEndpoints,
    pub settings: ServiceSettings,
}

/// The service as deployed: S3, DynamoDB and the system clock.
pub type LiveService = Service<S3ObjectStore, DynamoMetadata, SystemClock>;

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
        Ok(Config {
            primary_region: required("PRIMARY_REGION")?,
            primary_bucket: required("PRIMARY_BUCKET")?,
            table: required("TABLE_NAME")?,
            endpoints: AwsEndpoints {
                s3: optional("PRIMARY_S3_ENDPOINT"),
                dynamodb: optional("DYNAMODB_ENDPOINT"),
            },
            settings: ServiceSettings {
                max_upload_bytes: parsed("MAX_UPLOAD_BYTES", defaults.max_upload_bytes)?,
                upload_url_ttl: Duration::from_secs(parsed("UPLOAD_URL_TTL_SECS", defaults.upload_url_ttl.as_secs())?),
                download_url_ttl: Duration::from_secs(parsed(
                    "DOWNLOAD_URL_TTL_SECS",
                    defaults.download_url_ttl.as_secs(),
                )?),
            },
        })
    }

    /// Builds the SDK clients (once per cold start) and the service on top of them.
    pub async fn service(&self) -> LiveService {
        let sdk = clients::sdk_config(&self.primary_region).await;
        let s3 = clients::s3_client(&sdk, self.endpoints.s3.as_deref());
        let dynamodb = clients::dynamodb_client(&sdk, self.endpoints.dynamodb.as_deref());
        Service::new(
            S3ObjectStore::new(s3, &self.primary_region, &self.primary_bucket),
            DynamoMetadata::new(dynamodb, &self.table),
            SystemClock,
            self.settings.clone(),
        )
    }
}
