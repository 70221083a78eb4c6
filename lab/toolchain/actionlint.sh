#!/usr/bin/env bash
# Builds actionlint (the GitHub Actions workflow linter) from the module
# go/actionlint. Prints the directory holding the binary on stdout.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

build_actionlint() {
  cd "$2/actionlint"
  go build -ldflags "-s -w" -o "$1/" github.com/rhysd/actionlint/cmd/actionlint
}

go_tool actionlint "$(modver actionlint github.com/rhysd/actionlint)" build_actionlint actionlint
