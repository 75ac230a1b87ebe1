// Package natsauth is who may do what on NATS: one table of grants, function by function,
// from which the local runner's embedded server is configured and deploy/nats.conf is written
// (a test keeps the file equal to Render's output), so that adding a command kind or a
// function is one line here.
//
// Each function connects with its own NKEY (instance reads the seed from the secret
// nats-nkey-<function>; the server holds public keys only and never sees a secret: it checks
// a signature of a nonce) and may publish and subscribe exactly what its code does:
//
//   - register, login and account publish their own command kinds (login's is the password
//     rehash; account's the saved needs and the erasure; register erases a registration it
//     refused, so that a copy replaying it later decides alike), ring the doorbell and, since
//     a writer applies what is pending on its own copy before it answers, read the write log
//     (stream info, direct gets by sequence, their copy's consumer and its acks) and announce
//     the changes. All three use the throttle's buckets (login attempts, registrations per
//     address, the addresses known to each account) and store users' keys: register a new
//     user's, login and account one for a user registered before personal data was sealed; the
//     keys' stream refuses to replace a stored key (shared/userkeys).
//   - upsert-event, upsert-venue, seat-availability and upload-photo likewise with the event,
//     venue, seats and photo kinds.
//   - db-writer reads the log, settles its consumer and announces changes; it publishes no
//     command.
//   - every function that applies the log (the writers above and db-writer) reads the users'
//     keys, to open the personal fields of user commands, and deletes one as it applies that
//     user's erasure (every copy's applier does: the erasure holds once any copy applied it).
//   - search-events and get-event follow the change feed and answer cache-snapshot's hot-key
//     requests (replies only); cache-snapshot asks them.
//   - the ops CLI (migrate, import, import-venues, seed, admin; the runner itself) may do
//     anything: the kinds that create admins (user.admin) are published by it alone; its
//     imports publish the event and venue kinds as upsert-event and upsert-venue do.
//   - a connection without credentials is the doorbell listener: OpenFaaS's nats-connector
//     cannot present credentials, so the server maps it to a user that may only subscribe to
//     the doorbell subject (which carries no data).
//   - catch-up has no line and no credential: it uses no NATS (it calls the db-writers
//     through the gateway).
//
// No function may create, update or delete a stream or a bucket (a writer creates its copy's
// consumer of the write log, its progress record): `dostupno migrate` and up provision them
// with the ops credential, the users' keys' pepper included.
package natsauth

import (
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/dostupno/dostupno/shared/account"
	"github.com/dostupno/dostupno/shared/catalog"
	"github.com/dostupno/dostupno/shared/changefeed"
	"github.com/dostupno/dostupno/shared/hotcache"
	"github.com/dostupno/dostupno/shared/instance"
	"github.com/dostupno/dostupno/shared/photo"
	"github.com/dostupno/dostupno/shared/throttle"
	"github.com/dostupno/dostupno/shared/userkeys"
	"github.com/dostupno/dostupno/shared/writelog"
)

// Identities beyond the functions.
const (
	// Ops is the ops CLI's identity: dostupno migrate, import, import-venues, seed and admin,
	// and the local runner's own connection.
	Ops = "ops"
	// Doorbell is the user a connection without credentials becomes (no_auth_user).
	Doorbell = "doorbell"
	// DoorbellKey is Doorbell's public key. Its seed was thrown away: nobody authenticates as
	// it, connections without credentials are mapped to it.
	DoorbellKey = "UAWX6PJMOE37IGD6WKEEC3AOIW4424M5GO2ETELH5WQIPUBOGHGE66FM"
)

// grant is what one function does on NATS.
type grant struct {
	kinds    []string // command kinds it publishes (and rings the doorbell after)
	applier  bool     // it applies the write log to its copy: reads the stream and the users' keys, settles its consumer, announces changes, destroys an erased user's key
	accounts bool     // it throttles logins and registrations (the throttle's buckets) and stores users' keys
	cache    bool     // a read function's cache: follows the change feed, answers hot-key requests
	snapshot bool     // asks the caches for their hot keys
}

