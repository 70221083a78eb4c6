#!/usr/bin/env bash
# The lab's certificates, with openssl: EC P-256 keys, a CA per purpose, and
# leaf certificates it signs. Source it; do not run it. Used by
# lab/cluster/state.sh (the cluster's PKI) and lab/controllers/capsule.sh (Capsule's
# webhook serving certificate).

# pki_ca DIR NAME CN -> DIR/NAME.key and DIR/NAME.crt, a self-signed CA.
pki_ca() {
  local dir=$1 name=$2 cn=$3
  openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
    -keyout "$dir/$name.key" -out "$dir/$name.crt" -days 3650 -sha256 -subj "/CN=$cn" \
    -addext "basicConstraints=critical,CA:TRUE" \
    -addext "keyUsage=critical,keyCertSign,cRLSign,digitalSignature" 2>/dev/null
  chmod 600 "$dir/$name.key"
}

# pki_cert DIR NAME CA SUBJECT EXTKEYUSAGE [SAN] -> DIR/NAME.key and
# DIR/NAME.crt, signed by DIR/CA.{crt,key}.
pki_cert() {
  local dir=$1 name=$2 ca=$3 subj=$4 eku=$5 san=${6:-}
  local ext="basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=$eku
subjectKeyIdentifier=hash
authorityKeyIdentifier=keyid"
  [ -z "$san" ] || ext+=$'\n'"subjectAltName=$san"
  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
    -keyout "$dir/$name.key" -subj "$subj" -out "$dir/$name.csr" 2>/dev/null
  openssl x509 -req -in "$dir/$name.csr" -CA "$dir/$ca.crt" -CAkey "$dir/$ca.key" \
    -set_serial "0x$(openssl rand -hex 16)" -days 825 -sha256 \
    -extfile <(printf '%s\n' "$ext") -out "$dir/$name.crt" 2>/dev/null
  rm -f "$dir/$name.csr"
  chmod 600 "$dir/$name.key"
}
