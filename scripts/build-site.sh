#!/usr/bin/env bash
# Builds the console without cargo-leptos: what `cargo leptos build [--release]` does, with only
# cargo, wasm-bindgen-cli (the version in Cargo.lock) and, for --release, the npm wasm-opt.
#   1. the browser bundle: `frontend` for wasm32 -> wasm-bindgen --target web -> target/site/pkg/;
#   2. style/main.css -> target/site/pkg/, public/ -> target/site/;
#   3. content-hashed names (tradewatch.<hash>.js / .wasm / .css) and a gzip copy of each, with
#      the hashes in target/{debug,release}/hash.txt beside the binary, where Leptos' hydration
#      scripts and the server read them (`hash-files` as cargo-leptos does it): /pkg is then
#      served precompressed with a one-year immutable cache;
#   4. the server binary target/{debug,release}/tradewatch.
# Usage: scripts/build-site.sh [--release]
set -euo pipefail
cd "$(dirname "$0")/.."
# Binaries `cargo install` put in CARGO_HOME (wasm-bindgen-cli) are found even when it is not ~/.cargo.
export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"
# wasm-opt comes from npm (end2end/node_modules, installed by scripts/setup.sh).
export PATH="$PWD/end2end/node_modules/.bin:$PATH"
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
  # wasm-opt takes ~70 s here: reuse its last output when its input has not changed (a warm
  # `scripts/demo.sh` then starts in seconds).
  in_hash=$(sha256sum "$site/pkg.new/tradewatch_bg.wasm" | cut -c1-64)
  cached="target/$profile/wasm-opt.$in_hash.wasm"
  if [ -f "$cached" ]; then
    cp "$cached" "$site/pkg.new/tradewatch_bg.wasm"
  else
    wasm-opt -Oz --enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext --enable-mutable-globals \
      "$site/pkg.new/tradewatch_bg.wasm" -o "$site/pkg.new/tradewatch_bg.wasm"
    mkdir -p "target/$profile"; rm -f target/$profile/wasm-opt.*.wasm
    cp "$site/pkg.new/tradewatch_bg.wasm" "$cached"
  fi
fi
cp style/main.css "$site/pkg.new/tradewatch.css"
# Content-hashed names, so a browser may keep each file for a year and never sees a stale one.
hash() { sha256sum "$1" | cut -c1-16; }
hj=$(hash "$site/pkg.new/tradewatch.js"); hw=$(hash "$site/pkg.new/tradewatch_bg.wasm"); hc=$(hash "$site/pkg.new/tradewatch.css")
mv "$site/pkg.new/tradewatch.js" "$site/pkg.new/tradewatch.$hj.js"
mv "$site/pkg.new/tradewatch_bg.wasm" "$site/pkg.new/tradewatch.$hw.wasm"
mv "$site/pkg.new/tradewatch.css" "$site/pkg.new/tradewatch.$hc.css"
gzip -9 -k "$site/pkg.new/tradewatch.$hj.js" "$site/pkg.new/tradewatch.$hw.wasm" "$site/pkg.new/tradewatch.$hc.css"
mkdir -p "$site/pkg" "target/$profile"
mv -f "$site/pkg.new"/* "$site/pkg/"; rmdir "$site/pkg.new"
printf 'js: %s\nwasm: %s\ncss: %s\n' "$hj" "$hw" "$hc" > "target/$profile/hash.txt"
# The debug and release bundles live side by side (their names differ); files neither build
# names any more go.
# (`|| true`: on a fresh clone only one of the two exists, and pipefail would stop the script.)
keep=$(cat target/debug/hash.txt target/release/hash.txt 2>/dev/null | awk '{print $2}' || true)
for f in "$site/pkg"/tradewatch.*; do
  h=$(basename "$f" | cut -d. -f2)
  grep -qx "$h" <<<"$keep" || rm -rf "$f"
done
cp -r public/. "$site/"
wasm="$site/pkg/tradewatch.$hw.wasm"
echo "[build-site] browser bundle ($profile) in $((SECONDS - t0)) s: $wasm $(stat -c %s "$wasm") bytes, $(stat -c %s "$wasm.gz") gzip -9"
# TRADEWATCH_SITE_NO_BIN=1 (scripts/test.sh): the binary `cargo test -p server` just built is
# used as it is. A plain `cargo build` resolves the features without the dev-dependencies and
# would rebuild half the graph (~450 s cold here) for the same code.
if [ "${TRADEWATCH_SITE_NO_BIN:-0}" = 1 ] && [ -x "target/$profile/tradewatch" ]; then
  echo "[build-site] server: the test build's target/$profile/tradewatch"
else
  t1=$SECONDS
  cargo build -p server --bin tradewatch "${cargo_bin[@]}"
  echo "[build-site] server ($profile) in $((SECONDS - t1)) s: target/$profile/tradewatch"
fi
