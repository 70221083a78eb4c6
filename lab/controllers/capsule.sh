#!/usr/bin/env bash
# Capsule in the lab, for lab/controllers/up.sh (source it after up.sh's
# helpers: fail, start, start_runner, wait_until, port_free, ensure_namespace,
# apply_crds): Capsule as a process with the lab's CapsuleConfiguration
# (up_capsule), or the runner that runs it from its chart's Deployment
# (up_capsule_runner); both serve the webhooks with the certificate of
# make_webhook_cert. Reads CAPSULE, CAPSULE_CRDS and CAPSULE_USERS.

# shellcheck source=../pki.sh
source "$CTRL_ROOT/lab/pki.sh"

TLS=$CTRL_STATE/capsule-tls

# make_webhook_cert -> Capsule's webhook serving certificate (SAN IP:127.0.0.1)
# and its CA, kept across runs.
make_webhook_cert() {
  [ -s "$TLS/tls.crt" ] && [ -s "$TLS/tls.key" ] && [ -s "$TLS/ca.crt" ] && return 0
  mkdir -p "$TLS"
  pki_ca "$TLS" ca capsule-lab-webhook-ca
  pki_cert "$TLS" tls ca "/CN=capsule-webhook" serverAuth "IP:127.0.0.1,DNS:localhost"
}

# capsule_users_yaml -> the spec.users list entries.
capsule_users_yaml() {
  local u kind name
  printf '    - kind: Group\n      name: capsule.clastix.io\n'
  for u in "${CAPSULE_USERS[@]}"; do
    kind=${u%%:*}
    name=${u#*:}
    case "$kind" in User | Group | ServiceAccount) ;; *) ctrl_log "bad --capsule-user $u (KIND:NAME)"; exit 2 ;; esac
    printf '    - kind: %s\n      name: "%s"\n' "$kind" "$name"
  done
}

# One admission webhook entry of spec.admission; the rules are the chart's.
webhook_yaml() {
  local name=$1 path=$2 failure=$3 side=$4 rules=$5 extra=${6:-}
  cat <<EOF
      - name: $name
        path: $path
        admissionReviewVersions: [v1]
        failurePolicy: $failure
        matchPolicy: Equivalent${extra:+
        $extra}
        sideEffects: $side
        timeoutSeconds: 10
        rules:
$rules
EOF
}

capsule_configuration() {
  local url="https://$CTRL_HOST:$CTRL_CAPSULE_WEBHOOK_PORT" ca
  ca=$(base64 -w0 <"$TLS/ca.crt")
  local ns_rules_v="          - {apiGroups: [\"\"], apiVersions: [v1], operations: [CREATE, UPDATE, DELETE], resources: [namespaces, namespaces/status, namespaces/finalize], scope: \"*\"}"
  local ns_rules_m="          - {apiGroups: [\"\"], apiVersions: [v1], operations: [CREATE, UPDATE], resources: [namespaces], scope: \"*\"}"
  local tenant_rules="          - {apiGroups: [capsule.clastix.io], apiVersions: [v1beta2], operations: [CREATE, UPDATE, DELETE], resources: [tenants], scope: Cluster}"
  local owner_rules="          - {apiGroups: [capsule.clastix.io], apiVersions: [v1beta2], operations: [CREATE, UPDATE, DELETE], resources: [tenantowners], scope: Cluster}"
  local config_rules="          - {apiGroups: [capsule.clastix.io], apiVersions: [v1beta2], operations: [CREATE, UPDATE], resources: [capsuleconfigurations], scope: Cluster}"
  cat <<EOF
apiVersion: capsule.clastix.io/v1beta2
kind: CapsuleConfiguration
metadata:
  name: default
spec:
  users:
$(capsule_users_yaml)
  enableTLSReconciler: false
  forceTenantPrefix: false
  # Required in practice: Capsule v0.14.0's config webhook dereferences it on
  # every UPDATE and denies the request with a nil-pointer panic when it is
  # absent (the chart always renders it).
  nodeMetadata:
    forbiddenLabels: {denied: [], deniedRegex: ""}
    forbiddenAnnotations: {denied: [], deniedRegex: ""}
  overrides:
    TLSSecretName: capsule-tls
    mutatingWebhookConfigurationName: capsule-mutating-webhook-configuration
    validatingWebhookConfigurationName: capsule-validating-webhook-configuration
  admission:
    validating:
      name: capsule-dynamic-webhook
      client: {url: "$url", caBundle: "$ca"}
      webhooks:
$(webhook_yaml namespaces.validating.projectcapsule.dev /namespaces/validating Fail None "$ns_rules_v")
$(webhook_yaml tenants.validating.projectcapsule.dev /tenants/validating Fail None "$tenant_rules")
$(webhook_yaml owners.validating.projectcapsule.dev /tenantowners/validating Fail None "$owner_rules")
$(webhook_yaml config.validating.projectcapsule.dev /config/validating Ignore None "$config_rules")
    mutating:
      name: capsule-dynamic-webhook
      client: {url: "$url", caBundle: "$ca"}
      webhooks:
$(webhook_yaml namespaces.mutating.projectcapsule.dev /namespaces/mutating Fail NoneOnDryRun "$ns_rules_m" "reinvocationPolicy: Never")
$(webhook_yaml tenants.mutating.projectcapsule.dev /tenants/mutating Fail None "$tenant_rules")
EOF
}

