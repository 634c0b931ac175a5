//! Networking: TCP and UDP over IPv4 and IPv6 through the host, `AF_UNIX`
//! sockets inside the LibOS. Each C program of `tests/apps/net_*.c` runs
//! natively and inside the LibOS, built against glibc and musl (static-PIE);
//! standard output and exit status must match. A last test connects from
//! the host to a server inside the LibOS.

#[macro_use]
mod common;

use common::*;

differential_tests! {
    net_tcp: "net_tcp", [], |o| all_ok(o);
    net_nonblock: "net_nonblock", [], |o| all_ok(o);
    net_udp: "net_udp", [], |o| all_ok(o);
    interfaces: "ifconf", [], |o| all_ok(o);
    net_unix: "net_unix", ["@TMP@"], |o| all_ok(o);
    net_xproc: "net_xproc", ["@TMP@", "@BIN@"], |o| all_ok(o);
}

/// The same programs with Syscall User Dispatch in exclusive mode (see
/// `docs/architecture.md`).
#[test]
fn exclusive_sud_mode() {
    let exclusive = [("OCCLUM_SUD_MODE", "exclusive")];
    for libc in ["glibc", "musl"] {
        for (name, args) in [
            ("net_tcp", &[][..]),
            ("net_nonblock", &[]),
            ("net_udp", &[]),
            ("net_unix", &["@TMP@"]),
            ("net_xproc", &["@TMP@", "@BIN@"]),
        ] {
            all_ok(&differential(libc, name, args, b"", &exclusive));
        }
    }
}

/// A program inside the LibOS listens on 127.0.0.1; the test, on the host,
/// connects with `std::net::TcpStream`, sends a line and reads the echo.
#[test]
fn host_connects_to_a_libos_server() {
    use std::io::{BufRead, BufReader, Read, Write};
    use std::process::{Command, Stdio};
    use std::time::Duration;

    for libc in ["glibc", "musl"] {
        let mut child = Command::new(occlum())
            .current_dir(instance())
            .args(["run", &format!("/bin/{libc}/net_echo_server")])
            .env_clear()
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn occlum run");
        let mut out = BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        out.read_line(&mut line).unwrap();
        let port: u16 = line
            .strip_prefix("port ")
            .and_then(|p| p.trim().parse().ok())
            .unwrap_or_else(|| panic!("{libc}: unexpected first line {line:?}"));
        let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
        s.write_all(b"hello from the host\n").unwrap();
        let mut echo = [0u8; 20];
        s.read_exact(&mut echo).unwrap();
        assert_eq!(&echo, b"hello from the host\n", "{libc}");
        s.shutdown(std::net::Shutdown::Write).unwrap();
        let mut rest = Vec::new();
        s.read_to_end(&mut rest).unwrap();
        assert!(rest.is_empty(), "{libc}");
        let status = child.wait().unwrap();
        let mut stderr = String::new();
        child
            .stderr
            .take()
            .unwrap()
            .read_to_string(&mut stderr)
            .unwrap();
        assert!(status.success(), "{libc}: {status:?}: {stderr}");
    }
}

/// `occlum new` puts `/etc/hosts` in the image, and musl's resolver reads
/// it, so `getaddrinfo("localhost")` works inside the LibOS. (Static glibc
/// cannot load the NSS modules it needs for this, there or natively.)
#[test]
fn musl_resolves_localhost_from_etc_hosts() {
    let (o, stderr) = run_libos("musl", "net_resolve", &[], b"", &[]);
    assert_eq!(
        (o.stdout.as_str(), o.status),
        ("localhost is 127.0.0.1 port 80\n", 0),
        "{stderr}"
    );
}

/// `occlum new` writes the usual files of `/etc`, and `occlum init --force`
/// keeps those that exist.
#[test]
fn new_writes_etc_files_and_keeps_existing_ones() {
    let tmp = tempdir();
    assert_ok(&occlum_in(tmp.path(), &["new", "demo"], &[]), "occlum new");
    let etc = tmp.path().join("demo/image/etc");
    let hosts = std::fs::read_to_string(etc.join("hosts")).unwrap();
    assert!(hosts.contains("127.0.0.1\tlocalhost"), "{hosts}");
    assert!(hosts.contains("::1\tlocalhost"), "{hosts}");
    let nss = std::fs::read_to_string(etc.join("nsswitch.conf")).unwrap();
    assert!(nss.contains("hosts: files dns"), "{nss}");
    let passwd = std::fs::read_to_string(etc.join("passwd")).unwrap();
    assert!(
        passwd.starts_with("root:x:0:0:root:/root:/bin/sh\n"),
        "{passwd}"
    );
    assert!(passwd.contains("\nnobody:"), "{passwd}");
    let group = std::fs::read_to_string(etc.join("group")).unwrap();
    assert!(
        group.contains("root:x:0:") && group.contains("nogroup:"),
        "{group}"
    );
    let resolv = std::fs::read_to_string(etc.join("resolv.conf")).unwrap();
    assert!(
        !resolv.lines().any(|l| l.starts_with("nameserver")),
        "{resolv}"
    );

    std::fs::write(etc.join("hosts"), "10.0.0.1 mine\n").unwrap();
    let out = occlum_in(&tmp.path().join("demo"), &["init", "--force"], &[]);
    assert_ok(&out, "occlum init --force");
    assert_eq!(
        std::fs::read_to_string(etc.join("hosts")).unwrap(),
        "10.0.0.1 mine\n"
    );
}
