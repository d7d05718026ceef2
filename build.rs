//! One link setting for the `jean2` binary: its relative relocations packed (`-z
//! pack-relative-relocs`, `DT_RELR`) when the C library of this machine reads them.
//!
//! A position-independent binary carries a 24-byte record for every pointer the loader fixes up
//! at start (43,000 here: vtables, static tables, panic locations), and the loader reads them
//! all, so they stayed resident: 1 MB of an idle server's RSS (docs/benchmarks.md, "Idle
//! memory"). Packed, they take a few kilobytes. glibc reads packed relocations from 2.36 on, and
//! a binary linked with them names that requirement (`GLIBC_ABI_DT_RELR`), so an older glibc
//! refuses it at start with a clear message instead of running it wrong. The flag is therefore
//! used only for a native build on a glibc that has it: the README's build, on any machine,
//! gives a binary that starts there.

use std::process::Command;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let target = std::env::var("TARGET").unwrap_or_default();
    let host = std::env::var("HOST").unwrap_or_default();
    if target != host || !target.ends_with("-linux-gnu") {
        return;
    }
    if glibc_version().is_some_and(|v| v >= (2, 36)) {
        println!("cargo:rustc-link-arg-bins=-Wl,-z,pack-relative-relocs");
    }
}

/// This machine's glibc version, from `getconf GNU_LIBC_VERSION` ("glibc 2.36").
fn glibc_version() -> Option<(u32, u32)> {
    let out = Command::new("getconf")
        .arg("GNU_LIBC_VERSION")
        .output()
        .ok()?;
    let text = String::from_utf8(out.stdout).ok()?;
    let mut parts = text.trim().strip_prefix("glibc ")?.split('.');
    Some((parts.next()?.parse().ok()?, parts.next()?.parse().ok()?))
}
