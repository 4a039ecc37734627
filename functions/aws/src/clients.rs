//! SDK clients with short timeouts, optionally pointed at local emulators.

use std::time::Duration;

use aws_config::{timeout::TimeoutConfig, BehaviorVersion, Region, SdkConfig};
pub use aws_sdk_s3::config::Credentials;

/// Where the AWS services are. `None` means the real AWS endpoint of the region.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AwsEndpoints {
    pub primary_s3: Option<String>,
    pub replica_s3: Option<String>,
    pub dynamodb: Option<String>,
}

/// Loads credentials and region the usual way (environment, Lambda role) with timeouts that
/// fail fast: a region that does not answer must not hold a request for the SDK's default.
pub async fn sdk_config(region: &str) -> SdkConfig {
    loader(region).load().await
}

/// As [`sdk_config`], signing with the given credentials instead: the integration tests run
/// each function as its own local identity, held to its own policy by the local gateways.
pub async fn sdk_config_as(region: &str, credentials: Credentials) -> SdkConfig {
    loader(region).credentials_provider(credentials).load().await
}

fn loader(region: &str) -> aws_config::ConfigLoader {
    let timeouts = TimeoutConfig::builder()
        .connect_timeout(Duration::from_secs(2))
        .operation_attempt_timeout(Duration::from_secs(5))
        .operation_timeout(Duration::from_secs(10))
        .build();
    aws_config::defaults(BehaviorVersion::latest())
        .region(Region::new(region.to_owned()))
        .timeout_config(timeouts)
}

/// The SDK configuration of each region a function talks to, loaded once per cold start.
#[derive(Debug, Clone)]
pub struct RegionsSdk {
    pub primary: SdkConfig,
    pub replica: SdkConfig,
}

impl RegionsSdk {
    /// The function's own credentials (its Lambda role), in each region.
    pub async fn load(primary_region: &str, replica_region: &str) -> RegionsSdk {
        RegionsSdk {
            primary: sdk_config(primary_region).await,
            replica: sdk_config(replica_region).await,
        }
    }

    /// The configuration of `region`: the replica's if that is its region, else the primary's.
    pub fn in_region(&self, region: &str) -> &SdkConfig {
        if self.replica.region().map(|r| r.as_ref()) == Some(region) {
            &self.replica
        } else {
            &self.primary
        }
    }

    /// Given credentials, in each region (see [`sdk_config_as`]).
    pub async fn load_as(primary_region: &str, replica_region: &str, credentials: Credentials) -> RegionsSdk {
        RegionsSdk {
            primary: sdk_config_as(primary_region, credentials.clone()).await,
            replica: sdk_config_as(replica_region, credentials).await,
        }
    }
}

/// For S3 calls that do real work server-side and answer only when done (CopyObject,
/// UploadPartCopy, CompleteMultipartUpload): minutes for gigabytes, where the fast-fail
/// timeouts above would cut them off and retry work that was under way.
pub fn patient() -> aws_sdk_s3::config::Builder {
    let timeouts = TimeoutConfig::builder()
        .connect_timeout(Duration::from_secs(2))
        .operation_attempt_timeout(Duration::from_secs(240))
        .operation_timeout(Duration::from_secs(240))
        .build();
    aws_sdk_s3::config::Builder::default().timeout_config(timeouts)
}

pub fn s3_client(config: &SdkConfig, endpoint: Option<&str>) -> aws_sdk_s3::Client {
    let mut builder = aws_sdk_s3::config::Builder::from(config)
        // Only the checksum we sign (SHA-256 of the whole file) belongs on presigned uploads; an
        // automatic CRC32 of an empty body would make every browser upload fail.
        .request_checksum_calculation(aws_sdk_s3::config::RequestChecksumCalculation::WhenRequired)
        .response_checksum_validation(aws_sdk_s3::config::ResponseChecksumValidation::WhenRequired);
    if let Some(url) = endpoint {
        // Emulators answer on one host: bucket names go in the path.
        builder = builder.endpoint_url(url).force_path_style(true);
    }
    aws_sdk_s3::Client::from_conf(builder.build())
}

pub fn dynamodb_client(config: &SdkConfig, endpoint: Option<&str>) -> aws_sdk_dynamodb::Client {
    dynamodb_client_with(aws_sdk_dynamodb::config::Builder::from(config), endpoint)
}

/// For the read path (list, search, file details, download, status): each attempt gives up
/// after `give_up_after` and the call after two of them, so a table that hangs costs a request
/// about twice that (~600 ms at the default 300 ms) instead of the 10 s above, and the front's
/// origin failover can send the reader to the other region while it is still waiting.
pub fn read_path_dynamodb_client(
    config: &SdkConfig,
    endpoint: Option<&str>,
    give_up_after: Duration,
) -> aws_sdk_dynamodb::Client {
    let timeouts = TimeoutConfig::builder()
        .connect_timeout(give_up_after)
        .operation_attempt_timeout(give_up_after)
        .operation_timeout(give_up_after * 2)
        .build();
    dynamodb_client_with(
        aws_sdk_dynamodb::config::Builder::from(config).timeout_config(timeouts),
        endpoint,
    )
}

fn dynamodb_client_with(
    mut builder: aws_sdk_dynamodb::config::Builder,
    endpoint: Option<&str>,
) -> aws_sdk_dynamodb::Client {
    if let Some(url) = endpoint {
        builder = builder.endpoint_url(url);
    }
    aws_sdk_dynamodb::Client::from_conf(builder.build())
}
