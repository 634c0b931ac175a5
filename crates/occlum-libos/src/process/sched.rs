//! Scheduling attributes of a thread: policy, real-time priority, CPU
//! affinity, I/O priority and NUMA memory policy. The LibOS keeps and reports what programs
//! set (threads inherit them), but the host schedules its threads as it
//! likes: none of these change how the thread runs.

/// `SCHED_OTHER`.
pub const SCHED_OTHER: i32 = 0;
/// `SCHED_FIFO`.
pub const SCHED_FIFO: i32 = 1;
/// `SCHED_RR`.
pub const SCHED_RR: i32 = 2;
/// `SCHED_BATCH`.
pub const SCHED_BATCH: i32 = 3;
/// `SCHED_IDLE`.
pub const SCHED_IDLE: i32 = 5;

/// One thread's scheduling attributes.
#[derive(Clone, Debug, Default)]
pub struct Sched {
    /// The policy (`SCHED_*`).
    pub policy: i32,
    /// The real-time priority (1..=99 for `SCHED_FIFO`/`SCHED_RR`, else 0).
    pub priority: i32,
    /// `SCHED_RESET_ON_FORK`: children start with `SCHED_OTHER`.
    pub reset_on_fork: bool,
    /// The CPUs the thread may run on, one bit each (`None`: all).
    pub affinity: Option<Vec<u8>>,
    /// `ioprio_set`'s value (`None`: never set).
    pub ioprio: Option<u16>,
    /// `set_mempolicy`'s mode (with its flags) and nodes.
    pub mempolicy: (i32, u64),
}

impl Sched {
    /// What a child made by `fork` or `clone` starts with.
    pub fn inherited(&self) -> Sched {
        let mut s = self.clone();
        if s.reset_on_fork {
            s.reset_on_fork = false;
            if matches!(s.policy, SCHED_FIFO | SCHED_RR) {
                s.policy = SCHED_OTHER;
                s.priority = 0;
            }
        }
        s
    }

    /// Whether `priority` is valid for `policy` (`None`: unknown policy).
    pub fn priority_fits(policy: i32, priority: i32) -> Option<bool> {
        match policy {
            SCHED_OTHER | SCHED_BATCH | SCHED_IDLE => Some(priority == 0),
            SCHED_FIFO | SCHED_RR => Some((1..=99).contains(&priority)),
            _ => None,
        }
    }
}