// grants is the table: one line per function of stack.yml. A new command kind goes into the
// kinds of the function that publishes it (or into opsOnly).
var grants = map[string]grant{
	"search-events":     {cache: true},
	"get-event":         {cache: true},
	"register":          {kinds: []string{account.KindRegister, account.KindErase}, applier: true, accounts: true},
	"login":             {kinds: []string{account.KindPassword}, applier: true, accounts: true},
	"account":           {kinds: []string{account.KindNeeds, account.KindErase}, applier: true, accounts: true},
	"cache-snapshot":    {snapshot: true},
	"upsert-event":      {kinds: []string{catalog.KindEventUpsert}, applier: true},
	"upsert-venue":      {kinds: []string{catalog.KindVenueUpsert}, applier: true},
	"seat-availability": {kinds: []string{catalog.KindSeatsUpdate}, applier: true},
	"upload-photo":      {kinds: []string{photo.Kind}, applier: true},
	"db-writer":         {applier: true},
}

// opsOnly are the command kinds only the ops CLI publishes.
var opsOnly = []string{account.KindAdmin}

// Functions are the functions of the table, sorted.
func Functions() []string {
	names := make([]string, 0, len(grants))
	for n := range grants {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// Identities are the names that hold a credential: every function and Ops.
func Identities() []string { return append(Functions(), Ops) }

// SecretName is the OpenFaaS secret holding name's NKEY seed.
func SecretName(name string) string { return instance.NATSSecret(name) }

// Permissions are what one identity may do.
type Permissions struct {
	Publish   []string // subjects it may publish to; nil: none
	Subscribe []string // subjects it may subscribe to; nil: none
	Responses bool     // it may reply to the requests it receives (and to nothing else)
	All       bool     // anything (Ops)
}

// extraCopy is the name of a further copy's db-writer (db-writer-2, ...): db-writer's grant.
var extraCopy = regexp.MustCompile(`^db-writer-[0-9]+$`)

// For returns the permissions of name (a function of the table, db-writer-N, Ops or Doorbell)
// under namespace ns.
func For(ns, name string) (Permissions, error) {
	ns = strings.ToLower(ns)
	switch name {
	case Ops:
		return Permissions{All: true}, nil
	case Doorbell:
		return Permissions{Subscribe: []string{writelog.DoorbellSubject(ns)}}, nil
	}
	g, ok := grants[name]
	if !ok && extraCopy.MatchString(name) {
		g, ok = grants["db-writer"]
	}
	if !ok {
		return Permissions{}, fmt.Errorf("natsauth: no grant for %q: add its line to the table (cmd/dostupno/internal/natsauth)", name)
	}
	var p Permissions
	inbox := instance.NATSInbox(name) + ".>"
	for _, k := range g.kinds {
		p.Publish = append(p.Publish, writelog.Subject(ns, k))
	}
	if len(g.kinds) > 0 {
		p.Publish = append(p.Publish, writelog.DoorbellSubject(ns))
	}
	if g.applier {
		stream := writelog.StreamName(ns)
		p.Publish = append(p.Publish,
			"$JS.API.STREAM.INFO."+stream,
			"$JS.API.DIRECT.GET."+stream,
			"$JS.API.STREAM.MSG.GET."+stream, // a miss asked again of the leader (writelog.LeaderMsg)
			"$JS.API.CONSUMER.CREATE."+stream+".*",
			"$JS.API.CONSUMER.MSG.NEXT."+stream+".*",
			"$JS.ACK."+stream+".*.>",
			changefeed.Subject(ns))
		keys := userkeys.StreamName(ns)
		p.Publish = append(p.Publish,
			"$JS.API.STREAM.INFO."+keys,
			"$JS.API.STREAM.MSG.GET."+keys, // from the leader only (userkeys.Store.get)
			"$JS.API.STREAM.MSG.DELETE."+keys)
		p.Subscribe = append(p.Subscribe, inbox)
	}
	if g.accounts {
		for _, bucket := range []string{throttle.Bucket(ns), throttle.KnownBucket(ns)} {
			p.Publish = append(p.Publish,
				"$JS.API.STREAM.INFO.KV_"+bucket,
				"$JS.API.DIRECT.GET.KV_"+bucket+".>",
				"$KV."+bucket+".>")
		}
		p.Publish = append(p.Publish, userkeys.Subject(ns, "*"))
	}
	if g.cache {
		p.Subscribe = append(p.Subscribe, changefeed.Subject(ns), hotcache.HotSubject(ns))
		p.Responses = true
	}
	if g.snapshot {
		p.Publish = append(p.Publish, hotcache.HotSubject(ns))
		p.Subscribe = append(p.Subscribe, inbox)
	}
	return p, nil
}
