//! One module per page of the site.

pub mod file;
pub mod files;
pub mod share;
pub mod status;
