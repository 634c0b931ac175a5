//! Memory budgets: memory that guests make the LibOS hold (ramfs pages, pipe
//! buffers) is charged to a budget first, so a guest that asks for too much
//! gets `ENOSPC`, `ENOMEM` or `EAGAIN`, as on Linux at its limits, instead of
//! growing the host process without bound.
//!
//! The kernel budget is `resource_limits.kernel_space_heap_size` (its `_max`
//! form when larger); a ramfs mount given `options.size` has a budget of its
//! own instead.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, LazyLock};

/// A limit on bytes held, and what is held now.
#[derive(Debug)]
pub struct Budget {
    what: &'static str,
    limit: AtomicU64,
    used: AtomicU64,
    warned: AtomicBool,
}

impl Budget {
    /// A budget of `limit` bytes; `what` names the configuration field that
    /// sets it, for the log line when it runs out.
    pub fn new(what: &'static str, limit: u64) -> Arc<Budget> {
        Arc::new(Budget {
            what,
            limit: AtomicU64::new(limit),
            used: AtomicU64::new(0),
            warned: AtomicBool::new(false),
        })
    }

    /// Charges `bytes`; false (and nothing charged) when that would exceed
    /// the limit.
    pub fn try_charge(&self, bytes: u64) -> bool {
        let limit = self.limit.load(Ordering::Relaxed);
        let ok = self
            .used
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |used| {
                used.checked_add(bytes).filter(|&n| n <= limit)
            })
            .is_ok();
        if !ok && !self.warned.swap(true, Ordering::Relaxed) {
            tracing::warn!(
                "LibOS memory budget exhausted ({} bytes in use of {limit}); raise {}",
                self.used(),
                self.what
            );
        }
        ok
    }

    /// Returns `bytes` charged earlier.
    pub fn uncharge(&self, bytes: u64) {
        let prev = self.used.fetch_sub(bytes, Ordering::AcqRel);
        debug_assert!(prev >= bytes, "budget uncharged more than it held");
    }

    /// Bytes charged now.
    pub fn used(&self) -> u64 {
        self.used.load(Ordering::Relaxed)
    }

    /// The limit in bytes.
    pub fn limit(&self) -> u64 {
        self.limit.load(Ordering::Relaxed)
    }

    /// Sets the limit (at boot, from the configuration).
    pub fn set_limit(&self, limit: u64) {
        self.limit.store(limit, Ordering::Relaxed);
    }
}

/// The LibOS kernel budget (unlimited until boot sets it).
pub fn kernel() -> &'static Arc<Budget> {
    static KERNEL: LazyLock<Arc<Budget>> =
        LazyLock::new(|| Budget::new("resource_limits.kernel_space_heap_size", u64::MAX));
    &KERNEL
}

/// Charges of a buffer are taken and returned in steps of this many bytes,
/// so that a buffer filled and drained in small pieces (a pipe streaming
/// 4 KiB writes) seldom touches the budget that every CPU updates.
const CHARGE_STEP: usize = 16384;

/// What a buffer of bytes (a pipe, a socket's receive queue) holds of the
/// kernel budget. Every buffer may hold `free` bytes uncharged, as Linux
/// leaves each pipe one page when a user's pipes are over their limit; the
/// rest is charged as it comes and returned as it leaves, in steps of
/// `CHARGE_STEP` (a buffer holding bytes keeps a step more than it needs,
/// so that a fill going back and forth across a step's end does not charge
/// and return each time; an empty one keeps nothing).
#[derive(Debug)]
pub struct BufferCharge {
    charged: usize,
    free: usize,
}

impl BufferCharge {
    /// A charge for an empty buffer with a free allowance of `free` bytes.
    pub const fn new(free: usize) -> BufferCharge {
        BufferCharge { charged: 0, free }
    }

    /// How many of `want` more bytes a buffer now holding `held` bytes may
    /// take: all of them if the budget has room, else what fits in the free
    /// allowance; 0 if that is fewer than `at_least`.
    pub fn admit(&mut self, held: usize, want: usize, at_least: usize) -> usize {
        let total = held.saturating_add(want);
        if total <= self.charged {
            return want;
        }
        let short = total - self.charged;
        let step = short.div_ceil(CHARGE_STEP).saturating_mul(CHARGE_STEP);
        for more in [step, short] {
            if kernel().try_charge(more as u64) {
                self.charged += more;
                return want;
            }
        }
        let uncharged = held.saturating_sub(self.charged);
        let n = want.min(self.free.saturating_sub(uncharged));
        if n >= at_least {
            n
        } else {
            0
        }
    }

    /// The buffer now holds `held` bytes: returns what it no longer needs
    /// (all but a step beyond them; all of it when it is empty).
    pub fn release(&mut self, held: usize) {
        let steps = if held == 0 {
            0
        } else {
            held.div_ceil(CHARGE_STEP) + 1
        };
        let keep = self.charged.min(steps.saturating_mul(CHARGE_STEP));
        if keep < self.charged {
            kernel().uncharge((self.charged - keep) as u64);
            self.charged = keep;
        }
    }
}

impl Default for BufferCharge {
    /// One free page.
    fn default() -> Self {
        BufferCharge::new(4096)
    }
}

impl Drop for BufferCharge {
    fn drop(&mut self) {
        kernel().uncharge(self.charged as u64);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_buffer_charges_in_steps() {
        let mut c = BufferCharge::new(4096);
        assert_eq!(c.admit(0, 4096, 4096), 4096);
        assert_eq!(c.charged, CHARGE_STEP);
        assert_eq!(c.admit(4096, 4096, 1), 4096);
        assert_eq!(c.charged, CHARGE_STEP);
        assert_eq!(c.admit(CHARGE_STEP, 1, 1), 1);
        assert_eq!(c.charged, 2 * CHARGE_STEP);
        c.release(100);
        assert_eq!(c.charged, 2 * CHARGE_STEP, "a step beyond what is held");
        assert_eq!(c.admit(100, 3 * CHARGE_STEP, 1), 3 * CHARGE_STEP);
        c.release(100);
        assert_eq!(c.charged, 2 * CHARGE_STEP);
        c.release(0);
        assert_eq!(c.charged, 0, "an empty buffer keeps nothing");
    }

    #[test]
    fn charges_up_to_the_limit_and_no_further() {
        let b = Budget::new("test", 10);
        assert!(b.try_charge(6));
        assert!(!b.try_charge(5));
        assert_eq!(b.used(), 6);
        assert!(b.try_charge(4));
        b.uncharge(10);
        assert_eq!(b.used(), 0);
        assert!(!b.try_charge(u64::MAX));
    }
}
