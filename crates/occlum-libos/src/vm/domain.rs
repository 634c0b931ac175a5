//! Domains: address spaces that share address ranges take turns in the user
//! region.
//!
//! All LibOS processes live in one user region. Most address spaces own
//! disjoint ranges and run fully in parallel, each the only member of its
//! domain. A `fork` child gets the same addresses as its parent, so it joins
//! its parent's domain: of the members of a domain only one (the resident)
//! has its pages in the region at a time; the others are parked outside it
//! (`vm/park.rs`).
//!
//! A host thread is *active* in an address space while it runs the
//! process's user code or serves its syscalls; it stops being active while
//! it blocks (`wait_event`, futex waits) and when it leaves user code for
//! good. A member becomes resident when one of its threads wants to run and
//! no thread of the resident member is active; threads that wait take turns
//! in the order they came. A resident member that keeps running while others
//! wait is asked to yield after a time slice: its threads are interrupted
//! and step aside on their way back to user code.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, Weak};
use std::time::Duration;

use occlum_pal::trap;

use super::owners::OwnerId;
use super::VmSpace;
use crate::sync::lock;

/// Identifies an address space within its domain.
pub type MemberId = u32;

/// How long a resident member may keep the region while others wait.
const TIME_SLICE: Duration = Duration::from_millis(10);

/// A set of address spaces that take turns in the user region.
#[derive(Debug)]
pub struct Domain {
    id: OwnerId,
    members: AtomicUsize,
    state: Mutex<State>,
    turn: Condvar,
    switches: AtomicU64,
}

#[derive(Debug, Default)]
struct State {
    resident: Option<MemberId>,
    /// The members that may be parked, to switch them out.
    spaces: Vec<(MemberId, Weak<Mutex<VmSpace>>)>,
    /// Host threads active in the resident member.
    active: Vec<i32>,
    /// Threads waiting for their member's turn, oldest first.
    waiting: VecDeque<(u64, MemberId)>,
    next_ticket: u64,
    /// A waiter has waited a whole time slice: the resident member's
    /// threads step aside.
    yield_wanted: bool,
    /// Ranges a member unmapped while others might still use them: given
    /// back when a member leaves and no remaining member uses them.
    orphans: Vec<(usize, usize)>,
    /// Host threads waiting on `turn` (a change notifies only if some are).
    sleepers: usize,
}

/// Every domain, by owner id (to join the one that has the addresses a
/// non-PIE program needs).
static DOMAINS: Mutex<Vec<(OwnerId, Weak<Domain>)>> = Mutex::new(Vec::new());

/// The domain whose ranges have owner `id`, if it still exists.
pub(super) fn find(id: OwnerId) -> Option<Arc<Domain>> {
    crate::sync::lock_shared(&DOMAINS)
        .iter()
        .find(|(o, _)| *o == id)
        .and_then(|(_, w)| w.upgrade())
}

impl Domain {
    /// A domain whose one member, `first`, is resident.
    pub(super) fn new(id: OwnerId, first: MemberId) -> Arc<Domain> {
        let d = Domain::make(id, first);
        let mut all = crate::sync::lock_shared(&DOMAINS);
        all.retain(|(_, w)| w.strong_count() > 0);
        all.push((id, Arc::downgrade(&d)));
        d
    }

    fn make(id: OwnerId, first: MemberId) -> Arc<Domain> {
        Arc::new(Domain {
            id,
            members: AtomicUsize::new(1),
            state: Mutex::new(State {
                resident: Some(first),
                ..State::default()
            }),
            turn: Condvar::new(),
            switches: AtomicU64::new(0),
        })
    }

    /// The owner id of the domain's ranges in the user region.
    pub(super) fn owner(&self) -> OwnerId {
        self.id
    }

    /// Whether other address spaces share this domain's ranges now.
    pub(super) fn is_shared(&self) -> bool {
        self.members.load(Ordering::Acquire) > 1
    }

    /// A new parked member joins.
    pub(super) fn add_member(&self) {
        self.members.fetch_add(1, Ordering::AcqRel);
    }

    /// How many times members were switched in.
    pub fn switches(&self) -> u64 {
        self.switches.load(Ordering::Relaxed)
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        crate::sync::lock_shared(&self.state)
    }

    /// Records where member `id` lives, so that it can be parked.
    pub fn register(&self, id: MemberId, space: &Arc<Mutex<VmSpace>>) {
        let mut st = self.lock();
        st.spaces.retain(|(m, w)| *m != id && w.strong_count() > 0);
        st.spaces.push((id, Arc::downgrade(space)));
    }

