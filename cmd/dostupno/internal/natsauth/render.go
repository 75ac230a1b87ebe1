package natsauth

import (
	"fmt"
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

# Every connection authenticates with its own NKEY: the server keeps public keys only and
# checks a signature of a nonce, so no secret crosses the bridge or sits in this file. Each
# may publish and subscribe what its function's code does and nothing else (README,
# "Security").
`)
	fmt.Fprintf(&b, "include %q\n\nauthorization {\n  users: [\n", KeysFile)
	for _, name := range Identities() {
		p, err := For(ns, name)
		if err != nil {
			panic(err) // every identity has a grant
		}
		comment := name
		if p.All {
			comment += ": the ops CLI (migrate, import, seed, admin) and the runner; anything, user.admin included"
		}
		fmt.Fprintf(&b, "    # %s\n    {\n      nkey: $%s\n", comment, keyVariable(name))
		if !p.All {
			b.WriteString("      permissions: {\n")
			writeList(&b, "publish", p.Publish)
			writeList(&b, "subscribe", p.Subscribe)
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
	fmt.Fprintf(&b, `    # %s: whoever connects without credentials (OpenFaaS's nats-connector cannot present
    # any); it may only listen to the doorbell, which carries no data. Nobody holds its seed.
    {
      nkey: %s
      permissions: {
`, Doorbell, DoorbellKey)
	writeList(&b, "publish", doorbell.Publish)
	writeList(&b, "subscribe", doorbell.Subscribe)
	fmt.Fprintf(&b, "      }\n    }\n  ]\n}\nno_auth_user: %s\n", DoorbellKey)
	return b.String()
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
