#!/usr/bin/env bash
# Starts the local Kubernetes lab (see lib.sh) in the background and waits
# until it is usable: apiserver ready, default ServiceAccount and aggregated
# "admin" ClusterRole present, the fake node Ready. Idempotent: when the lab
# is already up it says so and exits 0; a stale state dir is cleaned first.
#
#   lab/cluster/up.sh               # builds the toolchain when missing (lab/toolchain/kube.sh)
#   eval "$(lab/cluster/env.sh)"    # KUBECONFIG and PATH for our kubectl
#   lab/cluster/down.sh
#
# Env: FLUX_CAPSULE_LAB (state dir, default /tmp/flux-capsule-lab);
# FLUX_CAPSULE_LAB_KEEP_ON_FAIL=1 leaves a failed start running for inspection.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

FAILED_COMPONENT=

# fail COMPONENT MESSAGE -> reports which component failed and where its log is.
fail() {
  local name=$1 log
  shift
  log=$(lab_logfile "$name")
  lab_log "FAILED: $name: $*"
  if [ -f "$log" ]; then
    lab_log "$name log: $log (last lines below)"
    tail -n 20 "$log" | sed 's/^/    /' >&2
  fi
  FAILED_COMPONENT=$name
  return 1
}

# stage LABEL CMD... -> runs one step of the start and prints its time.
stage() {
  local label=$1 start
  shift
  start=$(date +%s)
  "$@"
  lab_log "$label: $(($(date +%s) - start))s"
}

# wait_for COMPONENT TIMEOUT WHAT CMD... -> polls CMD until it succeeds; fails
# early when COMPONENT's process has exited.
wait_for() {
  local name=$1 timeout=$2 what=$3 deadline
  shift 3
  deadline=$(($(date +%s) + timeout))
  until "$@" >/dev/null 2>&1; do
    lab_running "$name" || { fail "$name" "process exited while waiting for: $what"; return 1; }
    if [ "$(date +%s)" -ge "$deadline" ]; then
      fail "$name" "not ready after ${timeout}s: $what"
      return 1
    fi
    sleep 0.5
  done
}

# start_component NAME ARGS... -> starts binary NAME detached (lab_start),
# without the lock up.sh holds.
start_component() {
  local name=$1
  shift
  lab_start "$name" "${BIN[$name]}" "$@" {LAB_LOCK_FD}<&- || fail "$name" "did not start"
}

port_free() { ! ss -Hltn "sport = :$1" | grep -q .; }

