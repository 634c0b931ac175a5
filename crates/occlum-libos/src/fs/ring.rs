//! A byte ring buffer whose data and free space are reachable as slices, so
//! that a pipe copies straight between it and user memory.

/// Bytes in first-in first-out order, in storage that grows on demand.
#[derive(Default)]
pub struct ByteRing {
    store: Vec<u8>,
    head: usize,
    len: usize,
}

impl ByteRing {
    /// An empty ring without storage.
    pub const fn new() -> ByteRing {
        ByteRing {
            store: Vec::new(),
            head: 0,
            len: 0,
        }
    }

    /// Bytes held.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether no byte is held.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Makes room for `total` bytes in all (held ones included).
    pub fn reserve_total(&mut self, total: usize) {
        if total <= self.store.len() {
            return;
        }
        let mut store = vec![0u8; total];
        let (a, b) = self.as_slices();
        store[..a.len()].copy_from_slice(a);
        store[a.len()..a.len() + b.len()].copy_from_slice(b);
        self.store = store;
        self.head = 0;
    }

    /// The held bytes, oldest first, as two slices.
    pub fn as_slices(&self) -> (&[u8], &[u8]) {
        let cap = self.store.len();
        if self.head + self.len <= cap {
            (&self.store[self.head..self.head + self.len], &[])
        } else {
            let wrap = self.head + self.len - cap;
            (&self.store[self.head..], &self.store[..wrap])
        }
    }

    /// The oldest `n` held bytes as two slices.
    pub fn front(&self, n: usize) -> (&[u8], &[u8]) {
        let (a, b) = self.as_slices();
        let n = n.min(a.len() + b.len());
        let from_a = n.min(a.len());
        (&a[..from_a], &b[..n - from_a])
    }

    /// Drops the oldest `n` held bytes (at most all).
    pub fn consume(&mut self, n: usize) {
        let n = n.min(self.len);
        self.len -= n;
        self.head = if self.len == 0 {
            0
        } else {
            (self.head + n) % self.store.len()
        };
    }

    /// Free space for the next `n` bytes as two slices (fewer if storage
    /// lacks room); [`ByteRing::commit`] then makes them held.
    pub fn spare(&mut self, n: usize) -> (&mut [u8], &mut [u8]) {
        let cap = self.store.len();
        let n = n.min(cap - self.len);
        if n == 0 {
            return (&mut [], &mut []);
        }
        let tail = (self.head + self.len) % cap;
        if tail + n <= cap {
            (&mut self.store[tail..tail + n], &mut [])
        } else {
            let (low, high) = self.store.split_at_mut(tail);
            (high, &mut low[..tail + n - cap])
        }
    }

    /// Makes `n` bytes of [`ByteRing::spare`] space held.
    pub fn commit(&mut self, n: usize) {
        self.len = (self.len + n).min(self.store.len());
    }

    /// Appends what of `data` fits; returns the count appended.
    #[cfg(test)]
    pub fn push(&mut self, data: &[u8]) -> usize {
        let (a, b) = self.spare(data.len());
        let n = a.len() + b.len();
        let la = a.len();
        a.copy_from_slice(&data[..la]);
        b.copy_from_slice(&data[la..n]);
        self.commit(n);
        n
    }
}

#[cfg(test)]
mod tests {
    use super::ByteRing;

    fn held(r: &ByteRing) -> Vec<u8> {
        let (a, b) = r.as_slices();
        [a, b].concat()
    }

    #[test]
    fn wraps_around_and_keeps_order() {
        let mut r = ByteRing::new();
        r.reserve_total(8);
        assert_eq!(r.push(b"abcdef"), 6);
        r.consume(4);
        assert_eq!(r.push(b"ghijklmn"), 6);
        assert_eq!(held(&r), b"efghijkl");
        assert_eq!(r.front(3), (&b"efg"[..], &b""[..]));
        let (a, b) = r.front(7);
        assert_eq!([a, b].concat(), b"efghijk");
        assert_eq!(r.push(b"x"), 0);
    }

    #[test]
    fn growing_keeps_held_bytes() {
        let mut r = ByteRing::new();
        assert_eq!(r.push(b"a"), 0);
        r.reserve_total(4);
        r.push(b"abcd");
        r.consume(3);
        r.push(b"efg");
        r.reserve_total(16);
        assert_eq!(held(&r), b"defg");
        r.push(b"hij");
        assert_eq!(held(&r), b"defghij");
        r.consume(7);
        assert!(r.is_empty());
    }
}
