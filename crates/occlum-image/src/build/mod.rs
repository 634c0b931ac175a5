//! Building an image file from a host directory tree (`occlum build`).

mod meta;
mod output;
mod scan;
mod writer;

use std::fmt;
use std::fs::{self, File};
use std::io::{self, Read};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use crate::format::BLOCK;
use crate::header::Header;
use output::TempOutput;
use scan::Content;
use writer::ImageWriter;

/// Bytes read from a source file per read call while streaming (a multiple of the block size).
const CHUNK: usize = 1 << 20;

/// Summary of a successful [`build_image`] run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BuildReport {
    /// Root hash to record in the signed enclave metadata.
    pub root_hash: [u8; 32],
    /// Number of regular-file inodes (hard links counted once).
    pub files: u64,
    /// Number of directories, including the root.
    pub dirs: u64,
    /// Number of symlinks.
    pub symlinks: u64,
    /// Size of the image file in bytes.
    pub bytes: u64,
    /// Host paths that were not packed (special files), with the reason.
    pub skipped: Vec<(PathBuf, &'static str)>,
}

/// A failed build: which host path, during which step, and the underlying I/O error.
#[derive(Debug)]
pub struct BuildError {
    /// The host path involved.
    pub path: PathBuf,
    /// What was being done, e.g. `"reading directory"`.
    pub op: &'static str,
    /// The underlying error.
    pub source: io::Error,
}

impl BuildError {
    pub(crate) fn new(path: &Path, op: &'static str, source: io::Error) -> Self {
        BuildError {
            path: path.to_path_buf(),
            op,
            source,
        }
    }
}

impl fmt::Display for BuildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "image build failed {} {}: {}",
            self.op,
            self.path.display(),
            self.source
        )
    }
}

impl std::error::Error for BuildError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.source)
    }
}

/// Packs `source_dir` into an image at `output` (written to a temporary file, then renamed).
///
/// The result is deterministic: it depends only on names, contents, permission bits,
/// mtimes and the hard-link structure of the tree. Owners are recorded as uid/gid 0.
/// Special files are skipped and listed in [`BuildReport::skipped`].
pub fn build_image(source_dir: &Path, output: &Path) -> Result<BuildReport, BuildError> {
    let tmp = TempOutput::create(output)?;
    let mut exclude: Vec<(u64, u64)> = tmp.identity().into_iter().collect();
    if let Ok(md) = fs::metadata(output) {
        exclude.push((md.dev(), md.ino()));
    }
    let scan = scan::scan(source_dir, &exclude)?;
    let meta = meta::layout(&scan).map_err(|e| BuildError::new(source_dir, "laying out", e))?;
    let header = Header::new(
        meta.data_blocks,
        meta.bytes.len() as u64,
        scan.nodes.len() as u64,
    )
    .ok_or_else(|| {
        let e = io::Error::new(
            io::ErrorKind::InvalidData,
            "tree exceeds the image format limits",
        );
        BuildError::new(source_dir, "laying out", e)
    })?;
    let bytes = header.geom.total_blocks * BLOCK;
    let out_err = |e| BuildError::new(tmp.path(), "writing", e);
    let mut w = ImageWriter::new(tmp.file(), header);
    let mut buf = vec![0u8; CHUNK];
    let mut report = BuildReport {
        root_hash: [0; 32],
        files: 0,
        dirs: 0,
        symlinks: 0,
        bytes,
        skipped: Vec::new(),
    };
    for node in &scan.nodes {
        match &node.content {
            Content::File(path) => {
                report.files += 1;
                stream_file(path, node.size, &mut buf, &mut w)?;
            }
            Content::Dir(_) => report.dirs += 1,
            Content::Symlink(_) => report.symlinks += 1,
        }
    }
    w.push_padded(&meta.bytes).map_err(out_err)?;
    report.root_hash = w.finish().map_err(out_err)?;
    tmp.persist(output)?;
    report.skipped = scan.skipped;
    Ok(report)
}

/// Streams exactly `size` bytes of the file at `path` into the writer.
fn stream_file(
    path: &Path,
    size: u64,
    buf: &mut [u8],
    w: &mut ImageWriter<'_>,
) -> Result<(), BuildError> {
    let read_err = |e| BuildError::new(path, "reading", e);
    let changed = |what: &str| {
        let e = io::Error::new(
            io::ErrorKind::InvalidData,
            format!("file {what} while the image was being built"),
        );
        BuildError::new(path, "reading", e)
    };
    let mut file = File::open(path).map_err(read_err)?;
    let mut remaining = size;
    while remaining > 0 {
        let want = remaining.min(buf.len() as u64) as usize;
        let got = read_fill(&mut file, &mut buf[..want]).map_err(read_err)?;
        if got < want {
            return Err(changed("shrank"));
        }
        w.push_padded(&buf[..got])
            .map_err(|e| BuildError::new(path, "writing image data for", e))?;
        remaining -= got as u64;
    }
    if read_fill(&mut file, &mut buf[..1]).map_err(read_err)? != 0 {
        return Err(changed("grew"));
    }
    Ok(())
}

/// Reads until `buf` is full or EOF; returns the number of bytes read.
fn read_fill(file: &mut File, buf: &mut [u8]) -> io::Result<usize> {
    let mut got = 0;
    while got < buf.len() {
        match file.read(&mut buf[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(got)
}
