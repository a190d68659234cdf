#!/usr/bin/env bash
# Installs what Tradewatch needs to build (and, with --test, to test), skipping what is there.
# Sources: rustup (wasm target), crates.io (wasm-bindgen-cli), npm (binaryen's wasm-opt,
# playwright-core), Debian (chromium and poppler-utils, for --test only). Nothing else is downloaded.
# cargo-leptos is not needed: scripts/build-site.sh builds the site with cargo and wasm-bindgen.
set -euo pipefail
cd "$(dirname "$0")/.."
# Binaries `cargo install` put in CARGO_HOME (wasm-bindgen-cli) are found even when it is not ~/.cargo.
export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"

say() { printf '\033[1;34m[setup]\033[0m %s\n' "$*"; }
with_browser=0; [ "${1:-}" = "--test" ] && with_browser=1

# Rust toolchain and the WASM target (rust-toolchain.toml pins 1.95.0).
if ! rustup target list --installed 2>/dev/null | grep -q '^wasm32-unknown-unknown$'; then
  say "adding the wasm32-unknown-unknown target"
  rustup target add wasm32-unknown-unknown
fi

# wasm-bindgen-cli must equal the wasm-bindgen in Cargo.lock (~2.5 min the first time).
WB=$(awk '/^name = "wasm-bindgen"$/{getline; gsub(/version = |"/,""); print; exit}' Cargo.lock)
if ! wasm-bindgen --version 2>/dev/null | grep -q " $WB\$"; then
  say "installing wasm-bindgen-cli $WB"
  # Not --locked: the crate's published lock file names a webpki-roots release this registry
  # mirror does not have (seen 2026-11-23); the newest compatible versions build.
  cargo install wasm-bindgen-cli --version "$WB"
fi

# npm: binaryen 132 (wasm-opt for release builds; never Debian's binaryen 108, whose output
# fails to hydrate) and playwright-core (drives Debian chromium in the end-to-end tests).
if [ ! -x end2end/node_modules/.bin/wasm-opt ] || [ ! -d end2end/node_modules/playwright-core ]; then
  say "installing npm packages in end2end/"
  (cd end2end && npm ci --no-audit --no-fund)
fi

# Debian chromium for the end-to-end tests (the demo does not need it), and poppler-utils
# (pdftotext: the report tests read the PDFs back).
if [ "$with_browser" = 1 ] && { [ ! -x /usr/bin/chromium ] || ! command -v pdftotext >/dev/null; }; then
  say "installing Debian chromium and poppler-utils"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium poppler-utils
fi
# Debian's Prometheus tools (--test only): a real Alertmanager the alert tests deliver to and
# silence in, and promtool, which checks /metrics and tests the alerting rules.
if [ "$with_browser" = 1 ] && { [ ! -x /usr/bin/prometheus-alertmanager ] || ! command -v promtool >/dev/null; }; then
  say "installing Debian prometheus (promtool) and prometheus-alertmanager"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends prometheus prometheus-alertmanager
fi
# aiosmtpd (PyPI): a real SMTP server the report email test delivers to (--test only).
if [ "$with_browser" = 1 ] && ! python3 -c "import aiosmtpd" 2>/dev/null; then
  say "installing aiosmtpd (PyPI) for the email test"
  python3 -m pip install -q --disable-pip-version-check "aiosmtpd==1.4.6"
fi
# PostgreSQL for the second storage backend's tests (--test only): the machine's server on
# 127.0.0.1:5432 (trust auth, database `test`), started with pg_ctlcluster when it is not
# running. No PostgreSQL means the tests cannot run: fail loudly, never skip.
if [ "$with_browser" = 1 ]; then
  if ! pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then
    say "starting PostgreSQL"
    if ! command -v pg_ctlcluster >/dev/null || [ ! -d /etc/postgresql ]; then
      echo "setup: PostgreSQL is not installed (pg_ctlcluster, /etc/postgresql): the PostgreSQL tests cannot run" >&2
      exit 1
    fi
    for v in $(ls /etc/postgresql); do pg_ctlcluster --skip-systemctl-redirect "$v" main start || true; done
    for _ in $(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done
    if ! pg_isready -q -h 127.0.0.1 -p 5432; then
      echo "setup: PostgreSQL does not answer on 127.0.0.1:5432 after pg_ctlcluster start: the PostgreSQL tests cannot run" >&2
      exit 1
    fi
  fi
  say "PostgreSQL answers on 127.0.0.1:5432"
fi
say "tools ready"