check_ports() {
  local p busy=
  for p in "$LAB_ETCD_PORT" "$LAB_ETCD_PEER_PORT" "$LAB_APISERVER_PORT" "$LAB_KCM_PORT" \
    "$LAB_SCHEDULER_PORT" "$LAB_KWOK_PORT"; do
    port_free "$p" || busy+=" $p"
  done
  if [ -n "$busy" ]; then
    lab_log "FAILED: ports already in use on this host:$busy"
    busy=${busy# }
    ss -Hltnp | grep -E "[:.](${busy// /|})[[:space:]]" | sed 's/^/    /' >&2 || true
    return 1
  fi
}

# ---------------------------------------------------------------- toolchain

declare -A BIN
find_tools() {
  local dirs d name
  dirs=$("$LAB_ROOT/lab/toolchain/kube.sh") || { lab_log "FAILED: toolchain build (lab/toolchain/kube.sh)"; return 1; }
  TOOL_PATH=
  while read -r d; do
    [ -n "$d" ] || continue
    TOOL_PATH+="$d:"
    for name in etcd kube-apiserver kube-controller-manager kube-scheduler kwok kubectl; do
      if [ -x "$d/$name" ]; then BIN[$name]=$d/$name; fi
    done
    if [ -d "$d/stages" ]; then KWOK_STAGES=$d/stages; fi
  done <<<"$dirs"
  for name in etcd kube-apiserver kube-controller-manager kube-scheduler kwok kubectl; do
    [ -n "${BIN[$name]:-}" ] || { lab_log "FAILED: toolchain has no $name binary"; return 1; }
  done
  [ -n "${KWOK_STAGES:-}" ] || { lab_log "FAILED: toolchain has no kwok stages dir"; return 1; }
}

kubectl_lab() { "${BIN[kubectl]}" --kubeconfig "$LAB_KUBECONFIG" "$@"; }

# ---------------------------------------------------------------- state dir

# shellcheck source=state.sh
source "$LAB_ROOT/lab/cluster/state.sh"

# ---------------------------------------------------------------- components

start_etcd() {
  start_component etcd \
    --name=lab \
    --data-dir="$LAB_STATE/etcd" \
    --listen-client-urls="http://$LAB_HOST:$LAB_ETCD_PORT" \
    --advertise-client-urls="http://$LAB_HOST:$LAB_ETCD_PORT" \
    --listen-peer-urls="http://$LAB_HOST:$LAB_ETCD_PEER_PORT" \
    --initial-advertise-peer-urls="http://$LAB_HOST:$LAB_ETCD_PEER_PORT" \
    --initial-cluster="lab=http://$LAB_HOST:$LAB_ETCD_PEER_PORT" \
    --initial-cluster-state=new \
    --unsafe-no-fsync \
    --log-level=warn || return 1
  wait_for etcd 60 "etcd /health" \
    sh -c "curl -fsS http://$LAB_HOST:$LAB_ETCD_PORT/health | grep -q '\"health\":\"true\"'"
}

start_apiserver() {
  start_component kube-apiserver \
    --etcd-servers="http://$LAB_HOST:$LAB_ETCD_PORT" \
    --bind-address="$LAB_HOST" \
    --advertise-address="$LAB_HOST" \
    --secure-port="$LAB_APISERVER_PORT" \
    --tls-cert-file="$PKI/apiserver.crt" \
    --tls-private-key-file="$PKI/apiserver.key" \
    --client-ca-file="$PKI/ca.crt" \
    --authorization-mode=Node,RBAC \
    --service-account-issuer=https://kubernetes.default.svc.cluster.local \
    --service-account-key-file="$PKI/sa.pub" \
    --service-account-signing-key-file="$PKI/sa.key" \
    --service-cluster-ip-range="$LAB_SERVICE_CIDR" \
    --endpoint-reconciler-type=none \
    --requestheader-client-ca-file="$PKI/front-proxy-ca.crt" \
    --requestheader-allowed-names=front-proxy-client \
    --requestheader-username-headers=X-Remote-User \
    --requestheader-group-headers=X-Remote-Group \
    --requestheader-extra-headers-prefix=X-Remote-Extra- \
    --proxy-client-cert-file="$PKI/front-proxy-client.crt" \
    --proxy-client-key-file="$PKI/front-proxy-client.key" \
    --allow-privileged=true \
    --profiling=false || return 1
  # --endpoint-reconciler-type=none: the "kubernetes" Service would otherwise
  # get an Endpoints address of 127.0.0.1, which validation rejects.
  wait_for kube-apiserver 120 "kube-apiserver /readyz" \
    curl -fsS --cacert "$PKI/ca.crt" --cert "$PKI/admin.crt" --key "$PKI/admin.key" \
    "https://$LAB_HOST:$LAB_APISERVER_PORT/readyz"
}

# serving_args NAME CERT PORT -> sets ARGS to the flags kube-controller-manager
# and kube-scheduler share: their kubeconfig (for authentication and
# authorization too) and TLS on their health port.
serving_args() {
  local cfg=$LAB_STATE/config/$1.kubeconfig
  ARGS=(
    --kubeconfig="$cfg"
    --authentication-kubeconfig="$cfg"
    --authorization-kubeconfig="$cfg"
    --bind-address="$LAB_HOST"
    --secure-port="$3"
    --tls-cert-file="$PKI/$2.crt"
    --tls-private-key-file="$PKI/$2.key"
    --client-ca-file="$PKI/ca.crt"
  )
}

start_controllers() {
  local -a ARGS
  serving_args kube-controller-manager kcm-serving "$LAB_KCM_PORT"
  start_component kube-controller-manager "${ARGS[@]}" \
    --controllers='*' \
    --use-service-account-credentials=true \
    --service-account-private-key-file="$PKI/sa.key" \
    --root-ca-file="$PKI/ca.crt" \
    --cluster-signing-cert-file="$PKI/ca.crt" \
    --cluster-signing-key-file="$PKI/ca.key" \
    --service-cluster-ip-range="$LAB_SERVICE_CIDR" \
    --flex-volume-plugin-dir="$LAB_STATE/flexvolume" \
    --leader-elect=false \
    --profiling=false || return 1
  serving_args kube-scheduler scheduler-serving "$LAB_SCHEDULER_PORT"
  start_component kube-scheduler "${ARGS[@]}" \
    --leader-elect=false \
    --profiling=false || return 1
  wait_for kube-controller-manager 90 "kube-controller-manager /healthz" \
    curl -fsS --cacert "$PKI/ca.crt" "https://$LAB_HOST:$LAB_KCM_PORT/healthz"
  wait_for kube-scheduler 90 "kube-scheduler /healthz" \
    curl -fsS --cacert "$PKI/ca.crt" "https://$LAB_HOST:$LAB_SCHEDULER_PORT/healthz"
}

start_kwok() {
  local stages
  stages=$(printf '%s,' "$KWOK_STAGES"/*.yaml)
  start_component kwok \
    --kubeconfig="$LAB_STATE/config/kwok.kubeconfig" \
    --config="${stages%,}" \
    --manage-all-nodes=true \
    --cidr="$LAB_POD_CIDR" \
    --node-ip="$LAB_HOST" \
    --node-lease-duration-seconds=40 \
    --server-address="$LAB_HOST:$LAB_KWOK_PORT" || return 1
  wait_for kwok 60 "kwok /healthz" curl -fsS "http://$LAB_HOST:$LAB_KWOK_PORT/healthz"
  # The fake node: no taints, so any workload lands on it; kwok fills in
  # conditions and keeps its lease fresh.
  kubectl_lab apply -f - >/dev/null <<EOF || { fail kube-apiserver "could not create node $LAB_NODE_NAME"; return 1; }
apiVersion: v1
kind: Node
metadata:
  name: $LAB_NODE_NAME
  annotations:
    kwok.x-k8s.io/node: fake
    node.alpha.kubernetes.io/ttl: "0"
  labels:
    kubernetes.io/arch: amd64
    kubernetes.io/os: linux
    kubernetes.io/hostname: $LAB_NODE_NAME
    node-role.kubernetes.io/agent: ""
    type: kwok
status:
  addresses:
  - type: InternalIP
    address: $LAB_HOST
  - type: Hostname
    address: $LAB_NODE_NAME
  allocatable: {cpu: "32", memory: 256Gi, pods: "110"}
  capacity: {cpu: "32", memory: 256Gi, pods: "110"}
  nodeInfo:
    architecture: amd64
    operatingSystem: linux
EOF
}

# ---------------------------------------------------------------- readiness

sa_ready() { kubectl_lab -n default get serviceaccount default; }
admin_role_ready() {
  local rules
  rules=$(kubectl_lab get clusterrole admin -o 'jsonpath={.rules[*].verbs}')
  [ -n "$rules" ]
}
node_ready() {
  local s
  s=$(kubectl_lab get node "$LAB_NODE_NAME" -o 'jsonpath={.status.conditions[?(@.type=="Ready")].status}')
  [ "$s" = True ] || return 1
  # The lifecycle controller lifts the not-ready taint once it sees Ready.
  [ -z "$(kubectl_lab get node "$LAB_NODE_NAME" -o 'jsonpath={.spec.taints}')" ]
}

wait_cluster() {
  wait_for kube-controller-manager 90 "ServiceAccount default/default" sa_ready
  wait_for kube-controller-manager 90 "aggregated ClusterRole admin has rules" admin_role_ready
  wait_for kwok 90 "node $LAB_NODE_NAME Ready and untainted" node_ready
}

# ---------------------------------------------------------------- main

already_up() {
  local c
  [ -f "$LAB_STATE/$LAB_MARKER" ] && [ -f "$LAB_KUBECONFIG" ] || return 1
  for c in "${LAB_COMPONENTS[@]}"; do lab_running "$c" || return 1; done
  kubectl_lab get --raw /readyz >/dev/null 2>&1 && node_ready >/dev/null 2>&1
}

on_exit() {
  local rc=$?
  [ "$rc" -ne 0 ] || return 0
  if [ "${FLUX_CAPSULE_LAB_KEEP_ON_FAIL:-0}" = 1 ]; then
    lab_log "lab start failed; processes left running (FLUX_CAPSULE_LAB_KEEP_ON_FAIL=1)"
  else
    lab_log "lab start failed; stopping what was started (logs kept in $LAB_STATE/logs)"
    lab_stop_all
  fi
  [ -z "$FAILED_COMPONENT" ] || lab_log "failed component: $FAILED_COMPONENT, log: $(lab_logfile "$FAILED_COMPONENT")"
  lab_log "clean up with: $LAB_ROOT/lab/cluster/down.sh"
}

main() {
  local t0
  t0=$(date +%s)
  lab_lock
  stage "toolchain" find_tools
  if already_up; then
    lab_log "lab already up: KUBECONFIG=$LAB_KUBECONFIG (context $LAB_NAME)"
    return 0
  fi
  if [ -e "$LAB_STATE" ] || [ -n "$(lab_strays)" ]; then
    if [ -e "$LAB_STATE" ] && [ ! -f "$LAB_STATE/$LAB_MARKER" ]; then
      lab_log "FAILED: $LAB_STATE exists and is not lab state; set FLUX_CAPSULE_LAB elsewhere"
      return 1
    fi
    lab_log "stale lab state found: cleaning it first"
    lab_teardown
  fi
  check_ports
  trap on_exit EXIT
  stage "certificates and kubeconfigs" make_state
  stage "etcd" start_etcd
  stage "kube-apiserver" start_apiserver
  stage "kube-controller-manager and kube-scheduler" start_controllers
  stage "kwok and node $LAB_NODE_NAME" start_kwok
  stage "bootstrap (ServiceAccount, admin ClusterRole, node Ready)" wait_cluster
  lab_log "lab up in $(($(date +%s) - t0))s: KUBECONFIG=$LAB_KUBECONFIG (context $LAB_NAME), apiserver https://$LAB_HOST:$LAB_APISERVER_PORT"
  lab_log "logs: $LAB_STATE/logs; stop with $LAB_ROOT/lab/cluster/down.sh"
}

main "$@"; exit $?
