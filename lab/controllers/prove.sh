#!/usr/bin/env bash
# End-to-end check of the lab controllers: starts the lab (unless it is
# already up and PROVE_USE_RUNNING_LAB=1), runs lab/controllers/up.sh with the
# Flux manifests and a kustomization.yaml rendered by our program's own
# lockdown code, then shows:
#   1. a tenant Kustomization (serviceAccountName with admin in its namespace)
#      pulling a local git repo over smart HTTP becomes Ready and applies a ConfigMap;
#   2. one whose kustomization.yaml has a remote base fails (--no-remote-bases);
#   3. one without serviceAccountName is denied (impersonates "default");
#   4. a Tenant owner (a ServiceAccount listed as Capsule user) creates a
#      namespace that gets the Tenant ownerReference;
#   5. a Capsule user owning no Tenant is denied by Capsule's webhook.
# Everything it started is stopped again (PROVE_KEEP=1 keeps it running).
#
#   lab/controllers/prove.sh [--components gotk-components.yaml]
#
# Prints PASS/FAIL per check and "N passed, M failed"; exits non-zero on any failure.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

COMPONENTS=$CTRL_ROOT/test/fixtures/flux-install.yaml
[ "${1:-}" != --components ] || COMPONENTS=${2:?}
PASSED=0 FAILED=0
pass() { PASSED=$((PASSED + 1)); printf 'PASS: %s\n' "$*"; }
failc() { FAILED=$((FAILED + 1)); printf 'FAIL: %s\n' "$*"; }

STARTED_LAB=0 GIT_PID=
cleanup() {
  [ "${PROVE_KEEP:-0}" = 1 ] && { ctrl_log "PROVE_KEEP=1: leaving everything running"; return; }
  [ -z "$GIT_PID" ] || kill "$GIT_PID" 2>/dev/null || true
  bash "$CTRL_ROOT/lab/controllers/down.sh" || true
  [ "$STARTED_LAB" = 0 ] || bash "$CTRL_ROOT/lab/cluster/down.sh" || true
}
trap cleanup EXIT

if [ -f "$CTRL_KUBECONFIG" ] || pgrep -x kube-apiserver >/dev/null; then
  if [ "${PROVE_USE_RUNNING_LAB:-0}" != 1 ]; then
    ctrl_log "a lab is already running (another test?); set PROVE_USE_RUNNING_LAB=1 to use it"
    trap - EXIT
    exit 1
  fi
else
  STARTED_LAB=1
  bash "$CTRL_ROOT/lab/cluster/up.sh"
fi

PROOF=$CTRL_STATE/proof
mkdir -p "$PROOF"

# The kustomization.yaml our program commits under lockdown (default SA "default").
# shellcheck disable=SC2016
(cd "$CTRL_ROOT" && node -r ts-node/register/transpile-only -e '
  const { kustomizationFile } = require("./components/flux/repo-files");
  const { lockdownArgPatches } = require("./components/flux/lockdown");
  process.stdout.write(kustomizationFile(lockdownArgPatches("default"),
    ["source-controller", "kustomize-controller", "helm-controller", "notification-controller"], true));
') >"$PROOF/kustomization.yaml"

OWNER=system:serviceaccount:t1-system:reconciler
OUTSIDER=system:serviceaccount:t2-system:outsider
bash "$CTRL_ROOT/lab/controllers/up.sh" --components "$COMPONENTS" --kustomization "$PROOF/kustomization.yaml" \
  --capsule-user "ServiceAccount:$OWNER" --capsule-user "ServiceAccount:$OUTSIDER"
ctrl_tools 2>/dev/null  # KUBECTL

# ---------------------------------------------------------------- git repo over smart HTTP
rm -rf "$PROOF/git" "$PROOF/work"
mkdir -p "$PROOF/git" "$PROOF/work"
git init -q --bare -b main "$PROOF/git/tenant.git"
node -r ts-node/register/transpile-only "$CTRL_ROOT/lab/controllers/git-http.ts" --root "$PROOF/git" \
  >"$PROOF/git-http.out" 2>"$CTRL_STATE/logs/git-http.log" &
GIT_PID=$!
for _ in $(seq 1 100); do [ -s "$PROOF/git-http.out" ] && break; sleep 0.2; done
GIT_URL=$(head -n1 "$PROOF/git-http.out")/tenant.git
ctrl_log "git repo served at $GIT_URL"
# remote/ uses this same repo as a remote base: reachable offline, so the only
# thing that can stop it is the lockdown (--no-remote-bases).
(
  cd "$PROOF/work" || exit 1
  git init -q -b main .
  mkdir ok remote nosa
  printf 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: hello\n  namespace: t1-system\ndata:\n  from: flux\n' >ok/cm.yaml
  printf 'apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - %s//ok?ref=main\n' "$GIT_URL" >remote/kustomization.yaml
  printf 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: hello-default\n  namespace: t1-system\ndata:\n  from: flux\n' >nosa/cm.yaml
  git add -A
  git -c user.email=lab@example.invalid -c user.name=lab commit -qm fixtures
  git push -q "$PROOF/git/tenant.git" main
)

# ---------------------------------------------------------------- Flux
kc apply -f - >/dev/null <<EOF
apiVersion: v1
kind: Namespace
metadata: {name: t1-system}
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: reconciler, namespace: t1-system}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: reconciler-admin, namespace: t1-system}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: admin}
subjects: [{kind: ServiceAccount, name: reconciler, namespace: t1-system}]
---
apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata: {name: tenant, namespace: t1-system}
spec:
  url: $GIT_URL
  ref: {branch: main}
  interval: 1m
