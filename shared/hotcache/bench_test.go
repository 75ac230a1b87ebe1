package hotcache

import (
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/dostupno/dostupno/shared/changefeed"
)

// benchEntries is the read functions' default entry bound (CACHE_MAX_ENTRIES).
const benchEntries = 20000

// BenchmarkFloodDistinctQuestions stores a distinct search answer (1 to 8 KiB, 20 event ids,
// a Matches func) per iteration into a cache with the default bounds, reading back every
// fourth, and reports the live heap after a GC: it stays near the byte bound however many
// distinct questions arrive. Run with e.g. -bench Flood -benchtime 300000x.
func BenchmarkFloodDistinctQuestions(b *testing.B) {
	c := New(Bounds{Entries: benchEntries})
	var before runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	ids := make([]int64, 20)
	for i := range ids {
		ids[i] = int64(i + 1)
	}
	start := time.Now()
	i := 0
	for b.Loop() {
		city := "city-" + strconv.Itoa(i%50)
		key := "search:city=" + city + "&q=question-" + strconv.Itoa(i)
		c.Set(key, Entry{
			Body:     make([]byte, 1024+i%7168),
			EventIDs: append([]int64(nil), ids...),
			Matches:  func(e changefeed.Event) bool { return e.City == city },
		})
		if i%4 == 0 {
			c.Get("search:city=city-" + strconv.Itoa((i/2)%50) + "&q=question-" + strconv.Itoa(i/2))
		}
		i++
	}
	elapsed := time.Since(start)
	var after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&after)
	heap := float64(int64(after.HeapAlloc)-int64(before.HeapAlloc)) / (1 << 20)
	b.ReportMetric(heap, "heap-MiB")
	b.ReportMetric(float64(c.Len()), "entries")
	b.ReportMetric(float64(bytesOf(c))/(1<<20), "counted-MiB")
	b.ReportMetric(float64(elapsed.Nanoseconds())/float64(i), "ns/set")
	if c.Len() > benchEntries || bytesOf(c) > DefaultBytes {
		b.Fatalf("got %d entries, %d bytes, want at most %d and %d", c.Len(), bytesOf(c), benchEntries, DefaultBytes)
	}
	runtime.KeepAlive(c)
}

// BenchmarkGetHit is the cost of a hit under parallel readers.
func BenchmarkGetHit(b *testing.B) {
	c := newCache(benchEntries)
	for i := 0; i < 1000; i++ {
		c.Set("k"+strconv.Itoa(i), Entry{Body: []byte("x")})
	}
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			if _, ok := c.Get("k" + strconv.Itoa(i%1000)); !ok {
				b.Fatal("got miss, want hit")
			}
			i++
		}
	})
}

// BenchmarkApply is the cost of one announced change of one event against a full cache of
// search answers (each with 20 event ids and a Matches func).
func BenchmarkApply(b *testing.B) {
	c := New(Bounds{Entries: benchEntries})
	ids := make([]int64, 20)
	for i := range ids {
		ids[i] = int64(i + 1)
	}
	for i := 0; i < benchEntries; i++ {
		city := "city-" + strconv.Itoa(i%50)
		c.Set("search:"+strconv.Itoa(i), Entry{Body: []byte("x"), EventIDs: ids, Matches: func(e changefeed.Event) bool { return e.City == city }})
	}
	i := 0
	for b.Loop() {
		c.Apply(changefeed.Change{Events: []changefeed.Event{{ID: int64(100000 + i), City: "nowhere"}}})
		i++
	}
	b.ReportMetric(float64(c.Len()), "entries")
}
