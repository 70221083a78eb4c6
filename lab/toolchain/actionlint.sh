#!/usr/bin/env bash
# Builds actionlint (the GitHub Actions workflow linter) from its Go module.
# Prints the directory holding the binary on stdout.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib.sh
source "$here/lib.sh"

# Latest actionlint release on the Go module proxy when pinned.
ACTIONLINT_VERSION=v1.7.12

dir=$(tool_dir actionlint "$ACTIONLINT_VERSION")
if ! have_tool actionlint "$ACTIONLINT_VERSION"; then
  mkdir -p "$dir"
  timed "actionlint $ACTIONLINT_VERSION" env GOBIN="$dir" go install -trimpath -ldflags "-s -w" \
    "github.com/rhysd/actionlint/cmd/actionlint@$ACTIONLINT_VERSION"
  mark_built actionlint "$ACTIONLINT_VERSION"
fi
echo "$dir"
