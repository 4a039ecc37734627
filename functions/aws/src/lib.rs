//! AWS adapters: [`S3ObjectStore`] and [`DynamoMetadata`] implement twinshare-core's ports.
//! [`clients`] builds SDK clients once per cold start, pointed at AWS or at a local emulator.

pub mod clients;
mod copier;
mod dynamo;
mod errors;
mod s3;

pub use clients::AwsEndpoints;
pub use copier::{CopyMode, S3Copier, PART_SIZE};
pub use dynamo::{record_item, DynamoMetadata, SearchCost, SearchPage, BY_NAME, BY_SIZE};
pub use s3::S3ObjectStore;
