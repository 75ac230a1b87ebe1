package account

import (
	"slices"
	"strings"
	"testing"

	"github.com/dostupno/dostupno/shared/apperr"
	"github.com/dostupno/dostupno/shared/catalog"
)

func testVocab(t *testing.T) *catalog.Vocabulary {
	t.Helper()
	var cons []catalog.Constraint
	for i, c := range catalog.Codes {
		cons = append(cons, catalog.Constraint{ID: int16(i + 1), Code: c})
	}
	v, err := catalog.NewVocabulary(cons, nil)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestRegistrationCheck(t *testing.T) {
	vocab := testVocab(t)
	ok := func() Registration {
		return Registration{Email: "  Anna.Petrova@Example.ru ", Password: "correct horse battery", Name: " Анна ", Needs: []string{"sign_language", "step_free_entrance", "sign_language"}}
	}
	tests := []struct {
		name      string
		edit      func(*Registration)
		wantField string
	}{
		{"OK", func(*Registration) {}, ""},
		{"OKPasswordEightRunes", func(r *Registration) { r.Password = "пароль№7" }, ""},
		{"OKPassword128Runes", func(r *Registration) { r.Password = strings.Repeat("ж", 128) }, ""},
		{"OKNoNeeds", func(r *Registration) { r.Needs = nil }, ""},
		{"ErrEmailEmpty", func(r *Registration) { r.Email = "  " }, "email"},
		{"ErrEmailNoAt", func(r *Registration) { r.Email = "anna.example.ru" }, "email"},
		{"ErrEmailDisplayName", func(r *Registration) { r.Email = "Anna <anna@example.ru>" }, "email"},
		{"ErrEmailNoDot", func(r *Registration) { r.Email = "anna@localhost" }, "email"},
		{"ErrEmailSpace", func(r *Registration) { r.Email = "an na@example.ru" }, "email"},
		{"ErrEmailTooLong", func(r *Registration) { r.Email = strings.Repeat("a", 250) + "@x.ru" }, "email"},
		{"ErrPasswordShort", func(r *Registration) { r.Password = "1234567" }, "password"},
		{"ErrPasswordSevenRunes", func(r *Registration) { r.Password = "пароль7" }, "password"},
		{"ErrPassword129Runes", func(r *Registration) { r.Password = strings.Repeat("ж", 129) }, "password"},
		{"ErrPasswordCommon", func(r *Registration) { r.Password = "password" }, "password"},
		{"ErrPasswordCommonAnyCase", func(r *Registration) { r.Password = "QWERTYUIOP" }, "password"},
		{"ErrPasswordBadUTF8", func(r *Registration) { r.Password = "abcdefgh\xff" }, "password"},
		{"ErrNameEmpty", func(r *Registration) { r.Name = " " }, "name"},
		{"ErrNameTooLong", func(r *Registration) { r.Name = strings.Repeat("я", 101) }, "name"},
		{"ErrNameControl", func(r *Registration) { r.Name = "a\x00b" }, "name"},
		{"ErrNeedsUnknown", func(r *Registration) { r.Needs = []string{"teleport"} }, "needs"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := ok()
			tt.edit(&r)
			err := r.Check(vocab)
			if tt.wantField == "" {
				if err != nil {
					t.Fatalf("got %v, want ok", err)
				}
				return
			}
			if e := apperr.As(err); e.Code != apperr.InvalidArgument || e.Field != tt.wantField {
				t.Fatalf("got %v, want invalid_argument on %s", err, tt.wantField)
			}
		})
	}
	r := ok()
	if err := r.Check(vocab); err != nil {
		t.Fatal(err)
	}
	if r.Email != "Anna.Petrova@Example.ru" || r.Name != "Анна" || !slices.Equal(r.Needs, []string{"step_free_entrance", "sign_language"}) {
		t.Fatalf("got %+v, want trimmed email and name, needs deduplicated in catalog order", r)
	}
	if r.Password != "correct horse battery" {
		t.Fatalf("got password %q, want it untouched", r.Password)
	}
	if EmailKey(r.Email) != "anna.petrova@example.ru" {
		t.Fatalf("got key %q, want lower case", EmailKey(r.Email))
	}
}

func TestCommonList(t *testing.T) {
	if n, d := CommonPasswords(); n != 10000 || d < 9900 {
		t.Fatalf("got %d common passwords (%d distinct), want the top 10,000", n, d)
	}
	for pw, want := range map[string]bool{"123456789": true, "iloveyou": true, "Password1": true, "zxcvbnm,./ unique 42": false} {
		if got := IsCommon(pw); got != want {
			t.Errorf("IsCommon(%q): got %v, want %v", pw, got, want)
		}
	}
}

func TestPasswordHash(t *testing.T) {
	h, err := Hash("correct horse battery")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Fatalf("got %q, want the PHC form with m=19456,t=2,p=1", h)
	}
	parts := strings.Split(h, "$")
	if salt, _ := b64.DecodeString(parts[4]); len(salt) != 16 {
		t.Fatalf("got salt of %d bytes, want 16", len(salt))
	}
	if key, _ := b64.DecodeString(parts[5]); len(key) != 32 {
		t.Fatalf("got key of %d bytes, want 32", len(key))
	}
	h2, _ := Hash("correct horse battery")
	if h2 == h {
		t.Fatal("got the same hash twice, want a fresh salt each time")
	}
	old, err := HashPassword("correct horse battery", Params{Memory: 4096, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name       string
		pw, hash   string
		ok, rehash bool
		wantErr    bool
	}{
		{"OK", "correct horse battery", h, true, false, false},
		{"ErrWrong", "correct horse batterY", h, false, false, false},
		{"ErrPrefixOnly", "correct horse", h, false, false, false},
		{"OKOldParamsWantsRehash", "correct horse battery", old, true, true, false},
		{"ErrCorrupt", "x", "$argon2id$v=19$m=19456$bad", false, false, true},
		{"ErrHugeMemory", "x", "$argon2id$v=19$m=99999999,t=2,p=1$" + parts[4] + "$" + parts[5], false, false, true},
		{"ErrGibibyteMemory", "x", "$argon2id$v=19$m=1048576,t=2,p=1$" + parts[4] + "$" + parts[5], false, false, true},
		{"ErrManyThreads", "x", "$argon2id$v=19$m=19456,t=2,p=255$" + parts[4] + "$" + parts[5], false, false, true},
		{"ErrOtherAlgorithm", "x", "$2a$10$abcdefghijklmnopqrstuv", false, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ok, rehash, err := VerifyPassword(tt.pw, tt.hash)
			if ok != tt.ok || rehash != tt.rehash || (err != nil) != tt.wantErr {
				t.Fatalf("got ok=%v rehash=%v err=%v, want %v %v err=%v", ok, rehash, err, tt.ok, tt.rehash, tt.wantErr)
			}
		})
	}
}

func BenchmarkHash(b *testing.B) {
	for b.Loop() {
		if _, err := Hash("violet kettle 42"); err != nil {
			b.Fatal(err)
		}
	}
}