---
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {name: ok, namespace: t1-system}
spec: {interval: 1m, path: ./ok, prune: true, serviceAccountName: reconciler, sourceRef: {kind: GitRepository, name: tenant}}
---
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {name: remote, namespace: t1-system}
spec: {interval: 1m, path: ./remote, prune: true, serviceAccountName: reconciler, sourceRef: {kind: GitRepository, name: tenant}}
---
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {name: nosa, namespace: t1-system}
spec: {interval: 1m, path: ./nosa, prune: true, sourceRef: {kind: GitRepository, name: tenant}}
EOF

ready() { kc -n t1-system get "$1" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}|{.status.conditions[?(@.type=="Ready")].reason}|{.status.conditions[?(@.type=="Ready")].message}'; }

# settle KIND/NAME -> waits until Ready is True or False (not Unknown/Progressing); prints status|reason|message.
settle() {
  local s i
  for ((i = 0; i < 120; i++)); do
    s=$(ready "$1" 2>/dev/null || true)
    case "$s" in True\|* | False\|*) printf '%s' "$s"; return 0 ;; esac
    sleep 1
  done
  printf '%s' "$s"
}

s=$(settle gitrepository/tenant)
if [[ $s == True\|* ]]; then pass "GitRepository over http ready: ${s##*|}"; else failc "GitRepository: $s"; fi

s=$(settle kustomization/ok)
if [[ $s == True\|* ]] && [ "$(kc -n t1-system get configmap hello -o jsonpath='{.data.from}' 2>/dev/null)" = flux ]; then
  pass "Kustomization with serviceAccountName Ready, ConfigMap t1-system/hello applied: ${s##*|}"
else
  failc "Kustomization ok: $s"
fi

s=$(settle kustomization/remote)
if [[ $s == False\|* ]] && grep -q "is not in or below" <<<"$s"; then
  pass "remote base refused: ${s#*|}"
else
  failc "Kustomization remote: $s"
fi

s=$(settle kustomization/nosa)
if [[ $s == False\|* ]] && grep -q "system:serviceaccount:t1-system:default" <<<"$s" &&
  ! kc -n t1-system get configmap hello-default >/dev/null 2>&1; then
  pass "Kustomization without serviceAccountName denied: ${s#*|}"
else
  failc "Kustomization nosa: $s"
fi

# ---------------------------------------------------------------- Capsule
kc apply -f - >/dev/null <<EOF
apiVersion: capsule.clastix.io/v1beta2
kind: Tenant
metadata: {name: t1}
spec:
  owners:
    - kind: ServiceAccount
      name: $OWNER
      clusterRoles: [admin, capsule-namespace-deleter]
EOF
# Wait until Capsule has reconciled the Tenant and granted the provisioner role.
for _ in $(seq 1 60); do
  kc auth can-i create namespaces --as="$OWNER" >/dev/null 2>&1 && break
  sleep 1
done

if out=$(kc --as="$OWNER" create namespace t1-extra 2>&1); then
  owner=$(kc get namespace t1-extra -o jsonpath='{range .metadata.ownerReferences[*]}{.kind}/{.name} {end}')
  if [[ $owner == *Tenant/t1* ]]; then
    pass "owner $OWNER created namespace t1-extra; ownerReferences: $owner"
  else
    failc "t1-extra created but ownerReferences are '$owner'"
  fi
else
  failc "owner could not create t1-extra: $out"
fi

if out=$(kc --as="$OUTSIDER" create namespace t2-extra 2>&1); then
  failc "non-owner created t2-extra: $out"
elif grep -q "admission webhook" <<<"$out"; then
  pass "non-owner Capsule user denied: $out"
else
  failc "non-owner denied, but not by the webhook: $out"
fi

printf '%s passed, %s failed\n' "$PASSED" "$FAILED"
[ "$FAILED" = 0 ]
