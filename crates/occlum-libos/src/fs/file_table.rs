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
    fn entry(&self, fd: Fd) -> Result<&Entry> {
        usize::try_from(fd)
            .ok()
            .and_then(|i| self.slots.get(i))
            .and_then(|e| e.as_ref())
            .ok_or(Errno::EBADF)
    }

    /// Installs `file` at the lowest free descriptor `>= min` below `limit`
    /// (`EMFILE` if none).
    pub fn insert_from(
        &mut self,
        min: Fd,
        file: FileRef,
        close_on_exec: bool,
        limit: usize,
    ) -> Result<Fd> {
        let start = usize::try_from(min).map_err(|_| Errno::EINVAL)?;
        let free = (start..)
            .find(|&i| self.slots.get(i).is_none_or(|e| e.is_none()))
            .expect("unbounded");
        if free >= limit {
            return Err(Errno::EMFILE);
        }
        if free >= self.slots.len() {
            self.slots.resize(free + 1, None);
        }
        self.slots[free] = Some(Entry {
            file,
            close_on_exec,
        });
        Ok(free as Fd)
    }

    /// Installs `file` at the lowest free descriptor.
    pub fn insert(&mut self, file: FileRef, close_on_exec: bool, limit: usize) -> Result<Fd> {
        self.insert_from(0, file, close_on_exec, limit)
    }

    /// Installs `file` at exactly `fd`, closing what was there; returns the
    /// file it replaced (to be dropped outside the table's lock).
    pub fn insert_at(
        &mut self,
        fd: Fd,
        file: FileRef,
        close_on_exec: bool,
        limit: usize,
    ) -> Result<Option<FileRef>> {
        let i = usize::try_from(fd).map_err(|_| Errno::EBADF)?;
        if i >= limit {
            return Err(Errno::EBADF);
        }
        if i >= self.slots.len() {
            self.slots.resize(i + 1, None);
        }
        Ok(self.slots[i]
            .replace(Entry {
                file,
                close_on_exec,
            })
            .map(|e| e.file))
    }

    /// The open descriptors, in increasing order.
    pub fn fds(&self) -> Vec<Fd> {
        (0..self.slots.len())
            .filter(|&i| self.slots[i].is_some())
            .map(|i| i as Fd)
            .collect()
    }

    /// The file at `fd`, or `EBADF`.
    pub fn get(&self, fd: Fd) -> Result<FileRef> {
        self.entry(fd).map(|e| e.file.clone())
    }

    /// Whether `fd` is closed on exec.
    pub fn close_on_exec(&self, fd: Fd) -> Result<bool> {
        self.entry(fd).map(|e| e.close_on_exec)
    }

    /// Sets whether `fd` is closed on exec.
    pub fn set_close_on_exec(&mut self, fd: Fd, on: bool) -> Result<()> {
        let e = usize::try_from(fd)
            .ok()
            .and_then(|i| self.slots.get_mut(i))
            .and_then(|e| e.as_mut())
            .ok_or(Errno::EBADF)?;
        e.close_on_exec = on;
        Ok(())
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

    /// Closes every close-on-exec descriptor; returns their files.
    pub fn take_close_on_exec(&mut self) -> Vec<FileRef> {
        self.slots
            .iter_mut()
            .filter(|e| e.as_ref().is_some_and(|e| e.close_on_exec))
            .filter_map(|e| e.take().map(|e| e.file))
            .collect()
    }
}
