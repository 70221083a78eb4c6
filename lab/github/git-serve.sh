#!/bin/sh
# Forced command for the GitHub double's private sshd.
#
# Every authorized_keys line names this script with the key's grant baked in,
# so the client can never choose what runs; its request only arrives through
# SSH_ORIGINAL_COMMAND and is checked against the grant here.
#
# usage: git-serve.sh <repos-root> <owner>/<repo> ro|rw
set -u

die() {
  printf 'ERROR: %s\n' "$*" >&2
  exit 1
}

[ $# -eq 3 ] || die "git-serve.sh: expected <repos-root> <owner>/<repo> ro|rw, got $# argument(s)"
root=$1
grant=$2
mode=$3
request=${SSH_ORIGINAL_COMMAND:-}

[ -n "$request" ] || die "this deploy key for $grant only serves git fetch/clone/push; interactive shells are not provided"

case $request in
  "git-upload-pack "*) verb=upload-pack; arg=${request#git-upload-pack } ;;
  "git upload-pack "*) verb=upload-pack; arg=${request#git upload-pack } ;;
  "git-receive-pack "*) verb=receive-pack; arg=${request#git-receive-pack } ;;
  "git receive-pack "*) verb=receive-pack; arg=${request#git receive-pack } ;;
  *) die "unsupported command: '$request' (only git-upload-pack and git-receive-pack are served)" ;;
esac

# git quotes the path in single quotes; anything fancier than one plain path is refused.
case $arg in
  \'*\') arg=${arg#\'}; arg=${arg%\'} ;;
esac
case $arg in
  '' | *[!A-Za-z0-9._/-]*) die "invalid repository path in '$request'" ;;
esac
arg=${arg#/}
arg=${arg%/}
arg=${arg%.git}

# Exact comparison with the grant is what confines a key to its repository.
[ "$arg" = "$grant" ] || die "Repository not found: '$arg' (this deploy key only grants access to $grant)"

if [ "$verb" = receive-pack ] && [ "$mode" != rw ]; then
  die "The key you are authenticating with has been marked as read only (deploy key for $grant)."
fi

repo="$root/$grant.git"
[ -d "$repo" ] || die "Repository not found: $grant (no repository at $repo)"

exec git "$verb" "$repo"
