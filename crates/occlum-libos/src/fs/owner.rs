//! The owner of an open file (`fcntl(F_SETOWN)`): the process or process
//! group that would get `SIGIO`/`SIGURG` for it. The LibOS records it (and
//! `F_GETOWN` gives it back) but sends no `SIGIO` (see `O_ASYNC`).

use std::sync::{Arc, Mutex, Weak};

use super::{File, FileRef};
use crate::sync::lock;

static OWNERS: Mutex<Vec<(Weak<dyn File>, i32)>> = Mutex::new(Vec::new());

fn same(w: &Weak<dyn File>, f: &FileRef) -> bool {
    std::ptr::addr_eq(w.as_ptr(), Arc::as_ptr(f))
}

/// Records `owner` (a pid, or minus a process group id; 0: none) for `f`.
pub fn set(f: &FileRef, owner: i32) {
    let mut owners = lock(&OWNERS);
    owners.retain(|(w, _)| w.strong_count() > 0 && !same(w, f));
    if owner != 0 {
        owners.push((Arc::downgrade(f), owner));
    }
}

/// The owner recorded for `f` (0: none).
pub fn get(f: &FileRef) -> i32 {
    lock(&OWNERS)
        .iter()
        .find(|(w, _)| w.strong_count() > 0 && same(w, f))
        .map_or(0, |(_, o)| *o)
}
