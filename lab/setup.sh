#!/usr/bin/env bash
# Machine packages the lab needs, from Debian: sshd (the GitHub double serves
# git over SSH), git, openssl (lab certificates). Idempotent; needs root (CI
# and the dev machines run as root).
set -euo pipefail
need=()
[ -x /usr/sbin/sshd ] || need+=(openssh-server)
command -v git >/dev/null || need+=(git)
command -v openssl >/dev/null || need+=(openssl)
if [ ${#need[@]} -gt 0 ]; then
  echo "[lab setup] installing ${need[*]}" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi
echo "[lab setup] sshd, git and openssl present" >&2
