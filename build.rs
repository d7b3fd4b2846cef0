//! Tells the server which built front end to carry: the site cargo-leptos writes to
//! `$CARGO_TARGET_DIR/site` (or `target/site`), named in `REFLOOP_SITE_DIR` for
//! `src/server/front_end.rs`, which embeds it in release builds and reads it from disk in
//! debug ones. A release server build therefore runs after the front end's (`scripts/dist`),
//! and builds again when the site changes.

use std::path::PathBuf;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    // Only the server carries the site; the WASM bundle is what the site is built from.
    if std::env::var_os("CARGO_FEATURE_SSR").is_none() {
        return;
    }
    println!("cargo:rerun-if-env-changed=CARGO_TARGET_DIR");
    let site = match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => PathBuf::from(dir).join("site"),
        None => PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("set by cargo"))
            .join("target/site"),
    };
    println!("cargo:rustc-env=REFLOOP_SITE_DIR={}", site.display());
    if std::env::var("PROFILE").as_deref() == Ok("release") {
        // A folder: any file in it changed. Missing: built again until it exists.
        println!("cargo:rerun-if-changed={}", site.display());
    }
}