    /// Member `id` is going away (its address space is dropped; if it was
    /// resident, its pages have left the region). Returns whether it was
    /// the last member.
    pub(super) fn remove_member(&self, id: MemberId) -> bool {
        let mut st = self.lock();
        if st.resident == Some(id) {
            st.resident = None;
            st.active.clear();
        }
        st.spaces.retain(|(m, w)| *m != id && w.strong_count() > 0);
        self.changed(st);
        self.members.fetch_sub(1, Ordering::AcqRel) == 1
    }

    /// Records `[start, end)`, unmapped by a member while other members
    /// might use it.
    pub(super) fn add_orphan(&self, start: usize, end: usize) {
        self.lock().orphans.push((start, end));
    }

    /// Takes the recorded orphan ranges.
    pub(super) fn take_orphans(&self) -> Vec<(usize, usize)> {
        std::mem::take(&mut self.lock().orphans)
    }

    /// The other members' address spaces.
    pub(super) fn others(&self, id: MemberId) -> Vec<Arc<Mutex<VmSpace>>> {
        self.lock()
            .spaces
            .iter()
            .filter(|(m, _)| *m != id)
            .filter_map(|(_, w)| w.upgrade())
            .collect()
    }

    /// Makes the calling host thread active in member `id`, waiting for its
    /// turn; `space` is the member's address space.
    fn enter(&self, id: MemberId, space: &Arc<Mutex<VmSpace>>) {
        let me = trap::current_host_tid();
        let mut st = self.lock();
        let mut ticket: Option<u64> = None;
        loop {
            let first_waiter = st.waiting.front().map(|w| w.1);
            let others_first = first_waiter.is_some_and(|m| m != id);
            if st.resident == Some(id) && !(st.yield_wanted && others_first) {
                break;
            }
            let my_turn = first_waiter.is_none_or(|m| m == id);
            if st.resident != Some(id) && st.active.is_empty() && my_turn {
                let (switched, outgoing);
                (st, switched, outgoing) = self.switch_to(st, id, space);
                if switched {
                    // Active before the lock is let go: no other member
                    // may switch in meanwhile.
                    Self::admit(&mut st, ticket, me);
                    self.changed(st);
                    // The last reference to the outgoing member may be
                    // this one: dropped unlocked (that takes the lock).
                    drop(outgoing);
                    return;
                }
                if outgoing.is_some() {
                    // Its pages could not be moved: look again later.
                    drop(st);
                    drop(outgoing);
                    st = self.wait_turn(self.lock()).0;
                }
                continue;
            }
            if ticket.is_none() {
                let t = st.next_ticket;
                st.next_ticket += 1;
                st.waiting.push_back((t, id));
                ticket = Some(t);
            }
            let timed_out;
            (st, timed_out) = self.wait_turn(st);
            if timed_out && st.resident != Some(id) && !st.active.is_empty() {
                st.yield_wanted = true;
                for &host in &st.active {
                    let _ = trap::interrupt(host);
                }
            }
        }
        Self::admit(&mut st, ticket, me);
        self.changed(st);
    }

