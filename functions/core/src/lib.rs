//! twinshare's domain, free of AWS: everything here is plain Rust and unit-tested with fakes.
//!
//! - [`id`]: server-generated file ids and the object-key scheme;
//! - [`access`]: who may upload (open, with the operator's code, or closed);
//! - [`quota`]: the storage quota every new upload is counted against;
//! - [`validate`]: every API input checked against its limits;
//! - [`password`]: optional file passwords (Argon2id) and the backoff on wrong ones;
//! - [`owner`]: the manage token that proves who owns a file;
//! - [`record`]: the metadata record of a file and the state of each copy;
//! - [`removal`]: the one way a file's bytes leave both buckets;
//! - [`disposition`]: `Content-Disposition` for downloads (RFC 6266 / RFC 5987);
//! - [`ports`]: what the service needs from storage, metadata and the clock;
//! - [`service`]: the API's use cases, generic over the ports;
//! - [`error`]: the one error type the use cases return.

pub mod access;
#[cfg(any(test, feature = "fakes"))]
pub mod contract;
pub mod cursor;
pub mod disposition;
pub mod error;
#[cfg(any(test, feature = "fakes"))]
pub mod fakes;
pub mod health;
pub mod id;
pub mod owner;
pub mod password;
pub mod ports;
pub mod probe;
pub mod quota;
pub mod rate;
pub mod record;
pub mod removal;
pub mod replication;
pub mod search;
pub mod service;
pub mod validate;

pub use error::ApiError;
pub use id::{FileId, ObjectKey};
pub use record::FileRecord;
pub use service::{Service, ServiceSettings, Uploader};

/// The copy a region keeps: the second region's when `serving` is it (and it is not also the
/// primary), else the primary's. Uploads announced in a region land in its bucket, records homed
/// there are written there, and its sweep writes only those (one writer region per item).
pub fn home_of(serving: &str, primary: &str, replica: &str) -> twinshare_api::CopyRole {
    if serving == replica && replica != primary {
        twinshare_api::CopyRole::Replica
    } else {
        twinshare_api::CopyRole::Primary
    }
}
