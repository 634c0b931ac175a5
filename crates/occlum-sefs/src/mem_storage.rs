//! An in-memory [`Storage`] that can simulate a crash.

use std::io;
use std::sync::{Mutex, MutexGuard};

use crate::storage::Storage;

/// Granularity at which a simulated crash keeps or drops unsynced writes.
pub const CRASH_GRANULE: u64 = 4096;

enum Op {
    Write(u64, Vec<u8>),
    SetLen(u64),
}

#[derive(Default)]
struct State {
    durable: Vec<u8>,
    current: Vec<u8>,
    log: Vec<Op>,
    budget: Option<u64>,
    written: u64,
}

/// In-memory storage for tests. It remembers the durable image (as of the last
/// `sync`) and the writes since, so [`MemStorage::crash`] can build the image a
/// host crash might leave behind.
#[derive(Default)]
pub struct MemStorage {
    state: Mutex<State>,
}

fn apply_write(image: &mut Vec<u8>, offset: u64, data: &[u8]) {
    let start = offset as usize;
    let end = start + data.len();
    if image.len() < end {
        image.resize(end, 0);
    }
    image[start..end].copy_from_slice(data);
}

impl MemStorage {
    /// An empty storage.
    pub fn new() -> MemStorage {
        MemStorage::default()
    }

    /// A storage whose durable content is `bytes`.
    pub fn from_bytes(bytes: Vec<u8>) -> MemStorage {
        MemStorage {
            state: Mutex::new(State {
                durable: bytes.clone(),
                current: bytes,
                ..State::default()
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The current content, including unsynced writes.
    pub fn snapshot(&self) -> Vec<u8> {
        self.lock().current.clone()
    }

    /// Total bytes written so far.
    pub fn bytes_written(&self) -> u64 {
        self.lock().written
    }

    /// Number of writes and resizes since the last sync.
    pub fn unsynced_ops(&self) -> usize {
        self.lock().log.len()
    }

    /// Lets only `ops` more writes, resizes or syncs succeed; later ones fail
    /// (the "moment of the crash"). `None` removes the limit.
    pub fn set_write_budget(&self, ops: Option<u64>) {
        self.lock().budget = ops;
    }

    /// The image after a simulated crash: the durable content plus, in order, each
    /// unsynced resize and each [`CRASH_GRANULE`]-aligned piece of each unsynced
    /// write for which `keep` returns true.
    pub fn crash(&self, keep: &mut dyn FnMut() -> bool) -> MemStorage {
        let state = self.lock();
        let mut image = state.durable.clone();
        for op in &state.log {
            match op {
                Op::SetLen(len) => {
                    if keep() {
                        image.resize(*len as usize, 0);
                    }
                }
                Op::Write(offset, data) => {
                    let mut pos = *offset;
                    let end = offset + data.len() as u64;
                    while pos < end {
                        let piece_end = ((pos / CRASH_GRANULE + 1) * CRASH_GRANULE).min(end);
                        if keep() {
                            let from = (pos - offset) as usize;
                            let to = (piece_end - offset) as usize;
                            apply_write(&mut image, pos, &data[from..to]);
                        }
                        pos = piece_end;
                    }
                }
            }
        }
        MemStorage::from_bytes(image)
    }

    fn spend(state: &mut State) -> io::Result<()> {
        match &mut state.budget {
            Some(0) => Err(io::Error::other("simulated crash: storage is gone")),
            Some(n) => {
                *n -= 1;
                Ok(())
            }
            None => Ok(()),
        }
    }
}

impl Storage for MemStorage {
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<()> {
        let state = self.lock();
        let start = usize::try_from(offset).map_err(|_| io::ErrorKind::UnexpectedEof)?;
        let end = start
            .checked_add(buf.len())
            .filter(|&end| end <= state.current.len())
            .ok_or(io::ErrorKind::UnexpectedEof)?;
        buf.copy_from_slice(&state.current[start..end]);
        Ok(())
    }

    fn write_at(&self, offset: u64, buf: &[u8]) -> io::Result<()> {
        let mut state = self.lock();
        Self::spend(&mut state)?;
        apply_write(&mut state.current, offset, buf);
        state.written += buf.len() as u64;
        state.log.push(Op::Write(offset, buf.to_vec()));
        Ok(())
    }

    fn len(&self) -> io::Result<u64> {
        Ok(self.lock().current.len() as u64)
    }

    fn set_len(&self, len: u64) -> io::Result<()> {
        let mut state = self.lock();
        Self::spend(&mut state)?;
        state.current.resize(len as usize, 0);
        state.log.push(Op::SetLen(len));
        Ok(())
    }

    fn sync(&self) -> io::Result<()> {
        let mut state = self.lock();
        Self::spend(&mut state)?;
        state.durable = state.current.clone();
        state.log.clear();
        Ok(())
    }
}
