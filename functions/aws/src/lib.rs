//! AWS adapters: [`S3ObjectStore`] and [`DynamoMetadata`] implement twinshare-core's ports.
//! [`clients`] builds SDK clients once per cold start, pointed at AWS or at a local emulator.

pub mod clients;
mod dynamo;
mod errors;
mod s3;

pub use clients::AwsEndpoints;
pub use dynamo::{DynamoMetadata, PUBLIC_INDEX};
pub use s3::S3ObjectStore;
