#!/bin/sh
# One-shot: the certificates of Idra's etcd (client and peer TLS), with openssl.
#
#   deploy/etcd/gen-certs.sh <dir> <name>...
#
# Writes into <dir>: ca.crt + ca.key (a new CA, kept and reused when already there) and
# tls.crt + tls.key, one certificate every member serves to clients and shows to its peers (server and
# client use), valid for the names given (DNS names or IP addresses) plus localhost and 127.0.0.1.
# Agents and the API server need only ca.crt. Run again with the same <dir> to renew tls.crt (e.g.
# yearly, or after adding a member); remove <dir> to start over with a new CA.
#
#   compose:     deploy/etcd/gen-certs.sh deploy/etcd/certs etcd1 etcd2 etcd3
#   Kubernetes:  deploy/etcd/gen-certs.sh certs '*.idra-etcd-headless.idra.svc' '*.idra-etcd-headless.idra.svc.cluster.local' idra-etcd.idra.svc
#                (release "idra" in namespace "idra"; then the two kubectl commands of docs/operations.md)
set -eu
if [ $# -lt 2 ]; then
  sed -n '2,/^set -eu/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2
  exit 2
fi
dir=$1
shift
days=${IDRA_ETCD_CERT_DAYS:-825}
# Keys are the owner's only (0600); certificates and the dir readable by all (containers mount ca.crt as another user).
umask 077
mkdir -p "$dir"
chmod 0755 "$dir"

if [ ! -f "$dir/ca.key" ]; then
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$dir/ca.key" -out "$dir/ca.crt" \
    -days 3650 -subj '/CN=idra-etcd-ca' -addext 'basicConstraints=critical,CA:TRUE' -addext 'keyUsage=critical,keyCertSign,cRLSign' 2>/dev/null
fi

sans='DNS:localhost,IP:127.0.0.1'
for name in "$@"; do
  case $name in
    *[!0-9.]*) sans="$sans,DNS:$name" ;;
    *) sans="$sans,IP:$name" ;;
  esac
done
extensions="$dir/tls.ext"
printf 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth,clientAuth\nsubjectAltName=%s\n' "$sans" >"$extensions"
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$dir/tls.key" -out "$dir/tls.csr" -subj '/CN=idra-etcd' 2>/dev/null
openssl x509 -req -in "$dir/tls.csr" -CA "$dir/ca.crt" -CAkey "$dir/ca.key" -CAcreateserial -days "$days" -extfile "$extensions" -out "$dir/tls.crt" 2>/dev/null
rm -f "$dir/tls.csr" "$extensions" "$dir/ca.srl"
chmod 0644 "$dir/ca.crt" "$dir/tls.crt"
echo "gen-certs: $dir/ca.crt (CA) and $dir/tls.crt (for $sans), valid $days days"
