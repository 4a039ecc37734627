#!/usr/bin/env bash
# Installs what the local stack and the tests need, from the package registries only, into the
# project's own places (infra/env.sh): Python tools into .venv and .venv-checkov, cargo tools into
# ~/.cache/twinshare/tools. Idempotent: a step whose result is already there does nothing. Then
# every tool the commands use must answer with the expected version, or the install fails at once
# and says which; a tool found elsewhere on the machine does not count.
set -euo pipefail
source "$(dirname "$0")/env.sh"
TRUNK_VERSION=0.21.14
# Must equal wasm-bindgen in site/Cargo.lock, or trunk tries to download one.
WASM_BINDGEN_VERSION="$(awk '/^name = "wasm-bindgen"$/{getline; gsub(/[^0-9.]/, ""); print; exit}' "$ROOT/site/Cargo.lock")"

say() { printf '\033[1m[install]\033[0m %s\n' "$*"; }
fail() { printf '\033[1;31m[install] %s\033[0m\n' "$*" >&2; exit 1; }

# --- Debian packages -------------------------------------------------------------------------
missing_debs=()
for pkg in chromium; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing_debs+=("$pkg")
done
# Debian's python3 makes virtual environments only with python3-venv (ensurepip).
python3 -c 'import ensurepip, venv' 2>/dev/null || missing_debs+=(python3-venv)
if ((${#missing_debs[@]})); then
  say "apt: ${missing_debs[*]}"
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing_debs[@]}" >/dev/null
fi

# --- Rust targets ----------------------------------------------------------------------------
# wasm32 for the site; aarch64 for `sam build` (Lambda on arm64, linked by cargo lambda's zig).
for target in wasm32-unknown-unknown aarch64-unknown-linux-gnu; do
  if ! rustup target list --installed | grep -qx "$target"; then
    say "rustup: $target"
    rustup target add "$target"
  fi
done
for component in clippy rustfmt; do
  rustup component list --installed 2>/dev/null | grep -q "^$component" || rustup component add "$component"
done

# --- Python tools, each set in its own virtual environment ------------------------------------
# A venv is (re)filled when it is missing, broken, or was filled from other requirements: the
# stamp is the hash of the requirements file and of the Python that made the venv.
fill_venv() { # venv requirements-file
  local venv="$1" requirements="$2" stamp
  stamp="$(cat "$requirements" | sha256sum | cut -c1-16)-$(python3 -c 'import sys; print(sys.version.split()[0])')"
  if [ -x "$venv/bin/python" ] && "$venv/bin/python" -c '' 2>/dev/null && [ "$(cat "$venv/.twinshare-stamp" 2>/dev/null)" = "$stamp" ]; then
    return
  fi
  say "venv: ${venv#"$ROOT"/} from ${requirements#"$ROOT"/}"
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$requirements"
  echo "$stamp" > "$venv/.twinshare-stamp"
}
fill_venv "$TWINSHARE_VENV" "$ROOT/infra/requirements.txt" & main_venv=$!
fill_venv "$TWINSHARE_SCAN_VENV" "$ROOT/infra/requirements-checkov.txt" & scan_venv=$!
fill_venv "$TWINSHARE_CONTRACT_VENV" "$ROOT/infra/requirements-contract.txt" & contract_venv=$!
wait "$main_venv"
wait "$scan_venv"
wait "$contract_venv"

# --- cargo tools ------------------------------------------------------------------------------
if [ "$("$TWINSHARE_TOOLS/bin/trunk" --version 2>/dev/null)" != "trunk $TRUNK_VERSION" ]; then
  say "cargo: trunk $TRUNK_VERSION (compiles for several minutes, once per machine)"
  cargo install trunk --version "$TRUNK_VERSION" --locked --root "$TWINSHARE_TOOLS"
fi
if [ "$("$TWINSHARE_TOOLS/bin/wasm-bindgen" --version 2>/dev/null)" != "wasm-bindgen $WASM_BINDGEN_VERSION" ]; then
  say "cargo: wasm-bindgen-cli $WASM_BINDGEN_VERSION"
  # Not --locked: its lockfile names a crate version the registry mirror may lack.
  cargo install wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION" --root "$TWINSHARE_TOOLS"
fi

# --- npm packages of the Chromium tests and the bench (playwright-core, jsqr) ----------------
# Again whenever package-lock.json changes (the stamp is its hash).
lock_hash="$(sha256sum < "$ROOT/site/end2end/package-lock.json")"
if [ "$(cat "$ROOT/site/end2end/node_modules/.twinshare-stamp" 2>/dev/null)" != "$lock_hash" ]; then
  say "npm: site/end2end"
  (cd "$ROOT/site/end2end" && npm ci --no-audit --no-fund --loglevel=error)
  echo "$lock_hash" > "$ROOT/site/end2end/node_modules/.twinshare-stamp"
fi

# --- every tool answers, from the project's own places ----------------------------------------
pinned() { sed -n "s/^$1==\([^ ;]*\).*/\1/p" "$2"; }
req="$ROOT/infra/requirements.txt"
problems=()
expect() { # name expected-substring command...
  local name="$1" expected="$2" answer
  shift 2
  answer="$("$@" 2>&1)" || true
  if [[ "$answer" == *"$expected"* ]]; then
    # Some tools print warnings first (Debian's chromium wrapper): show the line that answered.
    printf '  %-14s %s\n' "$name" "$(grep -m1 -F -- "$expected" <<<"$answer")"
  else
    answer="$(head -n 3 <<<"$answer" | tr '\n' ' ')"
    printf '  %-14s MISSING OR WRONG: expected %s, got: %s\n' "$name" "$expected" "${answer:-nothing}"
    problems+=("$name")
  fi
}
say "tools:"
expect "cargo lambda" "cargo-lambda $(pinned cargo-lambda "$req")" "$TWINSHARE_VENV/bin/cargo-lambda" lambda --version
expect "zig" "0." "$TWINSHARE_VENV/bin/python" -m ziglang version
expect "sam" "version $(pinned aws-sam-cli "$req")" "$TWINSHARE_VENV/bin/sam" --version
expect "cfn-lint" "cfn-lint $(pinned cfn-lint "$req")" "$TWINSHARE_VENV/bin/cfn-lint" --version
expect "moto_server" "$(pinned 'moto\[server\]' "$req")" "$TWINSHARE_VENV/bin/python" -c \
  'import moto, shutil, sys; assert shutil.which("moto_server", path=sys.prefix + "/bin"); print("moto", moto.__version__)'
expect "checkov" "$(pinned checkov "$ROOT/infra/requirements-checkov.txt")" "$TWINSHARE_SCAN_VENV/bin/checkov" --version
expect "schemathesis" "version $(pinned schemathesis "$ROOT/infra/requirements-contract.txt")" \
  "$TWINSHARE_CONTRACT_VENV/bin/schemathesis" --version
expect "trunk" "trunk $TRUNK_VERSION" "$TWINSHARE_TOOLS/bin/trunk" --version
expect "wasm-bindgen" "wasm-bindgen $WASM_BINDGEN_VERSION" "$TWINSHARE_TOOLS/bin/wasm-bindgen" --version
expect "chromium" "Chromium" /usr/bin/chromium --version
expect "node" "v" node --version
expect "playwright" "1.64.1" node -e 'console.log(require(process.argv[1] + "/package.json").version)' \
  "$ROOT/site/end2end/node_modules/playwright-core"
((${#problems[@]} == 0)) || fail "not installed as expected: ${problems[*]} (see above)"
say "tools ready"