    /// Waits for a change to the state, or a time slice; true if the time
    /// slice passed.
    fn wait_turn<'a>(&'a self, mut st: MutexGuard<'a, State>) -> (MutexGuard<'a, State>, bool) {
        st.sleepers += 1;
        let (mut st, r) = self
            .turn
            .wait_timeout(st, TIME_SLICE)
            .unwrap_or_else(|e| e.into_inner());
        st.sleepers -= 1;
        (st, r.timed_out())
    }

    /// Lets go of the state after a change, waking the threads that wait
    /// for one (a host call only if there are some).
    fn changed(&self, st: MutexGuard<'_, State>) {
        let wake = st.sleepers > 0;
        drop(st);
        if wake {
            self.turn.notify_all();
        }
    }

    /// Host thread `me` (which waited with `ticket`) is active now.
    fn admit(st: &mut State, ticket: Option<u64>, me: i32) {
        if let Some(t) = ticket {
            st.waiting.retain(|w| w.0 != t);
        }
        st.active.push(me);
    }

    /// Parks the resident member and puts `id` in; false (after a wait) if
    /// the resident member cannot leave right now: it is being dropped
    /// (its drop clears `resident`), or its pages could not be moved. Also
    /// gives back the outgoing member, for the caller to drop unlocked.
    #[allow(clippy::type_complexity)]
    fn switch_to<'a>(
        &'a self,
        mut st: MutexGuard<'a, State>,
        id: MemberId,
        space: &Arc<Mutex<VmSpace>>,
    ) -> (MutexGuard<'a, State>, bool, Option<Arc<Mutex<VmSpace>>>) {
        let mut outgoing = None;
        let mut vacated = Vec::new();
        let mut in_place = Vec::new();
        if let Some(out) = st.resident {
            outgoing = st
                .spaces
                .iter()
                .find(|(m, _)| *m == out)
                .and_then(|(_, w)| w.upgrade());
            let t0 = std::time::Instant::now();
            let parked = match &outgoing {
                Some(vm) => {
                    let mut vm = lock(vm);
                    in_place = vm.sealed_maps();
                    vm.park_out().map(|v| vacated = v)
                }
                None => Err(crate::Errno::ESRCH),
            };
            tracing::trace!("member {out} parked in {:?}", t0.elapsed());
            if let Err(e) = parked {
                if outgoing.is_some() {
                    tracing::error!("cannot switch an address space out of the user region: {e}");
                    return (st, false, outgoing);
                }
                let (guard, _) = self.wait_turn(st);
                return (guard, false, None);
            }
            st.resident = None;
        }
        let t0 = std::time::Instant::now();
        let parked_in = {
            let mut incoming = lock(space);
            let r = incoming.park_in(&in_place);
            incoming.clear_vacated(&vacated);
            r
        };
        tracing::trace!("member {id} back in {:?}", t0.elapsed());
        if let Err(e) = parked_in {
            tracing::error!("cannot switch an address space into the user region: {e}");
        }
        st.resident = Some(id);
        st.yield_wanted = false;
        st.active.clear();
        self.switches.fetch_add(1, Ordering::Relaxed);
        (st, true, outgoing)
    }

    /// The calling host thread stops being active in member `id`.
    fn leave(&self, id: MemberId) {
        let me = trap::current_host_tid();
        let mut st = self.lock();
        if st.resident == Some(id) {
            if let Some(i) = st.active.iter().position(|&h| h == me) {
                st.active.swap_remove(i);
            }
        }
        let wake = st.active.is_empty() && !st.waiting.is_empty();
        drop(st);
        if wake {
            self.turn.notify_all();
        }
    }

    fn yield_wanted(&self) -> bool {
        self.lock().yield_wanted
    }
}

impl Drop for Domain {
    fn drop(&mut self) {
        let n = self.switches();
        if n > 0 {
            tracing::debug!("address-space domain {}: {n} switches", self.id);
        }
    }
}

/// What the calling host thread is active in.
struct Held {
    domain: Arc<Domain>,
    member: MemberId,
    space: Weak<Mutex<VmSpace>>,
}

thread_local! {
    static HELD: RefCell<Option<Held>> = const { RefCell::new(None) };
}

/// Makes the calling host thread active in `space` (waiting for its turn if
/// its domain is shared); it stops being active in whatever it was before.
pub fn enter(space: &Arc<Mutex<VmSpace>>) {
    let (domain, member) = {
        let vm = lock(space);
        (vm.domain.clone(), vm.id)
    };
    let same = HELD.with(|h| {
        h.borrow()
            .as_ref()
            .is_some_and(|held| Arc::ptr_eq(&held.domain, &domain) && held.member == member)
    });
    if same {
        return;
    }
    leave();
    domain.enter(member, space);
    HELD.with(|h| {
        *h.borrow_mut() = Some(Held {
            domain,
            member,
            space: Arc::downgrade(space),
        })
    });
}

/// The calling host thread stops being active (it leaves user code for good).
pub fn leave() {
    if let Some(held) = HELD.with(|h| h.borrow_mut().take()) {
        held.domain.leave(held.member);
    }
}

/// A thread that blocks stops being active until the guard drops.
#[must_use]
pub struct Paused(Option<(Held, Arc<Mutex<VmSpace>>)>);

/// Stops being active while the calling thread blocks; dropping the guard
/// makes it active again (after waiting for its turn).
pub fn pause() -> Paused {
    let Some(held) = HELD.with(|h| h.borrow_mut().take()) else {
        return Paused(None);
    };
    held.domain.leave(held.member);
    let space = held.space.upgrade();
    Paused(space.map(|s| (held, s)))
}

impl Drop for Paused {
    fn drop(&mut self) {
        if let Some((held, space)) = self.0.take() {
            leave();
            held.domain.enter(held.member, &space);
            HELD.with(|h| *h.borrow_mut() = Some(held));
        }
    }
}

/// Called before user code resumes: if other members of the domain have
/// waited a whole time slice, the thread steps aside and waits for its
/// next turn.
pub fn yield_if_wanted() {
    let wanted = HELD.with(|h| {
        h.borrow()
            .as_ref()
            .is_some_and(|held| held.domain.is_shared() && held.domain.yield_wanted())
    });
    if wanted {
        drop(pause());
    }
}

/// Records `space` in its domain, so that it can be switched out when
/// another member comes in.
pub fn register(space: &Arc<Mutex<VmSpace>>) {
    let (domain, member) = {
        let vm = lock(space);
        (vm.domain.clone(), vm.id)
    };
    domain.register(member, space);
}
