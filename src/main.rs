//! The `refloop` binary: everything happens in `server::main`.

#[cfg(feature = "ssr")]
#[tokio::main]
async fn main() -> std::process::ExitCode {
    refloop::server::main().await
}

#[cfg(not(feature = "ssr"))]
fn main() {
    // The browser half starts in `lib.rs::hydrate`.
}
