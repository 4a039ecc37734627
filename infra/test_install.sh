#!/usr/bin/env bash
# Proves the install on a machine without the user's tools: the three Python venvs are built from
# nothing in a temporary folder, with a PATH that holds only the system's directories and rustup's
# cargo, and every tool the commands use must then answer with its pinned version (install.sh
# checks each by its full path). A second run must find everything in place and install nothing.
# The cargo tools (trunk, wasm-bindgen) come from the machine-wide cache that install.sh fills,
# checked the same way: compiling them again here would cost 13 minutes on 2 cores.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT

bare_install() {
  env -u VIRTUAL_ENV -u PYENV_VERSION -u PYTHONPATH \
    PATH="/usr/local/sbin:/usr/sbin:/usr/bin:/sbin:/bin:$HOME/.cargo/bin" \
    TWINSHARE_VENV="$scratch/venv" TWINSHARE_SCAN_VENV="$scratch/venv-checkov" \
    TWINSHARE_CONTRACT_VENV="$scratch/venv-contract" \
    bash "$ROOT/infra/install.sh"
}

echo "first install, from nothing, python3 = $(PATH=/usr/bin:/bin; command -v python3)"
bare_install | tee "$scratch/first.log"
grep -q "venv: .*requirements.txt" "$scratch/first.log" || { echo "FAIL: the empty venv was not filled"; exit 1; }
for tool in cargo-lambda sam cfn-lint moto_server; do
  [ -x "$scratch/venv/bin/$tool" ] || { echo "FAIL: $tool is not in the new venv"; exit 1; }
done
[ -x "$scratch/venv-checkov/bin/checkov" ] || { echo "FAIL: checkov is not in its venv"; exit 1; }
[ -x "$scratch/venv-contract/bin/schemathesis" ] || { echo "FAIL: schemathesis is not in its venv"; exit 1; }

echo "second install: must change nothing"
bare_install | tee "$scratch/second.log"
if grep -E "\[install\].* (venv|apt|cargo|rustup):" "$scratch/second.log"; then
  echo "FAIL: the second install installed something again"; exit 1
fi
echo "install from nothing: ok"
