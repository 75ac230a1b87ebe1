package account

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/dostupno/dostupno/shared/apperr"
	"github.com/dostupno/dostupno/shared/pgtest"
	"github.com/dostupno/dostupno/shared/throttle"
	"github.com/dostupno/dostupno/shared/writelog"
	"github.com/dostupno/dostupno/shared/writelog/writelogtest"
)

// streamHolds reports the first of needles found in any message of the write log, its
// headers included ("" for none).
func streamHolds(t *testing.T, e *env, needles ...string) string {
	t.Helper()
	ctx := context.Background()
	s, err := e.nats.JS.Stream(ctx, writelog.StreamName(e.nats.Namespace))
	if err != nil {
		t.Fatal(err)
	}
	last, err := e.log.LastSeq(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for seq := uint64(1); seq <= last; seq++ {
		m, err := s.GetMsg(ctx, seq)
		if err != nil {
			t.Fatalf("read message %d: %v", seq, err)
		}
		all := string(m.Data) + m.Subject
		for k, vs := range m.Header {
			all += k + strings.Join(vs, " ")
		}
		for _, n := range needles {
			if strings.Contains(strings.ToLower(all), strings.ToLower(n)) {
				return n + " in message " + m.Subject
			}
		}
	}
	return ""
}

// bucketHolds reports the first of needles in a key or value of a key-value bucket.
func bucketHolds(t *testing.T, js jetstream.JetStream, bucket string, needles ...string) string {
	t.Helper()
	ctx := context.Background()
	kv, err := js.KeyValue(ctx, bucket)
	if err != nil {
		t.Fatal(err)
	}
	lister, err := kv.ListKeys(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for k := range lister.Keys() {
		v := ""
		if e, err := kv.Get(ctx, k); err == nil {
			v = string(e.Value())
		}
		for _, n := range needles {
			if strings.Contains(k+v, n) {
				return n + " in " + bucket
			}
		}
	}
	return ""
}

// Erasure: the user goes from every copy, no message of the stream holds the email or the
// name in clear, a copy replayed from the stream afterwards holds no trace of the user and
// agrees with the old copies table by table, and login fails. A wrong password erases nothing.
func TestErase(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	const email, name, addr = "Ksenia.Secret@Example.ru", "Ксения Секретная", "192.0.2.77"
	reg := Registration{Email: email, Password: "violet kettle 42", Name: name, Needs: []string{"braille"}}
	s, err := e.svc.Register(ctx, reg, addr)
	if err != nil {
		t.Fatal(err)
	}
	id := s.User.ID
	// Everything a user's commands can hold: a refused registration with the same email, a
	// rehash (a hash with old parameters, set as the test's fixture), saved needs.
	if _, err := e.svc.Register(ctx, reg, addr); apperr.CodeOf(err) != apperr.Conflict {
		t.Fatalf("got %v registering the email again, want conflict", err)
	}
	old, err := HashPassword(reg.Password, Params{Memory: 4096, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.pool.Exec(ctx, `UPDATE users SET password_hash = $2 WHERE id = $1`, id, old); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.Login(ctx, email, reg.Password, addr); err != nil {
		t.Fatal(err)
	}
	if _, err := e.pool.Exec(ctx, `UPDATE users SET password_hash = $2 WHERE id = $1`, id, old); err != nil {
		t.Fatal(err) // the fixture again, so that every copy's rows come from the log alone below
	}
	if _, err := e.svc.SaveNeeds(ctx, id, []string{"elevator", "hearing_loop"}); err != nil {
		t.Fatal(err)
	}
	// The same in clear never travelled: only sealed.
	if got := streamHolds(t, e, email, name, "argon2id", "hearing_loop"); got != "" {
		t.Fatalf("got %s before the erasure, want personal data sealed", got)
	}

	// A copy that applied everything before the erasure.
	before := pgtest.New(t)
	rb := writelog.NewReplica(e.log, before, "copy-before", Kinds(e.keys), quiet)
	writelogtest.CatchUp(t, e.log, rb)
	if n := pgtest.Count(t, before, `SELECT count(*) FROM users`); n != 1 {
		t.Fatalf("got %d users in the copy before the erasure, want 1", n)
	}

	t.Run("ErrWrongPasswordErasesNothing", func(t *testing.T) {
		err := e.svc.Erase(ctx, id, "violet kettle 43", addr)
		if apperr.CodeOf(err) != apperr.Unauthenticated {
			t.Fatalf("got %v, want unauthenticated", err)
		}
		if n := pgtest.Count(t, e.pool, `SELECT count(*) FROM users`); n != 1 {
			t.Fatalf("got %d users, want the user kept", n)
		}
		if _, ok, err := e.keys.Get(ctx, id); !ok || err != nil {
			t.Fatalf("got key %v, %v; want it kept", ok, err)
		}
	})

	if err := e.svc.Erase(ctx, id, reg.Password, addr); err != nil {
		t.Fatal(err)
	}
	last, err := e.log.LastSeq(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := rb.WaitApplied(ctx, last); err != nil {
		t.Fatal(err)
	}
	// A copy made after the erasure, replaying the whole stream.
	after := pgtest.New(t)
	ra := writelog.NewReplica(e.log, after, "copy-after", Kinds(e.keys), quiet)
	if _, err := ra.WaitApplied(ctx, last); err != nil {
		t.Fatal(err)
	}

	secrets := []string{"ksenia.secret", name, "argon2id", "braille", "hearing_loop"}
	for which, pool := range map[string]*pgxpool.Pool{"primary": e.pool, "copy-before": before, "copy-after": after} {
		if n := pgtest.Count(t, pool, `SELECT count(*) FROM users`) + pgtest.Count(t, pool, `SELECT count(*) FROM user_claims`); n != 0 {
			t.Errorf("%s: got %d users or claims, want none", which, n)
		}
		var rows string
		if err := pool.QueryRow(ctx, `SELECT coalesce(string_agg(t::text, ';'), '') FROM writelog_outcomes t`).Scan(&rows); err != nil {
			t.Fatal(err)
		}
		for _, sec := range secrets {
			if strings.Contains(strings.ToLower(rows), strings.ToLower(sec)) {
				t.Errorf("%s: got %q in the outcomes, want them scrubbed", which, sec)
			}
		}
	}
	writelogtest.Equal(t, e.pool, before)
	writelogtest.Equal(t, e.pool, after)
	if got := streamHolds(t, e, email, name); got != "" {
		t.Errorf("got %s after the erasure, want nothing readable", got)
	}
	if _, ok, err := e.keys.Get(ctx, id); ok || err != nil {
		t.Errorf("got key %v, %v after the erasure, want it destroyed", ok, err)
	}
	for _, b := range []string{throttle.Bucket(e.nats.Namespace), throttle.KnownBucket(e.nats.Namespace)} {
		if got := bucketHolds(t, e.nats.JS, b, "ksenia", "Ksenia", addr); got != "" {
			t.Errorf("got %s, want no email or address in clear", got)
		}
	}
	if _, err := e.svc.Login(ctx, email, reg.Password, "192.0.2.78"); apperr.CodeOf(err) != apperr.Unauthenticated {
		t.Errorf("got %v logging in after the erasure, want unauthenticated", err)
	}
	if _, err := e.svc.SaveNeeds(ctx, id, nil); apperr.CodeOf(err) != apperr.Unauthenticated {
		t.Errorf("got %v saving the erased user's needs, want unauthenticated", err)
	}
	if err := e.svc.Erase(ctx, id, reg.Password, addr); apperr.CodeOf(err) != apperr.Unauthenticated {
		t.Errorf("got %v erasing again, want unauthenticated", err)
	}
	// The email is free again.
	if _, err := e.svc.Register(ctx, reg, "192.0.2.79"); err != nil {
		t.Errorf("got %v registering the erased email again, want a new account", err)
	}
}

// Copies decide later registrations alike whether they applied an erased user's registration
// before the erasure (the user's row holds the email) or after it (its claim does).
func TestErasedRegistrationKeepsDecisionsAlike(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	reg := registration("twice@example.ru")
	s, err := e.svc.Register(ctx, reg, "192.0.2.90")
	if err != nil {
		t.Fatal(err)
	}
	// Refused in the copy that applies it now, while the first user holds the email.
	if _, err := e.svc.Register(ctx, reg, "192.0.2.91"); apperr.CodeOf(err) != apperr.Conflict {
		t.Fatalf("got %v, want conflict", err)
	}
	// The first user's key is destroyed (as an erasure does first) before a new copy reads
	// the stream, while its erasure is not yet in the log: the new copy cannot read the
	// registration, and must still refuse the second.
	if err := e.keys.Destroy(ctx, s.User.ID); err != nil {
		t.Fatal(err)
	}
	fresh := pgtest.New(t)
	rf := writelog.NewReplica(e.log, fresh, "fresh", Kinds(e.keys), quiet)
	if o, err := rf.WaitApplied(ctx, 1); err != nil || o.Status != writelog.Erased {
		t.Fatalf("got %+v, %v for the unreadable registration, want erased", o, err)
	}
	if o, err := rf.WaitApplied(ctx, 2); err != nil || o.Status != writelog.Erased {
		t.Fatalf("got %+v, %v for the refused one (discarded since), want erased", o, err)
	}
	if n := pgtest.Count(t, fresh, `SELECT count(*) FROM user_claims`); n != 1 {
		t.Fatalf("got %d claims, want the unreadable registration's email held", n)
	}
	// Its erasure comes through the log; both copies then agree.
	if err := e.svc.submit(ctx, KindErase, CommandKey(s.User.ID), Payload{ID: s.User.ID}, nil); err != nil {
		t.Fatal(err)
	}
	writelogtest.CatchUp(t, e.log, rf)
	writelogtest.Equal(t, e.pool, fresh)
}

// A registration written before personal fields were sealed (its email in clear) is still
// applied by a copy replaying the log.
func TestLegacyRegistrationReplays(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	hash, err := Hash("violet kettle 42")
	if err != nil {
		t.Fatal(err)
	}
	const id = "3f1e0c2a-1b3d-4e5f-8a9b-0c1d2e3f4a5b"
	p := map[string]any{"id": id, "email": "Old@example.ru", "email_key": "old@example.ru", "name": "Old", "password_hash": hash, "needs": []string{}}
	seq, err := e.log.Publish(ctx, KindRegister, "user:old@example.ru", time.Now(), p)
	if err != nil {
		t.Fatal(err)
	}
	if o, err := e.svc.Writer.Replica.WaitApplied(ctx, seq); err != nil || o.Status != writelog.Applied {
		t.Fatalf("got %+v, %v, want applied", o, err)
	}
	if _, err := e.svc.Login(ctx, "old@example.ru", "violet kettle 42", "192.0.2.5"); err != nil {
		t.Fatalf("got %v, want the old user to log in", err)
	}
	// Its erasure also renames the key that held its email in the outcomes.
	if err := e.svc.Erase(ctx, id, "violet kettle 42", "192.0.2.5"); err != nil {
		t.Fatal(err)
	}
	var ids string
	if err := e.pool.QueryRow(ctx, `SELECT string_agg(msg_id, ' ') FROM writelog_outcomes`).Scan(&ids); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(ids, "old@example.ru") {
		t.Fatalf("got msg ids %s, want the email renamed", ids)
	}
	if !bytes.Contains([]byte(ids), []byte("user:"+id+"#")) {
		t.Fatalf("got msg ids %s, want the user's id in their place", ids)
	}
}
