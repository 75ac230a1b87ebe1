package search

import (
	"bytes"
	"fmt"
	"testing"
	"time"

	"github.com/dostupno/dostupno/shared/jsoncodec"
)

// summaryOf is a summary as summaries makes it from a kept detail: times in UTC, its head
// encoded (encodeHead).
func summaryOf(s Summary) Summary {
	s.inUTC()
	s.head = encodeHead(&s)
	return s
}

// checkEncodePage fails t unless encodePage writes p as jsoncodec.MarshalTrusted does.
func checkEncodePage(t *testing.T, p *Page) {
	t.Helper()
	want, err := jsoncodec.MarshalTrusted(p)
	if err != nil {
		t.Fatal(err)
	}
	got, err := encodePage(p)
	if err != nil {
		t.Fatalf("encodePage: %v", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("encodePage wrote\n%s\njsoncodec writes\n%s", got, want)
	}
}

// An answer's bytes are its ETag's and the contract's: encodePage, from the kept details'
// heads, writes the bytes jsoncodec.MarshalTrusted writes for the same page, whatever its
// strings hold (HTML characters, line separators, invalid UTF-8, control characters), with
// null and empty lists and pointers, times off UTC and with nanoseconds, and a page whose
// summaries lack a head (encoded whole).
func TestEncodePageAsMarshalTrusted(t *testing.T) {
	odd := "<Гамлет> & \"Офелия\" \u2028\u2029 \xff\x01 tab\t\\ /"
	msk := time.FixedZone("MSK", 3*3600)
	starts := time.Date(2027, 1, 2, 19, 0, 0, 0, msk)
	ends := time.Date(2027, 1, 2, 21, 30, 0, 123456789, time.UTC)
	asOf := time.Date(2026, 12, 1, 8, 0, 0, 5000, msk)
	plainURL := "https://photos.example/events/1/cover.jpg"
	oddURL, badURL := "https://photos.example/a?b=1&c=<2>", "https://p.example/\xff"
	cursor, oddCursor := "eyJzIjoiMjAyNy0wMS0wMlQxOTowMDowMFoiLCJpIjoxfQ.c2ln", "a<b>&\u2028"
	none, empty, two := (*[]string)(nil), []string{}, []string{"braille", "hearing_loop"}
	var nilList []string
	full := Summary{
		SummaryHead: SummaryHead{ID: 1, Title: odd, Category: "theatre", City: "moscow",
			Venue: VenueRef{ID: 7, Name: odd}, StartsAt: starts, EndsAt: &ends, Timezone: "Europe/Moscow"},
		Accessibility: []string{"step_free_entrance", "elevator"}, CoverURL: &oddURL, Unknown: &two,
		Availability: &Availability{WheelchairSpaces: 2, CompanionSeats: 0, AsOf: asOf},
	}
	bare := Summary{SummaryHead: SummaryHead{ID: 2}}
	pages := map[string]*Page{
		"empty":                     {Items: []Summary{}, AppliedConstraints: []string{}},
		"nil items and constraints": {},
		"full": {Items: []Summary{summaryOf(full)}, NextCursor: &cursor,
			AppliedConstraints: []string{"braille"}},
		"bare": {Items: []Summary{summaryOf(bare)}, NextCursor: &oddCursor, AppliedConstraints: []string{}},
	}
	variants := []func(*Summary){
		func(s *Summary) { s.Accessibility = nil },
		func(s *Summary) { s.Accessibility = []string{} },
		func(s *Summary) { s.CoverURL = &plainURL },
		func(s *Summary) { s.CoverURL = &badURL },
		func(s *Summary) { s.CoverURL = nil },
		func(s *Summary) { s.Unknown = none },
		func(s *Summary) { s.Unknown = &nilList },
		func(s *Summary) { s.Unknown = &empty },
		func(s *Summary) { s.Availability = nil },
		func(s *Summary) {
			s.Availability = &Availability{WheelchairSpaces: -1, CompanionSeats: 1 << 40, AsOf: ends}
		},
		func(s *Summary) { s.EndsAt = nil; s.Title = "" },
		func(s *Summary) { s.Title, s.Venue.Name, s.City = "\u00e9\u0301 \U0001F3AD", "\x00\x1f\x7f", "" },
	}
	items := []Summary{summaryOf(full)}
	for i, v := range variants {
		s := full
		v(&s)
		s = summaryOf(s)
		pages[fmt.Sprintf("variant %d", i)] = &Page{Items: []Summary{s}, AppliedConstraints: nilList}
		items = append(items, s)
	}
	pages["all variants"] = &Page{Items: items, NextCursor: &cursor, AppliedConstraints: two}
	headless := append([]Summary(nil), items...)
	headless[3].head = nil
	pages["a summary without its head"] = &Page{Items: headless, AppliedConstraints: two}
	for name, p := range pages {
		t.Run(name, func(t *testing.T) { checkEncodePage(t, p) })
	}
}

// A time encoding/json cannot write (past year 9999) leaves the summary without a head: the
// page is encoded whole, and fails as jsoncodec fails.
func TestEncodeHeadRefusesWhatJSONCannotWrite(t *testing.T) {
	late := time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)
	s := Summary{SummaryHead: SummaryHead{ID: 1, StartsAt: late}}
	if h := encodeHead(&s); h != nil {
		t.Fatalf("head of a year-10000 summary: %s", h)
	}
	p := &Page{Items: []Summary{s}}
	if _, err := encodePage(p); err == nil {
		t.Fatal("a page with a year-10000 summary encoded without error")
	}
}

