//! Host threads that the server reuses for its requests, so that an
//! `occlum exec` does not pay for creating and tearing down threads (each
//! costs tens of microseconds here, and unmapping a thread's stack
//! interrupts every other CPU running the server).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex, OnceLock};

type Job = Box<dyn FnOnce() + Send>;

struct Workers {
    jobs: Mutex<Sender<Job>>,
    queue: Arc<Mutex<Receiver<Job>>>,
    /// Threads committed to take the next job: each job sent went to one.
    idle: Arc<AtomicUsize>,
}

static WORKERS: OnceLock<Workers> = OnceLock::new();

/// Runs `job` on an idle worker thread, or on a new one if none is idle.
/// A job never waits behind another: a job that runs for long (a session)
/// holds its thread, and the next job gets another.
pub fn run(job: impl FnOnce() + Send + 'static) {
    let w = WORKERS.get_or_init(|| {
        let (tx, rx) = mpsc::channel();
        Workers {
            jobs: Mutex::new(tx),
            queue: Arc::new(Mutex::new(rx)),
            idle: Arc::new(AtomicUsize::new(0)),
        }
    });
    let claimed = w
        .idle
        .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| n.checked_sub(1))
        .is_ok();
    if claimed {
        // The receiving end lives as long as the process.
        let _ = w
            .jobs
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .send(Box::new(job));
        return;
    }
    let (queue, idle) = (w.queue.clone(), w.idle.clone());
    std::thread::spawn(move || {
        job();
        loop {
            idle.fetch_add(1, Ordering::AcqRel);
            let next = queue.lock().unwrap_or_else(|e| e.into_inner()).recv();
            match next {
                Ok(job) => job(),
                Err(_) => return,
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::run;
    use std::sync::mpsc;
    use std::time::Duration;

    #[test]
    fn a_job_never_waits_behind_a_long_one_and_threads_are_reused() {
        let (block_tx, block_rx) = mpsc::channel::<()>();
        let (done_tx, done_rx) = mpsc::channel();
        // A job that holds its thread until told to end.
        run(move || {
            let _ = block_rx.recv();
        });
        for i in 0..20 {
            let done = done_tx.clone();
            run(move || {
                done.send((i, std::thread::current().id())).unwrap();
            });
            let (n, _) = done_rx
                .recv_timeout(Duration::from_secs(10))
                .expect("a short job runs while the long one holds its thread");
            assert_eq!(n, i);
        }
        let threads: std::collections::HashSet<_> = (0..20)
            .map(|i| {
                let done = done_tx.clone();
                run(move || done.send((i, std::thread::current().id())).unwrap());
                done_rx.recv_timeout(Duration::from_secs(10)).unwrap().1
            })
            .collect();
        assert!(threads.len() < 20, "jobs one after another reuse threads");
        block_tx.send(()).unwrap();
    }
}
