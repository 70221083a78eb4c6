#!/usr/bin/env bash
# The lab's state dir, for lab/cluster/up.sh (source it after lib.sh):
# make_state writes the marker, the logs, run and config dirs, the PKI
# (lab/pki.sh), a kubeconfig per client (admin, controller manager,
# scheduler, kwok) and env.sh (reads up.sh's TOOL_PATH).

# shellcheck source=../pki.sh
source "$LAB_ROOT/lab/pki.sh"

PKI=$LAB_STATE/pki

make_pki() {
  mkdir -p "$PKI"
  pki_ca "$PKI" ca "$LAB_NAME-ca"
  pki_cert "$PKI" apiserver ca "/CN=kube-apiserver" serverAuth \
    "DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local,IP:127.0.0.1,IP:${LAB_SERVICE_CIDR%.*/*}.1"
  pki_cert "$PKI" admin ca "/O=system:masters/CN=admin" clientAuth
  pki_cert "$PKI" kube-controller-manager ca "/CN=system:kube-controller-manager" clientAuth
  pki_cert "$PKI" kube-scheduler ca "/CN=system:kube-scheduler" clientAuth
  pki_cert "$PKI" kwok ca "/O=system:masters/CN=kwok-controller" clientAuth
  # Serving certs for the controller-manager's and scheduler's health ports.
  pki_cert "$PKI" kcm-serving ca "/CN=kube-controller-manager" serverAuth "DNS:localhost,IP:127.0.0.1"
  pki_cert "$PKI" scheduler-serving ca "/CN=kube-scheduler" serverAuth "DNS:localhost,IP:127.0.0.1"
  # Aggregation layer (front proxy): its own CA, as kubeadm does.
  pki_ca "$PKI" front-proxy-ca "$LAB_NAME-front-proxy-ca"
  pki_cert "$PKI" front-proxy-client front-proxy-ca "/CN=front-proxy-client" clientAuth
  # ServiceAccount token signing key pair.
  openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$PKI/sa.key" 2>/dev/null
  openssl pkey -in "$PKI/sa.key" -pubout -out "$PKI/sa.pub" 2>/dev/null
  chmod 600 "$PKI/sa.key" # pki.sh made the others 0600
}

# write_kubeconfig FILE CERTNAME USER CONTEXT -> a self-contained kubeconfig (certs embedded).
write_kubeconfig() {
  local file=$1 cert=$2 user=$3 ctx=$4
  cat >"$file" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: $LAB_NAME
  cluster:
    server: https://$LAB_HOST:$LAB_APISERVER_PORT
    certificate-authority-data: $(base64 -w0 <"$PKI/ca.crt")
users:
- name: $user
  user:
    client-certificate-data: $(base64 -w0 <"$PKI/$cert.crt")
    client-key-data: $(base64 -w0 <"$PKI/$cert.key")
contexts:
- name: $ctx
  context:
    cluster: $LAB_NAME
    user: $user
current-context: $ctx
EOF
  chmod 600 "$file"
}

make_state() {
  mkdir -p "$LAB_STATE"
  : >"$LAB_STATE/$LAB_MARKER"
  mkdir -p "$LAB_STATE/logs" "$LAB_STATE/run" "$LAB_STATE/config" # etcd makes its own dir (0700)
  make_pki
  write_kubeconfig "$LAB_KUBECONFIG" admin admin "$LAB_NAME"
  local c
  for c in kube-controller-manager kube-scheduler kwok; do
    write_kubeconfig "$LAB_STATE/config/$c.kubeconfig" "$c" "$c" "$c"
  done
  cat >"$LAB_STATE/env.sh" <<EOF
export KUBECONFIG='$LAB_KUBECONFIG'
export KUBECACHEDIR='$KUBECACHEDIR'
export PATH='${TOOL_PATH}'"\$PATH"
EOF
}
