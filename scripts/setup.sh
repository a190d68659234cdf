#!/usr/bin/env bash
# Installs what Tradewatch needs to build and test, skipping what is already there.
# Sources: rustup (wasm target), crates.io (cargo-leptos, wasm-bindgen-cli), npm (playwright-core,
# binaryen), Debian (chromium). Nothing else is downloaded.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '\033[1;34m[setup]\033[0m %s\n' "$*"; }

# Rust toolchain and the WASM target (rust-toolchain.toml pins 1.95.0).
if ! rustup target list --installed 2>/dev/null | grep -q '^wasm32-unknown-unknown$'; then
  say "adding the wasm32-unknown-unknown target"
  rustup target add wasm32-unknown-unknown
fi

# cargo-leptos 0.3.10 (0.3.11 needs rustc >= 1.96). A cold install takes ~18-27 min on 2 cores.
if ! cargo leptos --version 2>/dev/null | grep -q '0\.3\.10'; then
  say "installing cargo-leptos 0.3.10 (slow the first time)"
  CARGO_PROFILE_RELEASE_LTO=false CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16 CARGO_PROFILE_RELEASE_OPT_LEVEL=1 \
    cargo install cargo-leptos --version 0.3.10 --locked
fi

# wasm-bindgen-cli must equal the wasm-bindgen in Cargo.lock: cargo-leptos uses whatever is on
# PATH and would try GitHub (unreachable here) when there is none.
WB=$(awk '/^name = "wasm-bindgen"$/{getline; gsub(/version = |"/,""); print; exit}' Cargo.lock)
if ! wasm-bindgen --version 2>/dev/null | grep -q " $WB\$"; then
  say "installing wasm-bindgen-cli $WB"
  cargo install wasm-bindgen-cli --version "$WB"
fi

# npm: playwright-core (drives Debian chromium) and binaryen 132 (wasm-opt for release builds;
# never Debian's binaryen 108, whose output fails to hydrate).
if [ ! -x end2end/node_modules/.bin/wasm-opt ] || [ ! -d end2end/node_modules/playwright-core ]; then
  say "installing npm packages in end2end/"
  (cd end2end && npm ci --no-audit --no-fund)
fi

# Debian chromium for the end-to-end tests.
if [ ! -x /usr/bin/chromium ]; then
  say "installing Debian chromium"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium
fi
say "tools ready"
