#!/usr/bin/env bash
# Builds the console without cargo-leptos: what `cargo leptos build [--release]` does, with only
# cargo, wasm-bindgen-cli (the version in Cargo.lock) and, for --release, the npm wasm-opt.
#   1. the browser bundle: `frontend` for wasm32 -> wasm-bindgen --target web -> target/site/pkg/
#      tradewatch.js + tradewatch_bg.wasm (the names Leptos' hydration script asks for);
#   2. style/main.css -> target/site/pkg/tradewatch.css, public/ -> target/site/;
#   3. the server binary target/{debug,release}/tradewatch.
# Usage: scripts/build-site.sh [--release]
set -euo pipefail
cd "$(dirname "$0")/.."
profile=debug; wasm_profile=debug; cargo_wasm=(); cargo_bin=()
if [ "${1:-}" = "--release" ]; then
  profile=release; wasm_profile=wasm-release
  cargo_wasm=(--profile wasm-release); cargo_bin=(--release)
fi
site=target/site
t0=$SECONDS
cargo build -p frontend --lib --target wasm32-unknown-unknown "${cargo_wasm[@]}"
rm -rf "$site/pkg.new"; mkdir -p "$site/pkg.new"
wasm-bindgen --target web --no-typescript --out-dir "$site/pkg.new" --out-name tradewatch \
  "target/wasm32-unknown-unknown/$wasm_profile/frontend.wasm"
if [ "$profile" = release ]; then
  wasm-opt -Oz --enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext --enable-mutable-globals \
    "$site/pkg.new/tradewatch_bg.wasm" -o "$site/pkg.new/tradewatch_bg.wasm"
fi
cp style/main.css "$site/pkg.new/tradewatch.css"
rm -rf "$site/pkg"; mv "$site/pkg.new" "$site/pkg"
cp -r public/. "$site/"
echo "[build-site] browser bundle ($profile) in $((SECONDS - t0)) s: $(stat -c %s "$site/pkg/tradewatch_bg.wasm") bytes wasm"
t1=$SECONDS
cargo build -p server --bin tradewatch "${cargo_bin[@]}"
echo "[build-site] server ($profile) in $((SECONDS - t1)) s: target/$profile/tradewatch"
