package commands_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/dostupno/dostupno/shared/account"
	"github.com/dostupno/dostupno/shared/catalog"
	"github.com/dostupno/dostupno/shared/commands"
	"github.com/dostupno/dostupno/shared/photo"
	"github.com/dostupno/dostupno/shared/writelog"
	"github.com/dostupno/dostupno/shared/writelog/writelogtest"
)

func TestKinds(t *testing.T) {
	var names []string
	for _, k := range commands.Kinds(nil, nil) {
		names = append(names, k.Name)
	}
	want := []string{catalog.KindEventUpsert, catalog.KindVenueUpsert, catalog.KindSeatsUpdate, account.KindRegister, account.KindAdmin, account.KindPassword, account.KindNeeds, account.KindErase, photo.Kind}
	if strings.Join(names, ",") != strings.Join(want, ",") {
		t.Fatalf("got kinds %v, want %v", names, want)
	}
}

// withField is payload, as its publisher encodes it, with an unknown field in each object
// (each element of an array).
func withField(t *testing.T, payload any) json.RawMessage {
	t.Helper()
	b, err := json.Marshal(payload)
	if err != nil {
		t.Fatal(err)
	}
	return json.RawMessage(strings.ReplaceAll(string(b), `{"`, `{"unexpected":1,"`))
}

// Every kind decodes its payload the same strict way: the payload its publisher writes is
// decoded (applied or rejected on its merits), and the same payload with a field the kind
// does not know is recorded as failed, in every copy alike.
func TestEveryKindDecodesStrictly(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := writelogtest.New(t, commands.Kinds)
	l, r := e.Log, e.Writer.Replica
	at := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	id, admin := uuid.NewString(), uuid.NewString()
	user := func(kind, id string, emailHash string, per account.Personal) account.Payload {
		k, ok, err := e.Keys.Get(ctx, id)
		if err == nil && !ok {
			k, err = e.Keys.Create(ctx, id)
		}
		if err != nil {
			t.Fatal(err)
		}
		sealed, err := account.Seal(k, kind, id, per)
		if err != nil {
			t.Fatal(err)
		}
		return account.Payload{ID: id, EmailHash: emailHash, Sealed: sealed}
	}
	payloads := map[string]any{
		catalog.KindEventUpsert: []catalog.Event{{ID: 1, Title: "T", Category: "theatre", City: "kazan", Venue: catalog.Venue{ID: 3, Name: "V"},
			StartsAt: at, Timezone: "Europe/Moscow", Accessibility: catalog.Facts{"elevator": {Value: "yes", Source: "organiser"}}}},
		catalog.KindVenueUpsert: []catalog.VenueInput{{Venue: catalog.Venue{ID: 3, Name: "V",
			Accessibility: &catalog.Facts{"elevator": {Value: "not_applicable", VerifiedAt: "2026-05-01"}}}, City: "kazan"}},
		catalog.KindSeatsUpdate: []catalog.Seats{{EventID: 1, WheelchairSpaces: 2, CompanionSeats: 1, AsOf: at}},
		account.KindRegister: user(account.KindRegister, id, "hash-a", account.Personal{Email: "a@example.ru", EmailKey: "a@example.ru", Name: "A",
			PasswordHash: "$argon2id$stored", Needs: []string{"braille"}}),
		account.KindAdmin: user(account.KindAdmin, admin, "hash-b", account.Personal{Email: "b@example.ru", EmailKey: "b@example.ru", Name: "B",
			PasswordHash: "$argon2id$b"}),
		account.KindPassword: user(account.KindPassword, id, "", account.Personal{OldHash: "$argon2id$stored", NewHash: "$argon2id$new"}),
		account.KindNeeds:    user(account.KindNeeds, id, "", account.Personal{Needs: []string{"elevator"}}),
		account.KindErase:    account.Payload{ID: uuid.NewString()},
		photo.Kind:           photo.Added{EventID: 1, Key: "events/1/a.png", ContentType: "image/png", Width: 2, Height: 3, Bytes: 40},
	}
	for _, k := range commands.Kinds(e.Vocab, e.Keys) {
		t.Run(k.Name, func(t *testing.T) {
			p, ok := payloads[k.Name]
			if !ok {
				t.Fatalf("no payload for kind %s: add one", k.Name)
			}
			for _, tc := range []struct {
				name       string
				payload    any
				wantFailed bool
			}{{"OK", p, false}, {"ErrUnknownField", withField(t, p), true}} {
				seq, err := l.Publish(ctx, k.Name, k.Name+":"+tc.name, at, tc.payload)
				if err != nil {
					t.Fatal(err)
				}
				o, err := r.WaitApplied(ctx, seq)
				if err != nil {
					t.Fatal(err)
				}
				if failed := o.Status == writelog.Failed; failed != tc.wantFailed {
					t.Fatalf("%s: got %s (%s), want failed %v", tc.name, o.Status, o.Message, tc.wantFailed)
				}
				if tc.wantFailed && !strings.Contains(o.Message, `unknown field "unexpected"`) {
					t.Fatalf("%s: got message %q, want it to name the unknown field", tc.name, o.Message)
				}
			}
		})
	}
}