# webhooks_wired -> both configurations exist and point at our URL.
webhooks_wired() {
  local kind url
  for kind in validatingwebhookconfiguration mutatingwebhookconfiguration; do
    url=$(kc get "$kind" capsule-dynamic-webhook -o jsonpath='{.webhooks[0].clientConfig.url}' 2>/dev/null) || return 1
    [[ $url == "https://$CTRL_HOST:$CTRL_CAPSULE_WEBHOOK_PORT/"* ]] || return 1
  done
}

up_capsule() {
  apply_crds "$CAPSULE_CRDS"
  ensure_namespace "$CTRL_CAPSULE_NS"
  kc -n "$CTRL_CAPSULE_NS" get serviceaccount capsule >/dev/null 2>&1 ||
    kc -n "$CTRL_CAPSULE_NS" create serviceaccount capsule >/dev/null
  make_webhook_cert
  capsule_configuration >"$CTRL_STATE/capsule-configuration.yaml"
  kc apply --server-side --force-conflicts --field-manager=flux-capsule-lab \
    -f "$CTRL_STATE/capsule-configuration.yaml" >/dev/null
  ctrl_log "CapsuleConfiguration default applied ($CTRL_STATE/capsule-configuration.yaml)"
  if ctrl_running capsule; then
    ctrl_log "capsule already running (pid $(ctrl_pid capsule))"
  else
    port_free "$CTRL_CAPSULE_HEALTH_PORT" || { ctrl_log "FAILED: port $CTRL_CAPSULE_HEALTH_PORT (Capsule's fixed health probe) is in use"; exit 1; }
    start capsule NAMESPACE="$CTRL_CAPSULE_NS" SERVICE_ACCOUNT=capsule -- "$CAPSULE" \
      --configuration-name=default \
      --metrics-addr="$CTRL_HOST:$CTRL_CAPSULE_METRICS_PORT" \
      --webhook-port="$CTRL_CAPSULE_WEBHOOK_PORT" \
      --webhook-cert-path="$TLS" \
      --enable-leader-election=false
  fi
  wait_until capsule 120 "readyz" curl -fsS "http://$CTRL_HOST:$CTRL_CAPSULE_HEALTH_PORT/readyz"
  wait_until capsule 60 "webhook TLS on 127.0.0.1" \
    curl -sS -o /dev/null --cacert "$TLS/ca.crt" "https://$CTRL_HOST:$CTRL_CAPSULE_WEBHOOK_PORT/"
  wait_until capsule 60 "webhook configurations" webhooks_wired
  ctrl_log "Capsule ready; webhooks: $(kc get validatingwebhookconfiguration capsule-dynamic-webhook -o jsonpath='{range .webhooks[*]}{.clientConfig.url} {end}')"
}

# Capsule from its chart: the runner, which also fills the chart's (empty) TLS Secret.
up_capsule_runner() {
  make_webhook_cert
  if ctrl_running capsule-runner; then
    ctrl_log "capsule-runner already running (pid $(ctrl_pid capsule-runner))"
    return
  fi
  port_free "$CTRL_CAPSULE_HEALTH_PORT" || { ctrl_log "FAILED: port $CTRL_CAPSULE_HEALTH_PORT (Capsule's fixed health probe) is in use"; exit 1; }
  start_runner capsule-runner "$CTRL_CAPSULE_NS" --tool "$(dirname "$CAPSULE")" --fill-tls-secret "capsule-tls=$TLS"
  ctrl_log "capsule-runner started; it runs Capsule once pulumi up applies the chart's Deployment (log: $(ctrl_logfile capsule-runner))"
}
