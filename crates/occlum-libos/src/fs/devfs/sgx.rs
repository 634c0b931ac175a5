//! The SGX devices: `/dev/sgx`, with the original Occlum's ioctls (served
//! in `syscall/fs/sgx.rs`), and `/dev/attestation`, the pseudo-files of
//! Gramine: `attestation_type`, `user_report_data` and `target_info` (what
//! the next report says and is for), `my_target_info`, `report`, `quote`,
//! and `keys/_sgx_mrenclave`, `keys/_sgx_mrsigner` (sealing keys). Reports,
//! quotes and keys are made when their file is opened, from what the
//! calling process wrote last.

use std::any::Any;
use std::sync::{Arc, Weak};

use super::{fs_of, stat, DevFs};
use crate::attest::{self, KeyRequest, TargetInfo};
use crate::fs::procfs::Snapshot;
use crate::fs::vfs::{DirEntry, FileSystem, Inode, InodeRef};
use crate::fs::{File, FileRef, FileType, Stat, Timespec, O_ACCMODE};
use crate::{Errno, Result};

/// The open `/dev/sgx`: only `ioctl` does something.
pub struct SgxDevice {
    stat: Stat,
}

impl File for SgxDevice {
    fn read(&self, _: &mut [u8]) -> Result<usize> {
        Err(Errno::EPERM)
    }

    fn write(&self, _: &[u8]) -> Result<usize> {
        Err(Errno::EPERM)
    }

    fn stat(&self) -> Result<Stat> {
        Ok(self.stat)
    }

    fn describe(&self) -> String {
        "/dev/sgx".into()
    }
}

/// Opens `/dev/sgx` (whose inode has `stat`).
pub(super) fn open_sgx(stat: Stat) -> FileRef {
    Arc::new(SgxDevice { stat })
}

/// The nodes of `/dev/attestation`.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Node {
    Dir,
    Keys,
    AttestationType,
    UserReportData,
    TargetInfo,
    MyTargetInfo,
    Report,
    Quote,
    SealKey(u16),
}

const FILES: [(&[u8], Node); 6] = [
    (b"attestation_type", Node::AttestationType),
    (b"user_report_data", Node::UserReportData),
    (b"target_info", Node::TargetInfo),
    (b"my_target_info", Node::MyTargetInfo),
    (b"report", Node::Report),
    (b"quote", Node::Quote),
];
const KEYS: [(&[u8], Node); 2] = [
    (
        b"_sgx_mrenclave",
        Node::SealKey(occlum_attest::sgx::KEYPOLICY_MRENCLAVE),
    ),
    (
        b"_sgx_mrsigner",
        Node::SealKey(occlum_attest::sgx::KEYPOLICY_MRSIGNER),
    ),
];

/// An inode of `/dev/attestation`.
pub(super) struct AttestNode {
    fs: Weak<DevFs>,
    base_ino: u64,
    node: Node,
    created: Timespec,
}

impl AttestNode {
    /// The directory, with inode numbers from `base_ino` on.
    pub(super) fn dir(fs: Weak<DevFs>, base_ino: u64, created: Timespec) -> AttestNode {
        AttestNode {
            fs,
            base_ino,
            node: Node::Dir,
            created,
        }
    }

    fn child(&self, node: Node) -> AttestNode {
        AttestNode {
            fs: self.fs.clone(),
            node,
            ..*self
        }
    }

    fn ino_of(&self, node: Node) -> u64 {
        let index = match node {
            Node::Dir => 0,
            Node::Keys => 1,
            Node::SealKey(p) => 1 + u64::from(p),
            other => 10 + FILES.iter().position(|f| f.1 == other).unwrap_or(0) as u64,
        };
        self.base_ino + index
    }

    fn entries(&self) -> &'static [(&'static [u8], Node)] {
        match self.node {
            Node::Dir => &FILES,
            Node::Keys => &KEYS,
            _ => &[],
        }
    }

    fn writable(&self) -> bool {
        matches!(self.node, Node::UserReportData | Node::TargetInfo)
    }

    /// The contents a read-only file has when opened now.
    fn generate(&self) -> Result<Vec<u8>> {
        let thread = crate::process::current().ok_or(Errno::ESRCH)?;
        let inputs = thread.process().report_inputs().clone();
        let unavailable = |_| Errno::EACCES;
        Ok(match self.node {
            Node::AttestationType => b"dcap".to_vec(),
            Node::MyTargetInfo => attest::enclave()
                .map_err(unavailable)?
                .target_info()
                .to_bytes()
                .to_vec(),
            Node::Report => {
                let target = match inputs.target_info {
                    Some(t) => TargetInfo::parse(&t).ok_or(Errno::EACCES)?,
                    None => attest::enclave().map_err(unavailable)?.target_info(),
                };
                attest::report(&target, &inputs.user_report_data)
                    .map_err(unavailable)?
                    .to_bytes()
                    .to_vec()
            }
            Node::Quote => attest::quote(&inputs.user_report_data).map_err(unavailable)?,
            Node::SealKey(policy) => seal_key(policy)?.to_vec(),
            Node::UserReportData => inputs.user_report_data.to_vec(),
            Node::TargetInfo => inputs.target_info.map(|t| t.to_vec()).unwrap_or_default(),
            Node::Dir | Node::Keys => return Err(Errno::EISDIR),
        })
    }
}

