package natsauth

import (
	"fmt"
	"net/url"
	"slices"
	"strings"
)

// KeysFile is the file deploy/nats.conf includes for the public keys (beside it).
const KeysFile = "nats-keys.conf"

// keyVariable is the configuration variable holding name's public key.
func keyVariable(name string) string {
	return "NKEY_" + strings.ToUpper(strings.ReplaceAll(name, "-", "_"))
}

// Render is deploy/nats.conf for namespace ns: the server's JetStream settings and the
// table's users, their public keys read from KeysFile (RenderKeys).
func Render(ns string) string {
	var b strings.Builder
	b.WriteString(`# Configuration of Dostupno's NATS server on faasd (docker-compose.yml, service nats-jetstream).
# Copy it to /var/lib/faasd/dostupno/nats.conf, beside the nats-keys.conf that
# 'dostupno nats-keys' writes. The command line adds -js -sd /data.
#
# Written from the permission table of cmd/dostupno/internal/natsauth (a test keeps this file
# equal to natsauth.Render): edit the table, not this file, and run
#   go test ./cmd/dostupno/internal/natsauth -run TestDeployConfig -update
#
# JetStream carries the write log. By default a server flushes its files to disk every two
# minutes, so a single node that loses power (or whose OS crashes) can lose messages it has
# already acknowledged; with sync_interval: always every acknowledged write is on disk first.
jetstream {
  sync_interval: always
}

`)
	writeAuthorization(&b, ns)
	return b.String()
}

// Nodes is how many servers the JetStream cluster of deploy/nats-cluster-*.conf has.
const Nodes = 3

// RenderCluster is deploy/nats-cluster-<node>.conf for namespace ns (node counts from 1): the
// same users and permissions as Render, the cluster's JetStream settings, and the cluster
// block whose route authentication and routes RoutesFile holds (RenderRoutes).
func RenderCluster(ns string, node int) string {
	var b strings.Builder
	fmt.Fprintf(&b, `# Node %d of Dostupno's three-node NATS JetStream cluster: the write log, the users' keys and
# the key-value buckets with three replicas (WRITELOG_REPLICAS=3), so that losing any one
# server loses no acknowledged write, and writes go on once the other two have elected a
# leader, in seconds (README, "Past one VM"). The three files differ only in server_name.
#
# Written from the permission table of cmd/dostupno/internal/natsauth, as deploy/nats.conf (a
# test keeps the files equal to natsauth.RenderCluster): edit the table, not this file, and run
#   go test ./cmd/dostupno/internal/natsauth -run TestDeployConfig -update
#
# Each server runs on its own machine, where the names nats-1, nats-2 and nats-3 resolve to
# the three servers on the private network (/etc/hosts, or the cluster's DNS), and only that
# network reaches these ports. Beside this file on each machine: %s (the users'
# public keys) and %s (the route password and the routes), both written by
#   dostupno nats-keys --routes nats-1:6222,nats-2:6222,nats-3:6222
# Clients list all three servers:
#   NATS_URL=nats://nats-1:4222,nats://nats-2:4222,nats://nats-3:4222
#
# Run: nats-server --config nats-cluster-%d.conf -sd /data   (2.10 or newer, for sync_interval)
# Command-line flags override what is here (-a, -p, --cluster, -m): that is how the README runs
# all three on one machine (--cluster replaces the route user and password too, so it carries
# them: nats://route:<password>@host:port). The test suite runs these files too, with the
# addresses replaced (cmd/dostupno/internal/eventimport/cluster_test.go).
server_name: nats-%d
listen: 0.0.0.0:4222
http: 0.0.0.0:8222

# JetStream's store (streams and their RAFT logs) is given on the command line, -sd /data, as
# for deploy/nats.conf (a store_dir here and -sd there would conflict): a disk of its own with
# room for the write log, about 575 bytes per imported event.
jetstream {
  # The JetStream domain of this cluster: the API is $JS.API here, and $JS.dostupno.API
  # from a leaf node or another domain that is ever attached.
  domain: dostupno
  # Every acknowledged write is on this server's disk before the acknowledgement: with
  # three replicas a publish is acknowledged once two servers hold it, and a power loss of
  # every machine at once still loses nothing acknowledged.
  sync_interval: always
}

`, node, KeysFile, RoutesFile, node, node)
	writeAuthorization(&b, ns)
	fmt.Fprintf(&b, `
cluster {
  name: dostupno
  listen: 0.0.0.0:6222
  # The servers accept routes only from one another: a route presents the user and
  # password of %s (the secret %s), and the routes to the three
  # servers carry them.
  include %q
}
`, RoutesFile, RoutePasswordSecret, RoutesFile)
	return b.String()
}

