#!/usr/bin/env bash
# Installs zizmor (the GitHub Actions security linter) from its PyPI wheel into
# a virtualenv keyed by version. Prints the directory holding the binary on
# stdout: only `zizmor` is there, so the venv's python and pip stay off PATH.
#
# The wheel is a prebuilt Rust binary with no Python dependencies; pip takes
# only a wheel whose sha256 is listed below (PyPI's, for the platforms the
# project runs on), so a changed or substituted file fails the install. A warm
# run only checks the stamp and never touches the network.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$here/lib.sh"

ZIZMOR_VERSION=1.32.0
ZIZMOR_SHA256=(
  84a6acb975accc13408786a2bd274b572537ca19c933ebbc13e78f3988562071 # manylinux_2_28_x86_64
  0cdd38fca6eb34ceb567548548d706332e3535ea66894b9168c048e03207b68c # manylinux_2_24_aarch64
  dd818f99d833b86cd432d5412d620d936b5df074b33404fff8b67acff55d3259 # musllinux_1_2_x86_64
  d34dcfa702875202b4163d90ebb9cc5222f3d1a7d4b72bf796d87b5a15b24194 # musllinux_1_2_aarch64
  aa4b4e216321dd5cf202cd79fc83296468f0eed79d850cd65ac8187a6bbc5496 # macosx_10_12_x86_64
  0a999c98015becd9f69919ce01febadfb1c2be9b8ec2ce9ef7eb13ff23ba8eba # macosx_11_0_arm64
)

dir=$(tool_dir zizmor "$ZIZMOR_VERSION")
if ! have_tool zizmor "$ZIZMOR_VERSION"; then
  rm -rf "$dir" # an interrupted install is redone from scratch
  mkdir -p "$dir/bin"
  req="$dir/requirements.txt"
  {
    printf 'zizmor==%s' "$ZIZMOR_VERSION"
    for h in "${ZIZMOR_SHA256[@]}"; do printf ' \\\n    --hash=sha256:%s' "$h"; done
    printf '\n'
  } >"$req"
  install() {
    python3 -m venv "$dir/venv"
    "$dir/venv/bin/pip" install --quiet --disable-pip-version-check --no-cache-dir \
      --require-hashes --only-binary=:all: --no-deps -r "$req" >&2
  }
  timed "zizmor $ZIZMOR_VERSION" install
  ln -s ../venv/bin/zizmor "$dir/bin/zizmor"
  "$dir/bin/zizmor" --version >&2
  mark_built zizmor "$ZIZMOR_VERSION"
fi
echo "$dir/bin"