/// The sealing key of this enclave under `policy`, at its own SVNs.
fn seal_key(policy: u16) -> Result<[u8; 16]> {
    let platform = attest::platform().map_err(|_| Errno::EACCES)?;
    let enclave = attest::enclave().map_err(|_| Errno::EACCES)?;
    let req = KeyRequest {
        key_name: occlum_attest::sgx::KeyName::Seal,
        key_policy: policy,
        isv_svn: enclave.isv_svn,
        cpu_svn: platform.cpu_svn(),
        attribute_mask: occlum_attest::sgx::Attributes {
            flags: 0xff00_0000_0000_000b,
            xfrm: 0,
        },
        key_id: [0; 32],
        misc_mask: 0xf000_0000,
        config_svn: 0,
    };
    platform.get_key(enclave, &req).map_err(|_| Errno::EACCES)
}

impl Inode for AttestNode {
    fn kind(&self) -> FileType {
        match self.node {
            Node::Dir | Node::Keys => FileType::Directory,
            _ => FileType::Regular,
        }
    }

    fn ino(&self) -> u64 {
        self.ino_of(self.node)
    }

    fn metadata(&self) -> Result<Stat> {
        let perm = match self.node {
            Node::Dir | Node::Keys => 0o755,
            _ if self.writable() => 0o666,
            _ => 0o444,
        };
        let mut s = stat(&self.fs, self.ino(), self.kind(), perm, self.created);
        if self.kind() == FileType::Directory {
            s.nlink = 2;
        }
        Ok(s)
    }

    fn fs(&self) -> Arc<dyn FileSystem> {
        fs_of(&self.fs)
    }

    fn lookup(&self, name: &[u8]) -> Result<InodeRef> {
        if self.node == Node::Dir && name == b"keys" {
            return Ok(Arc::new(self.child(Node::Keys)));
        }
        if self.kind() != FileType::Directory {
            return Err(Errno::ENOTDIR);
        }
        let node = self
            .entries()
            .iter()
            .find(|(n, _)| *n == name)
            .ok_or(Errno::ENOENT)?
            .1;
        Ok(Arc::new(self.child(node)))
    }

    fn create(&self, _: &[u8], _: FileType, _: u32, _: u64) -> Result<InodeRef> {
        Err(Errno::EACCES)
    }

    fn unlink(&self, name: &[u8]) -> Result<()> {
        self.lookup(name)?;
        Err(Errno::EACCES)
    }

    fn read_dir(&self) -> Result<Vec<DirEntry>> {
        let mut out: Vec<DirEntry> = self
            .entries()
            .iter()
            .map(|(name, node)| DirEntry {
                name: name.to_vec(),
                ino: self.ino_of(*node),
                kind: FileType::Regular,
            })
            .collect();
        if self.node == Node::Dir {
            out.push(DirEntry {
                name: b"keys".to_vec(),
                ino: self.ino_of(Node::Keys),
                kind: FileType::Directory,
            });
        }
        Ok(out)
    }

    fn open(&self, flags: u32) -> Result<Option<FileRef>> {
        if self.kind() == FileType::Directory {
            return Ok(None);
        }
        let stat = self.metadata()?;
        if flags & O_ACCMODE != 0 {
            if !self.writable() {
                return Err(Errno::EACCES);
            }
            let thread = crate::process::current().ok_or(Errno::ESRCH)?;
            return Ok(Some(Arc::new(ReportInput {
                node: self.node,
                process: Arc::downgrade(thread.process()),
                stat,
            })));
        }
        Ok(Some(Arc::new(Snapshot::new(self.generate()?, stat))))
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// `user_report_data` or `target_info` opened for writing: each write sets
/// the whole value (zero-padded, or cut at its size), as in Gramine.
struct ReportInput {
    node: Node,
    process: Weak<crate::process::Process>,
    stat: Stat,
}

impl File for ReportInput {
    fn write(&self, buf: &[u8]) -> Result<usize> {
        let p = self.process.upgrade().ok_or(Errno::ESRCH)?;
        let mut inputs = p.report_inputs();
        match self.node {
            Node::UserReportData => {
                let mut v = [0u8; 64];
                let n = buf.len().min(64);
                v[..n].copy_from_slice(&buf[..n]);
                inputs.user_report_data = v;
            }
            _ => {
                let mut v = [0u8; TargetInfo::SIZE];
                let n = buf.len().min(TargetInfo::SIZE);
                v[..n].copy_from_slice(&buf[..n]);
                TargetInfo::parse(&v).ok_or(Errno::EINVAL)?;
                inputs.target_info = Some(v);
            }
        }
        Ok(buf.len())
    }

    /// Reads nothing (as Gramine's).
    fn read(&self, _: &mut [u8]) -> Result<usize> {
        Ok(0)
    }

    fn stat(&self) -> Result<Stat> {
        Ok(self.stat)
    }
}
