//! `occlum-gcc` and `occlum-g++` (a link to `occlum-gcc` by that name): the
//! host's gcc or g++, set up to make programs
//! that run in the LibOS: static-PIE executables, linked with musl (C, by
//! default) or glibc (`--glibc`; always for C++, as Debian has no musl
//! C++ library).
//!
//! Debian's `musl-gcc -static-pie` makes a dynamic executable, so musl
//! programs are compiled against musl's headers with plain gcc and linked by
//! hand: musl's self-relocating `rcrt1.o`, `-static -pie`, musl's `libc.a`.

use std::ffi::OsString;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Where Debian's musl-dev puts musl (multiarch layout).
const MUSL_LIB: &str = "/usr/lib/x86_64-linux-musl";
const MUSL_INC: &str = "/usr/include/x86_64-linux-musl";

/// The language a wrapper compiles.
#[derive(Clone, Copy, PartialEq)]
pub enum Lang {
    /// `occlum-gcc`.
    C,
    /// `occlum-g++`.
    Cxx,
}

const USAGE: &str = "\
usage: occlum-gcc [--glibc] GCC-ARGS...   (occlum-g++ GCC-ARGS...)
Compiles with the host's gcc into a static-PIE executable that runs inside
the Occlum LibOS: linked with musl by default, with glibc given --glibc.
occlum-g++ (ln -s occlum-gcc occlum-g++) links with glibc: there is no
musl C++ library on Debian.
Example: occlum-gcc hello.c -o hello && cp hello image/bin/ && occlum build";

/// Runs the wrapper: replaces this process with gcc, or returns the exit
/// status of an error.
pub fn main(lang: Lang) -> i32 {
    let name = if lang == Lang::C {
        "occlum-gcc"
    } else {
        "occlum-g++"
    };
    let mut args: Vec<OsString> = std::env::args_os().skip(1).collect();
    if args.iter().any(|a| a == "--help" || a == "-h") {
        println!("{USAGE}");
        return 0;
    }
    let glibc_flag = args.iter().position(|a| a == "--glibc");
    if let Some(i) = glibc_flag {
        args.remove(i);
    }
    let musl = lang == Lang::C && glibc_flag.is_none();
    if args.iter().any(|a| a == "--musl") && lang == Lang::Cxx {
        eprintln!(
            "{name}: --musl: there is no musl C++ library here; C++ programs link with glibc"
        );
        return 2;
    }
    let driver = if lang == Lang::C { "gcc" } else { "g++" };
    let cmd = if musl {
        match musl_command(driver, &args) {
            Ok(c) => c,
            Err(e) => {
                eprintln!("{name}: {e}");
                return 2;
            }
        }
    } else {
        glibc_command(driver, &args)
    };
    let err = { cmd }.exec();
    eprintln!("{name}: cannot run {driver}: {err} (install it: apt-get install gcc g++)");
    127
}

/// Whether gcc is asked only to compile, assemble or preprocess (no link).
fn compiles_only(args: &[OsString]) -> bool {
    args.iter().any(|a| {
        matches!(
            a.to_str(),
            Some(
                "-c" | "-S"
                    | "-E"
                    | "-M"
                    | "-MM"
                    | "-v"
                    | "--version"
                    | "-dumpversion"
                    | "-dumpmachine"
            )
        ) || a.to_str().is_some_and(|s| s.starts_with("-print-"))
    })
}

/// `gcc -static-pie ARGS`, with glibc.
fn glibc_command(driver: &str, args: &[OsString]) -> Command {
    let mut cmd = Command::new(driver);
    if !compiles_only(args) {
        cmd.arg("-static-pie");
    } else {
        cmd.arg("-fPIE");
    }
    cmd.args(args);
    cmd
}

/// A file gcc reports by `-print-file-name` (or `-print-libgcc-file-name`).
fn gcc_file(driver: &str, query: &str) -> Result<PathBuf, String> {
    let out = Command::new(driver)
        .arg(query)
        .output()
        .map_err(|e| format!("cannot run {driver}: {e} (install gcc: apt-get install gcc)"))?;
    let path = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
    if !path.is_absolute() || !path.exists() {
        return Err(format!("{driver} {query} names no file"));
    }
    Ok(path)
}

/// The musl compile or link line.
fn musl_command(driver: &str, args: &[OsString]) -> Result<Command, String> {
    let lib = Path::new(MUSL_LIB);
    if !lib.join("rcrt1.o").exists() || !Path::new(MUSL_INC).join("stdio.h").exists() {
        return Err(format!(
            "musl is not installed ({MUSL_LIB}/rcrt1.o missing): apt-get install musl-dev, \
             or build with --glibc"
        ));
    }
    let gcc_inc = gcc_file(driver, "-print-file-name=include")?;
    let mut cmd = Command::new(driver);
    cmd.args(["-nostdinc", "-isystem", MUSL_INC, "-isystem"])
        .arg(&gcc_inc)
        .arg("-fPIE");
    if compiles_only(args) {
        cmd.args(args);
        return Ok(cmd);
    }
    let crtbegin = gcc_file(driver, "-print-file-name=crtbeginS.o")?;
    let crtend = gcc_file(driver, "-print-file-name=crtendS.o")?;
    let libgcc = gcc_file(driver, "-print-libgcc-file-name")?;
    cmd.args(["-static-pie", "-nostdlib", "-nostartfiles", "-L", MUSL_LIB])
        .arg(lib.join("rcrt1.o"))
        .arg(lib.join("crti.o"))
        .arg(crtbegin)
        .args(args)
        .arg(lib.join("libc.a"))
        .arg(&libgcc)
        .arg(lib.join("libc.a"))
        .arg(crtend)
        .arg(lib.join("crtn.o"));
    Ok(cmd)
}
