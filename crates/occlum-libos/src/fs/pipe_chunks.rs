//! A pipe's bytes as a queue of chunks, so that its reader and writer copy
//! at the same time: a writer fills a chunk of its own and then appends it,
//! a reader takes chunks off the front, copies from them and puts back what
//! it did not use. The queue's lock is held only to move chunks (and to
//! append a small write to the last chunk).

use std::collections::VecDeque;

use crate::budget::BufferCharge;

/// Writes up to this size are appended to the last chunk when it has room
/// (copied under the queue's lock).
pub const APPEND_MAX: usize = 4096;
/// Least room a new chunk is made with (small writes coalesce into it).
const CHUNK_ROOM: usize = 4096;
/// Most bytes of emptied chunks kept for reuse.
const MAX_SPARE_BYTES: usize = 65536;

/// Bytes of one or more writes; the held ones are `bytes[start..]`.
pub struct Chunk {
    bytes: Vec<u8>,
    start: usize,
}

impl Chunk {
    /// The held bytes.
    pub fn data(&self) -> &[u8] {
        &self.bytes[self.start..]
    }

    /// Drops the first `n` held bytes (at most all).
    pub fn advance(&mut self, n: usize) {
        self.start = (self.start + n).min(self.bytes.len());
    }
}

/// The queue of a pipe's chunks, with the memory charge for them.
pub struct ChunkQueue {
    chunks: VecDeque<Chunk>,
    /// Bytes in the queue and taken by the reader, not consumed yet.
    held: usize,
    /// Bytes a writer was admitted for and is copying.
    reserved: usize,
    spare: Vec<Vec<u8>>,
    charge: BufferCharge,
}

impl ChunkQueue {
    /// An empty queue; `free` bytes are held without charging the budget.
    pub const fn new(free: usize) -> ChunkQueue {
        ChunkQueue {
            chunks: VecDeque::new(),
            held: 0,
            reserved: 0,
            spare: Vec::new(),
            charge: BufferCharge::new(free),
        }
    }

    /// Bytes held (written and not consumed yet).
    pub fn len(&self) -> usize {
        self.held
    }

    /// Admits up to `want` more bytes (at least `at_least`, else none) for a
    /// writer that copies them outside the lock: they count against the
    /// memory budget until consumed or [`ChunkQueue::unreserve`]d.
    pub fn reserve(&mut self, want: usize, at_least: usize) -> usize {
        let n = self.charge.admit(self.held + self.reserved, want, at_least);
        self.reserved += n;
        n
    }

    /// Gives back `n` reserved bytes that were not written.
    pub fn unreserve(&mut self, n: usize) {
        self.reserved -= n.min(self.reserved);
        self.charge.release(self.held + self.reserved);
    }

    /// An empty buffer with room for `n` bytes (at least [`CHUNK_ROOM`]),
    /// reused when a spare one is not more than twice that: a chunk takes
    /// at most twice the memory of the bytes it was made for.
    pub fn buffer(&mut self, n: usize) -> Vec<u8> {
        let want = n.max(CHUNK_ROOM);
        match self
            .spare
            .iter()
            .position(|b| (want..=2 * want).contains(&b.capacity()))
        {
            Some(i) => self.spare.swap_remove(i),
            None => Vec::with_capacity(want),
        }
    }

    /// Appends `bytes`, which were reserved.
    pub fn push(&mut self, bytes: Vec<u8>) {
        let n = bytes.len();
        self.reserved -= n.min(self.reserved);
        self.held += n;
        if n > 0 {
            self.chunks.push_back(Chunk { bytes, start: 0 });
        }
    }

    /// The last chunk's room for `n` more bytes, if it has it: `fill`
    /// appends them to its bytes (and adds nothing if it fails). The bytes
    /// were reserved.
    pub fn append<E>(
        &mut self,
        n: usize,
        fill: impl FnOnce(&mut Vec<u8>) -> Result<(), E>,
    ) -> Option<Result<(), E>> {
        let last = self.chunks.back_mut()?;
        let len = last.bytes.len();
        if last.bytes.capacity() - len < n {
            return None;
        }
        if let Err(e) = fill(&mut last.bytes) {
            last.bytes.truncate(len);
            return Some(Err(e));
        }
        self.reserved -= n.min(self.reserved);
        self.held += n;
        Some(Ok(()))
    }

    /// Takes the first chunk off the queue (its bytes stay held until
    /// [`ChunkQueue::consumed`]); `emptied` is a chunk the caller used up.
    pub fn take_front(&mut self, emptied: Option<Chunk>) -> Option<Chunk> {
        if let Some(c) = emptied {
            self.keep_spare(c.bytes);
        }
        self.chunks.pop_front()
    }

