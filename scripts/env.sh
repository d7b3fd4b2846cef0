# Sourced by the scripts in this folder: one toolchain and one build cache for every command.
# Debian's rustc-web (which carries the wasm32 standard library the set-up builds) comes first on
# PATH, then the tools `cargo install` put in ~/.cargo/bin (cargo-leptos, wasm-bindgen, wasm-opt).
if [ -x /usr/bin/cargo ] && /usr/bin/rustc --version >/dev/null 2>&1; then
  export PATH="/usr/bin:$HOME/.cargo/bin:$PATH"
else
  export PATH="$HOME/.cargo/bin:$PATH"
fi
export REFLOOP_CACHE="${REFLOOP_CACHE:-$HOME/.cache/refloop}"
# Builds live outside the clone, keyed by the compiler, so a fresh clone (CI) builds warm.
_rustc_tag=$(rustc --version 2>/dev/null | awk '{print $2}')
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$REFLOOP_CACHE/target-${_rustc_tag:-unknown}}"
export CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_LINKER="${CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_LINKER:-$(ls /usr/lib/llvm-*/bin/wasm-ld 2>/dev/null | sort -V | tail -n1)}"
[ -n "$CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_LINKER" ] || unset CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_LINKER
export CHROMIUM_PATH="${CHROMIUM_PATH:-/usr/bin/chromium}"
unset _rustc_tag
# cargo-leptos sets this when it builds; setting it for every build keeps plain `cargo test` and
# `cargo clippy` from recompiling leptos with a different value (and file name for the bundle).
export LEPTOS_OUTPUT_NAME=refloop