// writeAuthorization writes the users of the table under namespace ns, their public keys read
// from KeysFile, and the doorbell for connections without credentials.
func writeAuthorization(b *strings.Builder, ns string) {
	b.WriteString(`# Every connection authenticates with its own NKEY: the server keeps public keys only and
# checks a signature of a nonce, so no secret crosses the bridge or sits in this file. Each
# may publish and subscribe what its function's code does and nothing else (README,
# "Security").
`)
	fmt.Fprintf(b, "include %q\n\nauthorization {\n  users: [\n", KeysFile)
	for _, name := range Identities() {
		p, err := For(ns, name)
		if err != nil {
			panic(err) // every identity has a grant
		}
		comment := name
		if p.All {
			comment += ": the ops CLI (migrate, import, import-venues, seed, admin) and the runner; anything, user.admin included"
		}
		fmt.Fprintf(b, "    # %s\n    {\n      nkey: $%s\n", comment, keyVariable(name))
		if !p.All {
			b.WriteString("      permissions: {\n")
			writeList(b, "publish", p.Publish)
			writeList(b, "subscribe", p.Subscribe)
			if p.Responses {
				b.WriteString("        allow_responses: true\n")
			}
			b.WriteString("      }\n")
		}
		b.WriteString("    }\n")
	}
	doorbell, err := For(ns, Doorbell)
	if err != nil {
		panic(err)
	}
	fmt.Fprintf(b, `    # %s: whoever connects without credentials (OpenFaaS's nats-connector cannot present
    # any); it may only listen to the doorbell, which carries no data. Nobody holds its seed.
    {
      nkey: %s
      permissions: {
`, Doorbell, DoorbellKey)
	writeList(b, "publish", doorbell.Publish)
	writeList(b, "subscribe", doorbell.Subscribe)
	fmt.Fprintf(b, "      }\n    }\n  ]\n}\nno_auth_user: %s\n", DoorbellKey)
}

func writeList(b *strings.Builder, what string, subjects []string) {
	if len(subjects) == 0 {
		fmt.Fprintf(b, "        %s: {deny: [\">\"]}\n", what)
		return
	}
	if len(subjects) <= 2 {
		quoted := make([]string, len(subjects))
		for i, s := range subjects {
			quoted[i] = fmt.Sprintf("%q", s)
		}
		fmt.Fprintf(b, "        %s: {allow: [%s]}\n", what, strings.Join(quoted, ", "))
		return
	}
	fmt.Fprintf(b, "        %s: {allow: [\n", what)
	for _, s := range subjects {
		fmt.Fprintf(b, "          %q\n", s)
	}
	b.WriteString("        ]}\n")
}

// RenderKeys is KeysFile for keys (identity -> public key): one variable per identity.
func RenderKeys(keys map[string]string) string {
	var b strings.Builder
	b.WriteString("# Public NKEYs of Dostupno's NATS identities, written by 'dostupno nats-keys'. The seeds are\n" +
		"# the secrets nats-nkey-<name>; this file holds nothing secret.\n")
	names := make([]string, 0, len(keys))
	for n := range keys {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		fmt.Fprintf(&b, "%s: %q\n", keyVariable(n), keys[n])
	}
	return b.String()
}

// RoutesFile is the file deploy/nats-cluster-*.conf include in their cluster block (beside
// them): the route user and password, and the routes.
const RoutesFile = "nats-routes.conf"

// RouteUser is the user the cluster's servers present to one another.
const RouteUser = "route"

// RenderRoutes is RoutesFile: the servers' route authentication with password (the secret
// RoutePasswordSecret) and a route to each of routes ("host:port"), carrying the password.
func RenderRoutes(password string, routes []string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# Route authentication of Dostupno's NATS cluster, written by 'dostupno nats-keys --routes'.\n"+
		"# It holds the secret %s: keep it on the cluster's servers only, readable by the\n"+
		"# NATS server alone.\nauthorization {\n  user: %s\n  password: %q\n}\nroutes: [\n", RoutePasswordSecret, RouteUser, password)
	for _, r := range routes {
		u := url.URL{Scheme: "nats-route", User: url.UserPassword(RouteUser, password), Host: r}
		fmt.Fprintf(&b, "  %q\n", u.String())
	}
	b.WriteString("]\n")
	return b.String()
}
