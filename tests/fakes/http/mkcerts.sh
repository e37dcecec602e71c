#!/bin/sh
# mkcerts.sh DIR - test certificates for the tests of common/http, written
# into DIR: ca.crt/ca.key (the trusted CA), other-ca.crt (a CA that signed
# nothing here), server.crt/.key (127.0.0.1 and localhost), named.crt/.key
# (only the name kube.test), client.crt/.key (CN wlkit-client, signed by
# ca). EC P-256 keys, valid for one day. Needs the openssl command.
set -eu
d=$1
cd "$d"
key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }
ca() {	# name, CN
	key "$1.key"
	openssl req -x509 -new -key "$1.key" -subj "/CN=$2" -days 1 -out "$1.crt" \
		-addext basicConstraints=critical,CA:TRUE \
		-addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null
}
leaf() {	# name, CN, extensions
	key "$1.key"
	openssl req -new -key "$1.key" -subj "/CN=$2" -out "$1.csr" 2>/dev/null
	printf '%s\n' "$3" > "$1.ext"
	openssl x509 -req -in "$1.csr" -CA ca.crt -CAkey ca.key -CAcreateserial \
		-days 1 -extfile "$1.ext" -out "$1.crt" 2>/dev/null
	rm -f "$1.csr" "$1.ext"
}
ca ca wlkit-test-ca
ca other-ca wlkit-other-ca
leaf server 127.0.0.1 "subjectAltName=IP:127.0.0.1,DNS:localhost
extendedKeyUsage=serverAuth"
leaf named kube.test "subjectAltName=DNS:kube.test
extendedKeyUsage=serverAuth"
leaf client wlkit-client "extendedKeyUsage=clientAuth"
