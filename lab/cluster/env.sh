#!/usr/bin/env bash
# Prints shell exports for using the lab: KUBECONFIG and a PATH with our
# kubectl (and the other lab binaries) ahead of anything else.
#   eval "$(lab/cluster/env.sh)"
# Builds the toolchain first when it is not cached (progress goes to stderr).
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

path=
while read -r d; do
  [ -n "$d" ] && path+="$d:"
done < <("$LAB_ROOT/lab/toolchain/kube.sh")
printf "export KUBECONFIG='%s'\n" "$LAB_KUBECONFIG"
printf "export KUBECACHEDIR='%s'\n" "$KUBECACHEDIR"
printf "export PATH='%s'\"\$PATH\"\n" "$path"
[ -f "$LAB_KUBECONFIG" ] || lab_log "note: the lab is not up yet (run lab/cluster/up.sh)"
