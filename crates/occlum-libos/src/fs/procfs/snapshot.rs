//! An open procfs file: its contents, generated once when it was opened.

use std::sync::Mutex;

use crate::fs::{File, Stat};
use crate::sync::lock;
use crate::{Errno, Result};

/// Contents fixed at open time, read like a regular file.
pub struct Snapshot {
    data: Vec<u8>,
    stat: Stat,
    offset: Mutex<u64>,
}

impl Snapshot {
    /// A snapshot of `data`.
    pub fn new(data: Vec<u8>, stat: Stat) -> Snapshot {
        Snapshot {
            data,
            stat,
            offset: Mutex::new(0),
        }
    }
}

impl File for Snapshot {
    fn read(&self, buf: &mut [u8]) -> Result<usize> {
        let mut off = lock(&self.offset);
        let n = self.read_at(*off, buf)?;
        *off += n as u64;
        Ok(n)
    }

    fn read_at(&self, offset: u64, buf: &mut [u8]) -> Result<usize> {
        let start = offset.min(self.data.len() as u64) as usize;
        let n = buf.len().min(self.data.len() - start);
        buf[..n].copy_from_slice(&self.data[start..start + n]);
        Ok(n)
    }

    fn seek(&self, offset: i64, whence: i32) -> Result<u64> {
        let mut off = lock(&self.offset);
        let base = match whence {
            0 => 0,
            1 => *off as i64,
            2 => self.data.len() as i64,
            _ => return Err(Errno::EINVAL),
        };
        let new = base
            .checked_add(offset)
            .filter(|n| *n >= 0)
            .ok_or(Errno::EINVAL)?;
        *off = new as u64;
        Ok(new as u64)
    }

    fn stat(&self) -> Result<Stat> {
        Ok(self.stat)
    }
}
