package migrations

import (
	"testing"
	"testing/fstest"
)

func TestNumbering(t *testing.T) {
	all, err := All()
	if err != nil {
		t.Fatal(err)
	}
	if len(all) == 0 {
		t.Fatal("got no migrations, want some")
	}
	for i, m := range all {
		if m.Version != i+1 {
			t.Fatalf("got version %d at position %d, want %d", m.Version, i, i+1)
		}
	}
}

func TestParseRefusesGapsAndBadNames(t *testing.T) {
	tests := map[string]fstest.MapFS{
		"ErrGap":     {"001_a.up.sql": {}, "003_c.up.sql": {}},
		"ErrRepeat":  {"001_a.up.sql": {}, "001_b.up.sql": {}},
		"ErrBadName": {"001_a.up.sql": {}, "2_b.sql": {}},
		"ErrNoOne":   {"002_a.up.sql": {}},
	}
	for name, fsys := range tests {
		t.Run(name, func(t *testing.T) {
			if _, err := parse(fsys); err == nil {
				t.Fatal("got nil error, want one")
			}
		})
	}
}
