//! What every implementation of a port must do, written once and run against each: the
//! in-memory fake here (unit tests) and the AWS adapter against moto (`integration-tests`). A
//! fake that behaves otherwise than the adapter would let a unit test pass for a bug the real
//! thing has; this suite is where the two are held to one behaviour.
//!
//! Each suite takes a store that holds nothing yet and panics on the first broken rule.

mod admission;
mod health;
mod listing;
mod metadata;
mod object;

pub use metadata::metadata_store;
pub use object::object_store;
