package search

import (
	"testing"
	"time"
)

// TestKeepOfAGeneration: a read takes the keep of the generation it read; one that read an
// older generation than the keep's takes none, unless it started after the keep was made
// (the database went back); a newer generation or another database's starts an empty keep;
// a read without a generation takes none; a full keep starts over.
func TestKeepOfAGeneration(t *testing.T) {
	d := NewKeptDetails(2)
	g := generation{epoch: 7, n: 5, ok: true}
	before := time.Now()
	k := d.at(g, before)
	if k == nil || d.at(g, time.Now()) != k {
		t.Fatal("a generation's reads do not share its keep")
	}
	d.store(k, map[int64]*detail{1: {}, 2: {}})
	if missing, _ := k.take(rows(1, 2, 3), []int64{1, 2, 3}, map[int64]*detail{}); len(missing) != 1 || missing[0] != 3 {
		t.Fatalf("missing %v, want [3]", missing)
	}
	if d.at(generation{epoch: 7, n: 4, ok: true}, before) != nil {
		t.Error("a read of an older generation, started before the keep, takes a keep")
	}
	if d.keep.Load() != k {
		t.Error("a read of an older generation replaced the keep")
	}
	if d.at(generation{}, time.Now()) != nil {
		t.Error("a read without a generation takes a keep")
	}
	d.store(k, map[int64]*detail{3: {}})
	if missing, _ := k.take(rows(1, 2, 3), []int64{1, 2, 3}, map[int64]*detail{}); len(missing) != 2 {
		t.Errorf("a full keep (2) given a third event: missing %v, want 1 and 2", missing)
	}
	for _, c := range []struct {
		name    string
		g       generation
		started time.Time
	}{
		{"newer", generation{epoch: 7, n: 6, ok: true}, before},
		{"another database", generation{epoch: 8, n: 1, ok: true}, before},
		{"restored", generation{epoch: 8, n: 0, ok: true}, time.Now().Add(time.Second)},
	} {
		old := d.keep.Load()
		n := d.at(c.g, c.started)
		if n == nil || n == old || n.gen != c.g || len(n.m) != 0 {
			t.Errorf("%s: got %+v, want an empty keep of %+v", c.name, n, c.g)
		}
	}
	var none *KeptDetails
	if none.at(g, time.Now()) != nil {
		t.Error("no KeptDetails gives a keep")
	}
}

// rows are page rows of ids, without their details.
func rows(ids ...int64) []pageRow {
	var page []pageRow
	for _, id := range ids {
		page = append(page, pageRow{pos: Position{ID: id}})
	}
	return page
}

// TestKeepTurnsLeanWhenItHoldsMostRows: a keep's pages read their details with their rows
// and keep them, until it has seen leanAfter rows of which it held half; then pages are
// lean, until the share it holds falls under half again. A new generation starts full.
func TestKeepTurnsLeanWhenItHoldsMostRows(t *testing.T) {
	d := NewKeptDetails(0)
	if d.mode() != keepFull {
		t.Fatal("an instance without a keep reads lean pages")
	}
	g := generation{epoch: 1, n: 1, ok: true}
	k := d.at(g, time.Now())
	n := leanAfter.Load()
	full := func(from, to int64) {
		var page []pageRow
		for id := from; id < to; id++ {
			page = append(page, pageRow{pos: Position{ID: id}, d: &detail{}})
		}
		if missing, _ := k.take(page, nil, map[int64]*detail{}); len(missing) != 0 {
			t.Fatalf("rows read with their details are missing %v", missing)
		}
	}
	full(0, n) // every row new
	if d.mode() != keepFull {
		t.Errorf("a keep that held none of %d rows turns lean", n)
	}
	full(0, n) // every row held: half of all
	if d.mode() != keepLean {
		t.Errorf("a keep that held %d of %d rows stays full", n, 2*n)
	}
	ids := make([]int64, n)
	for i := range ids {
		ids[i] = int64(1000 + i)
	}
	found := map[int64]*detail{}
	if missing, _ := k.take(rows(ids...), ids, found); len(missing) != len(ids) || len(found) != 0 {
		t.Fatalf("unknown rows: %d missing, %d found", len(missing), len(found))
	}
	if d.mode() != keepFull {
		t.Errorf("a keep that held %d of %d rows stays lean", n, 3*n)
	}
	if s := d.Stats(); s.Hits != 0 || s.Misses != 3*n {
		t.Errorf("stats %+v, want 0 kept and %d read", s, 3*n)
	}
	d.at(generation{epoch: 1, n: 2, ok: true}, time.Now())
	if d.mode() != keepFull {
		t.Error("a new generation's keep starts lean")
	}
}
