#!/usr/bin/env bash
# faasd's side of a Dostupno deployment (README, "Deploying on faasd", step 4). As root:
#   bash deploy/faasd-gateway.sh && systemctl daemon-reload && systemctl restart faasd-provider faasd
# It can run again: it leaves what it already set as it is.
#
# - The gateway's port is published on loopback (for the edge, deploy/Caddyfile, and the
#   connectors) and on faasd's bridge 10.62.0.1 (for catch-up, which calls the db-writers through
#   the gateway), never on a public address: only the edge writes the client's address.
# - Timeouts above every function's (stack.yml, "Timeouts": a function writes its answer within
#   57s at most), each layer giving up after the one inside it, so the inner answer gets out:
#     function write_timeout <= 57s < service_timeout < upstream_timeout < gateway write_timeout
set -euo pipefail

faasd_dir=${FAASD_DIR:-/var/lib/faasd}
unit_dir=${SYSTEMD_DIR:-/etc/systemd/system}
compose=$faasd_dir/docker-compose.yaml

service_timeout=60s  # faasd-provider: its server's read and write limit and its proxy's
upstream_timeout=62s # gateway to provider: over service_timeout, so the provider's answer comes first
write_timeout=65s    # gateway's server: over upstream_timeout, so the gateway can write its own 502
read_timeout=65s     # gateway's server: the whole request, body included

# Only the gateway's entry changes: from "  gateway:" to the next entry at that indent.
awk -v up="$upstream_timeout" -v wr="$write_timeout" -v rd="$read_timeout" '
	/^  [^ #][^:]*:/ { gw = ($1 == "gateway:") }
	gw && /^ *- *read_timeout=/     { sub(/read_timeout=.*/, "read_timeout=" rd) }
	gw && /^ *- *write_timeout=/    { sub(/write_timeout=.*/, "write_timeout=" wr) }
	gw && /^ *- *upstream_timeout=/ { sub(/upstream_timeout=.*/, "upstream_timeout=" up) }
	gw && /^ *- *"?8080:8080"? *$/ {
		indent = $0; sub(/-.*/, "", indent)
		print indent "- \"127.0.0.1:8080:8080\""
		print indent "- \"10.62.0.1:8080:8080\""
		next
	}
	{ print }
' "$compose" > "$compose.dostupno"
mv "$compose.dostupno" "$compose"

mkdir -p "$unit_dir/faasd-provider.service.d"
printf '[Service]\nEnvironment="service_timeout=%s"\n' "$service_timeout" > "$unit_dir/faasd-provider.service.d/dostupno.conf"

echo "gateway in $compose:"
awk '/^  [^ #][^:]*:/ { gw = ($1 == "gateway:") } gw && /_timeout=|8080/' "$compose"
echo "faasd-provider: service_timeout=$service_timeout ($unit_dir/faasd-provider.service.d/dostupno.conf)"
