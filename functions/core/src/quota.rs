//! The storage quota: every live file (uploads in progress included) is counted once, by its
//! declared size, in one usage counter. The counter changes only in the same transaction as a
//! record's `charged` mark: announcing an upload charges it (refused if the quota would be
//! passed: the condition is on the counter, so concurrent announcements cannot pass it
//! together), removing a file for any reason (deleted, expired, cancelled, abandoned, taken
//! down) releases it, exactly once, since a record is removed once. So the counter is the sum of
//! the charged records' sizes, and the sweep repairs the rest (see [`Settle`] and
//! [`reconciled`]).

use crate::{record::FileRecord, ApiError};

/// What the usage counter holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct StorageUsage {
    /// Sizes of the charged files.
    pub bytes: u64,
    pub files: u64,
    /// How many times the counter changed: a pass of the sweep that saw the same number at its
    /// start and its end read every charged record with nothing charged or released meanwhile.
    pub changes: u64,
}

/// The answer to writing a new record against the quota.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Creation {
    Created,
    /// Refused: the quota would be passed; what the counter held.
    OverQuota {
        used_bytes: u64,
    },
}

/// The refusal an uploader sees: how much room is left.
pub fn over_quota(size: u64, used_bytes: u64, quota: u64) -> ApiError {
    ApiError::QuotaExceeded {
        needed: size,
        free: quota.saturating_sub(used_bytes),
    }
}

/// What the sweep does about a record whose charge disagrees with its state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Settle {
    /// Live but not counted: a file shared before the quota existed, or a charge lost by hand.
    Charge,
    /// Removed but still counted (only by hand: removal releases in its own transaction).
    Release,
}

/// Whether `record`'s charge needs settling, and how.
pub fn settle(record: &FileRecord) -> Option<Settle> {
    match (record.removal.is_some(), record.charged) {
        (false, false) => Some(Settle::Charge),
        (true, true) => Some(Settle::Release),
        _ => None,
    }
}

/// The counter as it should be, after a pass that summed the charged records (`counted`): if
/// the counter did not change during the pass (`at_start.changes == now.changes`), the pass saw
/// exactly what it counts, and a difference is drift to repair. `None` when it is right, or when
/// the pass cannot tell (the counter moved meanwhile: the next quiet pass repairs).
pub fn reconciled(at_start: StorageUsage, now: StorageUsage, counted: StorageUsage) -> Option<StorageUsage> {
    let quiet = at_start.changes == now.changes;
    let differs = (now.bytes, now.files) != (counted.bytes, counted.files);
    (quiet && differs).then_some(StorageUsage {
        changes: now.changes + 1,
        ..counted
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pass_repairs_only_what_it_saw_without_changes() {
        let usage = |bytes, changes| StorageUsage {
            bytes,
            files: 1,
            changes,
        };
        let counted = usage(10, 0);
        assert_eq!(reconciled(usage(99, 4), usage(99, 4), counted), Some(usage(10, 5)));
        assert_eq!(reconciled(usage(10, 4), usage(10, 4), counted), None, "right already");
        assert_eq!(
            reconciled(usage(99, 4), usage(99, 5), counted),
            None,
            "changed during the pass"
        );
    }

    #[test]
    fn the_refusal_says_how_much_is_free() {
        assert_eq!(over_quota(10, 95, 100), ApiError::QuotaExceeded { needed: 10, free: 5 });
        assert_eq!(
            over_quota(10, 120, 100),
            ApiError::QuotaExceeded { needed: 10, free: 0 }
        );
    }
}
