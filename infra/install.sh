#!/usr/bin/env bash
# Installs what the local stack and the tests need, from the package registries only.
# Idempotent: each step checks first and does nothing when the tool is already right.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
TRUNK_VERSION=0.21.14
# Must equal wasm-bindgen in site/Cargo.lock, or trunk tries to download one.
WASM_BINDGEN_VERSION="$(awk '/^name = "wasm-bindgen"$/{getline; gsub(/[^0-9.]/, ""); print; exit}' "$ROOT/site/Cargo.lock")"

say() { printf '\033[1m[install]\033[0m %s\n' "$*"; }
export PATH="$HOME/.cargo/bin:$PATH"

missing_debs=()
for pkg in chromium; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing_debs+=("$pkg")
done
if ((${#missing_debs[@]})); then
  say "apt: ${missing_debs[*]}"
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing_debs[@]}" >/dev/null
fi

# wasm32 for the site; aarch64 for `sam build` (Lambda on arm64, linked by cargo lambda's zig).
for target in wasm32-unknown-unknown aarch64-unknown-linux-gnu; do
  if ! rustup target list --installed | grep -qx "$target"; then
    say "rustup: $target"
    rustup target add "$target"
  fi
done
rustup component list --installed 2>/dev/null | grep -q '^clippy' || rustup component add clippy rustfmt

if ! python3 -m pip install --quiet --disable-pip-version-check --dry-run -r "$ROOT/infra/requirements.txt" 2>/dev/null | grep -q "Would install"; then
  : # everything already satisfied
else
  say "pip: infra/requirements.txt"
  python3 -m pip install --quiet --disable-pip-version-check -r "$ROOT/infra/requirements.txt"
fi
# pyenv keeps console scripts behind shims that need a rehash after an install.
command -v pyenv >/dev/null && pyenv rehash 2>/dev/null || true

if [ "$(trunk --version 2>/dev/null)" != "trunk $TRUNK_VERSION" ]; then
  say "cargo: trunk $TRUNK_VERSION"
  cargo install trunk --version "$TRUNK_VERSION" --locked
fi
if [ "$(wasm-bindgen --version 2>/dev/null)" != "wasm-bindgen $WASM_BINDGEN_VERSION" ]; then
  say "cargo: wasm-bindgen-cli $WASM_BINDGEN_VERSION"
  # Not --locked: its lockfile names a crate version the registry mirror may lack.
  cargo install wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION"
fi
say "tools ready"
