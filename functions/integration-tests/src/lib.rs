//! Test harness: see tests/.
