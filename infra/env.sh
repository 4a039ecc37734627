# Sourced by every command (install, run, test, bench): where the project's own tools live, put
# first on PATH so that no tool of the user's, of pyenv or of another project is used instead.
#   TWINSHARE_VENV        the Python tools (moto, cargo-lambda, aws-sam-cli, cfn-lint): .venv
#   TWINSHARE_SCAN_VENV   Checkov, apart because its pins conflict with aws-sam-cli's: .venv-checkov
#   TWINSHARE_CONTRACT_VENV  Schemathesis, the API's contract tester, apart too: .venv-contract
#   TWINSHARE_TOOLS       cargo-installed tools (trunk, wasm-bindgen), shared by every clone on
#                         the machine because they take minutes to compile: ~/.cache/twinshare/tools
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TWINSHARE_VENV="${TWINSHARE_VENV:-$ROOT/.venv}"
TWINSHARE_SCAN_VENV="${TWINSHARE_SCAN_VENV:-$ROOT/.venv-checkov}"
TWINSHARE_CONTRACT_VENV="${TWINSHARE_CONTRACT_VENV:-$ROOT/.venv-contract}"
TWINSHARE_TOOLS="${TWINSHARE_TOOLS:-${XDG_CACHE_HOME:-$HOME/.cache}/twinshare/tools}"
export TWINSHARE_VENV TWINSHARE_SCAN_VENV TWINSHARE_CONTRACT_VENV TWINSHARE_TOOLS
# rustup's cargo lives in ~/.cargo/bin; it comes after the project's own tools.
export PATH="$TWINSHARE_VENV/bin:$TWINSHARE_TOOLS/bin:$HOME/.cargo/bin:$PATH"
export VIRTUAL_ENV="$TWINSHARE_VENV"
unset PYTHONHOME
export SAM_CLI_TELEMETRY=0
