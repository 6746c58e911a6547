#!/usr/bin/env sh
# Throwaway certificates for the docker-compose demo of downstream mTLS (never for production): a CA, the gateway's
# server certificate (DNS envoy/localhost) and a client certificate for the example policy's `billing` identity.
set -eu
out="${1:-dev-certs}"
mkdir -p "$out"
cd "$out"
key() { openssl ecparam -name prime256v1 -genkey -noout -out "$1.key"; }
key ca
openssl req -x509 -new -key ca.key -sha256 -days 30 -subj "/CN=Tollgate dev CA" \
  -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" -out ca.crt
leaf() { # name cn usage san
  key "$1"
  openssl req -new -key "$1.key" -subj "/CN=$2" -out "$1.csr"
  printf 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=%s\nsubjectAltName=%s\n' "$3" "$4" > "$1.ext"
  openssl x509 -req -in "$1.csr" -CA ca.crt -CAkey ca.key -CAcreateserial -days 30 -sha256 -extfile "$1.ext" -out "$1.crt"
  rm -f "$1.csr" "$1.ext"
}
leaf gateway envoy serverAuth "DNS:envoy,DNS:localhost,IP:127.0.0.1"
leaf billing billing clientAuth "URI:spiffe://prod.example/ns/billing/sa/web"
chmod 644 ./*.crt ./*.key
echo "wrote $(pwd): ca.crt gateway.crt/key billing.crt/key"
