package hotcache

import (
	"fmt"
	"testing"
	"time"

	"github.com/dostupno/dostupno/shared/changefeed"
)

func TestApplyDropsAffected(t *testing.T) {
	c := NewLocal(100, time.Minute)
	c.Set("event:1", Entry{Body: []byte("1"), EventIDs: []int64{1}})
	c.Set("search:moscow", Entry{Body: []byte("s"), EventIDs: []int64{2}, Matches: func(e changefeed.Event) bool { return e.City == "moscow" }})
	c.Set("search:kazan", Entry{Body: []byte("k"), EventIDs: []int64{3}, Matches: func(e changefeed.Event) bool { return e.City == "kazan" }})
	c.Apply(changefeed.Change{Events: []changefeed.Event{{ID: 1, City: "moscow"}}})
	if _, ok := c.Get("event:1"); ok {
		t.Fatal("got event:1 kept, want dropped (it holds the event)")
	}
	if _, ok := c.Get("search:moscow"); ok {
		t.Fatal("got search:moscow kept, want dropped (the event could now be in it)")
	}
	if _, ok := c.Get("search:kazan"); !ok {
		t.Fatal("got search:kazan dropped, want kept")
	}
}

func TestBoundedEntries(t *testing.T) {
	c := NewLocal(10, time.Minute)
	for i := 0; i < 100; i++ {
		c.Set(fmt.Sprint(i), Entry{Body: []byte("x")})
	}
	if c.Len() > 10 {
		t.Fatalf("got %d entries, want at most 10", c.Len())
	}
}
