//! Finds libretort for the linker, without any helper crate:
//!
//!  1. `RETORT_LIB_DIR`: the directory holding libretort.so (a build tree's
//!     `lib/` or an installation's libdir);
//!  2. otherwise the `pkg-config` program (`PKG_CONFIG` names another one)
//!     asked for `retort`, which honours `PKG_CONFIG_PATH`;
//!  3. otherwise plain `-lretort`, for a library in the linker's default
//!     directories, with a warning saying what was tried.
//!
//! The declarations in src/sys.rs are written by hand from retort.h, so no
//! header is needed at build time.

use std::env;
use std::process::Command;

fn main() {
    for var in ["RETORT_LIB_DIR", "PKG_CONFIG", "PKG_CONFIG_PATH", "PKG_CONFIG_LIBDIR",
                "PKG_CONFIG_SYSROOT_DIR"] {
        println!("cargo:rerun-if-env-changed={}", var);
    }
    println!("cargo:rerun-if-changed=build.rs");

    if let Some(dir) = env::var_os("RETORT_LIB_DIR").filter(|d| !d.is_empty()) {
        let dir = dir.to_string_lossy().into_owned();
        println!("cargo:rustc-link-search=native={}", dir);
        println!("cargo:rustc-link-lib=dylib=retort");
        println!("cargo:lib_dir={}", dir);
        return;
    }

    let program = env::var("PKG_CONFIG").unwrap_or_else(|_| "pkg-config".to_string());
    match Command::new(&program).args(["--libs", "retort"]).output() {
        Ok(out) if out.status.success() => {
            let flags = String::from_utf8_lossy(&out.stdout).into_owned();
            let mut linked = false;
            for flag in flags.split_whitespace() {
                if let Some(dir) = flag.strip_prefix("-L") {
                    println!("cargo:rustc-link-search=native={}", dir);
                    println!("cargo:lib_dir={}", dir);
                } else if let Some(lib) = flag.strip_prefix("-l") {
                    println!("cargo:rustc-link-lib=dylib={}", lib);
                    linked |= lib == "retort";
                }
            }
            if !linked {
                println!("cargo:rustc-link-lib=dylib=retort");
            }
        }
        Ok(out) => {
            println!(
                "cargo:warning=`{} --libs retort` failed ({}: {}); linking -lretort from the default \
                 directories (set PKG_CONFIG_PATH to the directory of retort.pc, or RETORT_LIB_DIR \
                 to the directory of libretort.so)",
                program,
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            );
            println!("cargo:rustc-link-lib=dylib=retort");
        }
        Err(e) => {
            println!(
                "cargo:warning=could not run `{}` ({}); linking -lretort from the default \
                 directories (install pkg-config, or set RETORT_LIB_DIR to the directory of \
                 libretort.so)",
                program, e
            );
            println!("cargo:rustc-link-lib=dylib=retort");
        }
    }
}
