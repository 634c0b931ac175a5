//! A process's file descriptor table.

use super::FileRef;
use crate::{Errno, Result};

/// A file descriptor number.
pub type Fd = i32;

/// Maps descriptor numbers to open file descriptions.
#[derive(Default, Clone)]
pub struct FileTable {
    slots: Vec<Option<Entry>>,
}

#[derive(Clone)]
struct Entry {
    file: FileRef,
    close_on_exec: bool,
}

impl FileTable {
    /// Installs `file` at the lowest free descriptor.
    pub fn insert(&mut self, file: FileRef, close_on_exec: bool) -> Fd {
        let entry = Some(Entry {
            file,
            close_on_exec,
        });
        match self.slots.iter().position(Option::is_none) {
            Some(i) => {
                self.slots[i] = entry;
                i as Fd
            }
            None => {
                self.slots.push(entry);
                (self.slots.len() - 1) as Fd
            }
        }
    }

    /// The file at `fd`, or `EBADF`.
    pub fn get(&self, fd: Fd) -> Result<FileRef> {
        usize::try_from(fd)
            .ok()
            .and_then(|i| self.slots.get(i))
            .and_then(|e| e.as_ref())
            .map(|e| e.file.clone())
            .ok_or(Errno::EBADF)
    }

    /// Whether `fd` is closed on exec.
    pub fn close_on_exec(&self, fd: Fd) -> Result<bool> {
        usize::try_from(fd)
            .ok()
            .and_then(|i| self.slots.get(i))
            .and_then(|e| e.as_ref())
            .map(|e| e.close_on_exec)
            .ok_or(Errno::EBADF)
    }

    /// Closes `fd`, returning its file.
    pub fn remove(&mut self, fd: Fd) -> Result<FileRef> {
        let slot = usize::try_from(fd)
            .ok()
            .and_then(|i| self.slots.get_mut(i))
            .ok_or(Errno::EBADF)?;
        let e = slot.take().ok_or(Errno::EBADF)?;
        Ok(e.file)
    }

    /// Number of open descriptors.
    pub fn len(&self) -> usize {
        self.slots.iter().filter(|e| e.is_some()).count()
    }

    /// Whether no descriptor is open.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
