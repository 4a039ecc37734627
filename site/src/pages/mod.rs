//! One module per page of the site.

pub mod file;
pub mod files;
pub mod manage;
pub mod mine;
pub mod share;
pub mod status;
