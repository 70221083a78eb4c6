#!/usr/bin/env bash
# Smoke test of a running lab (lab/cluster/up.sh first), using our kubectl:
# a Deployment becomes Available on the kwok node, RBAC denies then allows a
# ServiceAccount via a RoleBinding to the aggregated "admin" ClusterRole, and a
# namespace deletion finishes. Cleans up after itself; exits non-zero on failure.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

KUBECTL=
while read -r d; do
  [ -x "$d/kubectl" ] && KUBECTL=$d/kubectl
done < <("$LAB_ROOT/lab/toolchain/kube.sh")
[ -n "$KUBECTL" ] || { lab_log "smoke: lab/toolchain/kube.sh gave no kubectl"; exit 1; }
k() { "$KUBECTL" --kubeconfig "$LAB_KUBECONFIG" --context "$LAB_NAME" "$@"; }

NS=lab-smoke-$$
SA=system:serviceaccount:$NS:default
passed=0 failed=0

check() {
  local what=$1
  shift
  if "$@" >/dev/null; then
    passed=$((passed + 1))
    lab_log "smoke ok: $what"
  else
    failed=$((failed + 1))
    lab_log "smoke FAILED: $what"
  fi
}

can_i() { [ "$(k auth can-i --as="$SA" list secrets -n "$NS" 2>/dev/null)" = "$1" ]; }

ns_gone() {
  local i
  for ((i = 0; i < 120; i++)); do
    k get namespace "$NS" >/dev/null 2>&1 || return 0
    sleep 0.5
  done
  return 1
}

cleanup() { k delete namespace "$NS" --ignore-not-found --wait=false >/dev/null 2>&1 || true; }
trap cleanup EXIT

check "apiserver /readyz" k get --raw /readyz
check "server version is the built one" sh -c "'$KUBECTL' --kubeconfig '$LAB_KUBECONFIG' version | grep -q '^Server Version: v'"
check "create namespace $NS" k create namespace "$NS"
check "default ServiceAccount appears in $NS" k wait -n "$NS" --for=create serviceaccount/default --timeout=60s
check "create Deployment" k -n "$NS" create deployment app --image=registry.invalid/app:1 --replicas=2
check "Deployment Available" k -n "$NS" wait deployment/app --for=condition=Available --timeout=90s
check "pods Running on $LAB_NODE_NAME" sh -c "[ \"\$('$KUBECTL' --kubeconfig '$LAB_KUBECONFIG' -n '$NS' get pods -o 'jsonpath={range .items[*]}{.spec.nodeName}/{.status.phase} {end}')\" = '$LAB_NODE_NAME/Running $LAB_NODE_NAME/Running ' ]"
check "ServiceAccount may not list secrets" can_i no
check "RoleBinding to ClusterRole admin" k -n "$NS" create rolebinding sa-admin --clusterrole=admin --serviceaccount="$NS:default"
check "ServiceAccount may list secrets" can_i yes
check "delete namespace" k delete namespace "$NS" --wait=false
check "namespace gone (not stuck Terminating)" ns_gone

echo "smoke: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
