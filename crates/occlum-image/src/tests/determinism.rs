//! Same tree, same image; any content or mode change, different root hash.

use std::fs::{self, File};
use std::os::unix::fs::PermissionsExt;
use std::process::Command;

use super::Fixture;
use crate::build_image;

#[test]
fn builds_are_byte_identical() {
    let fx = Fixture::new(true);
    let (a, ra) = fx.build("a.img");
    let (b, rb) = fx.build("b.img");
    assert_eq!(ra.root_hash, rb.root_hash);
    assert!(a == b, "images differ");

    // An independent copy of the tree (other host inode numbers and creation order of
    // timestamps) gives the same image once all mtimes agree.
    let other = Fixture::new(true);
    for root in [fx.src(), other.src()] {
        let status = Command::new("find")
            .arg(&root)
            .args(["-exec", "touch", "-h", "-d", "@1600000000", "{}", "+"])
            .status()
            .unwrap();
        assert!(status.success());
    }
    let (c, rc) = fx.build("c.img");
    let (d, rd) = other.build("d.img");
    assert_eq!(rc.root_hash, rd.root_hash);
    assert!(c == d, "images of identical trees differ");
    assert_ne!(rc.root_hash, ra.root_hash, "mtimes are part of the image");
}

#[test]
fn one_byte_or_one_mode_changes_the_root_hash() {
    let fx = Fixture::new(false);
    let (_, base) = fx.build("base.img");
    let path = fx.src().join("f4097");
    let mtime = fs::metadata(&path).unwrap().modified().unwrap();
    let mut data = fs::read(&path).unwrap();
    data[4096] ^= 1;
    fs::write(&path, &data).unwrap();
    File::options()
        .write(true)
        .open(&path)
        .unwrap()
        .set_modified(mtime)
        .unwrap();
    let changed = build_image(&fx.src(), &fx.dir.path().join("c.img")).unwrap();
    assert_ne!(changed.root_hash, base.root_hash);

    data[4096] ^= 1;
    fs::write(&path, &data).unwrap();
    File::options()
        .write(true)
        .open(&path)
        .unwrap()
        .set_modified(mtime)
        .unwrap();
    let restored = build_image(&fx.src(), &fx.dir.path().join("r.img")).unwrap();
    assert_eq!(restored.root_hash, base.root_hash);

    fs::set_permissions(fx.src().join("one"), fs::Permissions::from_mode(0o640)).unwrap();
    let moded = build_image(&fx.src(), &fx.dir.path().join("m.img")).unwrap();
    assert_ne!(moded.root_hash, base.root_hash);
}