// FuzzEncodePage: whatever a page's strings, times and seat counts hold, encodePage writes the
// bytes jsoncodec.MarshalTrusted writes.
func FuzzEncodePage(f *testing.F) {
	f.Add("Гамлет", "https://photos.example/a.jpg", "cursor", "braille", int64(1798916400), int64(0), 2)
	f.Add("<b>&\u2028", "a?b=1&c=<2>", "\xff", "\x00", int64(-62135596800), int64(999999999), -3)
	f.Fuzz(func(t *testing.T, title, url, cursor, code string, sec, nsec int64, seats int) {
		const span = 253402300799 + 62135596800 // years 1-9999
		at := time.Unix((sec%span+span)%span-62135596800, nsec%1e9)
		s := Summary{
			SummaryHead: SummaryHead{ID: sec, Title: title, Category: code, City: title,
				Venue: VenueRef{ID: nsec, Name: url}, StartsAt: at, EndsAt: &at, Timezone: title},
			Accessibility: []string{code, title}, CoverURL: &url, Unknown: &[]string{code},
			Availability: &Availability{WheelchairSpaces: seats, CompanionSeats: -seats, AsOf: at},
		}
		items := []Summary{summaryOf(s), summaryOf(Summary{SummaryHead: SummaryHead{ID: 3}})}
		checkEncodePage(t, &Page{Items: items, NextCursor: &cursor, AppliedConstraints: []string{code}})
	})
}

// BenchmarkEncodePage encodes a page of 20 summaries as kept details give them, from their
// heads (encodePage) and whole (jsoncodec.MarshalTrusted).
func BenchmarkEncodePage(b *testing.B) {
	starts := time.Date(2027, 1, 2, 19, 0, 0, 0, time.UTC)
	url := "https://photos.example/events/1/cover.jpg"
	cursor := "eyJzIjoiMjAyNy0wMS0wMlQxOTowMDowMFoiLCJpIjoxfQ.c2lnbmF0dXJlLW9mLXRoZS1jdXJzb3I"
	p := &Page{NextCursor: &cursor, AppliedConstraints: []string{"step_free_entrance", "braille"}}
	for i := range 20 {
		ends := starts.Add(2 * time.Hour)
		s := Summary{SummaryHead: SummaryHead{ID: int64(100000 + i), Title: "Концерт камерной музыки: вечер романсов и песен",
			Category: "concert", City: "saint-petersburg", Venue: VenueRef{ID: int64(i), Name: "Филармония имени Шостаковича, Малый зал"},
			StartsAt: starts, EndsAt: &ends, Timezone: "Europe/Moscow"},
			Accessibility: []string{"step_free_entrance", "elevator", "wheelchair_seating", "braille"}}
		if i%4 == 0 {
			s.CoverURL = &url
		}
		p.Items = append(p.Items, summaryOf(s))
	}
	b.Run("heads", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := encodePage(p); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("whole", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := jsoncodec.MarshalTrusted(p); err != nil {
				b.Fatal(err)
			}
		}
	})
}