    /// Puts a taken chunk back at the front (its unused bytes are read next).
    pub fn put_back(&mut self, chunk: Chunk) {
        if !chunk.data().is_empty() {
            self.chunks.push_front(chunk);
        }
    }

    /// The reader used up `n` held bytes: returns their charge.
    pub fn consumed(&mut self, n: usize, emptied: Option<Chunk>) {
        if let Some(c) = emptied {
            self.keep_spare(c.bytes);
        }
        self.held -= n.min(self.held);
        self.charge.release(self.held + self.reserved);
    }

    /// A copy of up to `max` bytes at the front.
    pub fn front(&self, max: usize) -> Vec<u8> {
        let mut out = Vec::with_capacity(max.min(self.held));
        for c in &self.chunks {
            let take = c.data().len().min(max - out.len());
            out.extend_from_slice(&c.data()[..take]);
            if out.len() == max {
                break;
            }
        }
        out
    }

    fn keep_spare(&mut self, mut bytes: Vec<u8>) {
        let kept: usize = self.spare.iter().map(Vec::capacity).sum();
        if kept + bytes.capacity() <= MAX_SPARE_BYTES {
            bytes.clear();
            self.spare.push(bytes);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(q: &mut ChunkQueue, data: &[u8]) {
        assert_eq!(q.reserve(data.len(), data.len()), data.len());
        if data.len() <= APPEND_MAX {
            if let Some(r) = q.append(data.len(), |b: &mut Vec<u8>| -> Result<(), ()> {
                b.extend_from_slice(data);
                Ok(())
            }) {
                return r.unwrap();
            }
        }
        let mut b = q.buffer(data.len());
        b.extend_from_slice(data);
        q.push(b);
    }

    fn read(q: &mut ChunkQueue, max: usize) -> Vec<u8> {
        let mut out = Vec::new();
        let mut emptied = None;
        while out.len() < max {
            let Some(mut c) = q.take_front(emptied.take()) else {
                break;
            };
            let take = c.data().len().min(max - out.len());
            out.extend_from_slice(&c.data()[..take]);
            c.advance(take);
            if c.data().is_empty() {
                emptied = Some(c);
            } else {
                q.put_back(c);
            }
        }
        q.consumed(out.len(), emptied);
        out
    }

    #[test]
    fn keeps_order_across_chunks_and_partial_reads() {
        let mut q = ChunkQueue::new(1 << 20);
        write(&mut q, b"ab");
        write(&mut q, b"cd");
        write(&mut q, &[b'e'; 5000]);
        write(&mut q, b"fg");
        assert_eq!(q.len(), 5006);
        assert_eq!(q.front(5), b"abcde");
        assert_eq!(read(&mut q, 3), b"abc");
        let mid = read(&mut q, 5001);
        assert_eq!(mid[0], b'd');
        assert!(mid[1..].iter().all(|&b| b == b'e'));
        assert_eq!(read(&mut q, 100), b"fg");
        assert_eq!(q.len(), 0);
        assert!(read(&mut q, 10).is_empty());
    }

    #[test]
    fn a_failed_append_adds_nothing() {
        let mut q = ChunkQueue::new(1 << 20);
        write(&mut q, b"xy");
        q.reserve(3, 3);
        let r = q.append(3, |b: &mut Vec<u8>| {
            b.push(b'!');
            Err(())
        });
        assert_eq!(r, Some(Err(())));
        q.unreserve(3);
        assert_eq!(q.len(), 2);
        assert_eq!(read(&mut q, 10), b"xy");
    }

    #[test]
    fn writes_coalesce_and_chunks_stay_near_their_size() {
        let mut q = ChunkQueue::new(1 << 20);
        for _ in 0..14 {
            write(&mut q, &[7; 513]);
        }
        assert_eq!(q.chunks.len(), 2, "513-byte writes fill 4 KiB chunks");
        let big = vec![9u8; 100_000];
        write(&mut q, &big);
        let room: usize = q.chunks.iter().map(|c| c.bytes.capacity()).sum();
        assert!(room <= 2 * q.len(), "{room} bytes of room for {}", q.len());
        assert_eq!(read(&mut q, 14 * 513).len(), 14 * 513);
        assert_eq!(read(&mut q, 200_000), big);
    }

    #[test]
    fn emptied_chunks_are_reused_up_to_a_bound() {
        let mut q = ChunkQueue::new(1 << 20);
        for _ in 0..40 {
            write(&mut q, &[1; 4096]);
        }
        assert_eq!(read(&mut q, 40 * 4096).len(), 40 * 4096);
        let kept: usize = q.spare.iter().map(Vec::capacity).sum();
        assert!(kept > 0 && kept <= MAX_SPARE_BYTES);
    }
}
