package search

import (
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dostupno/dostupno/shared/apperr"
	"github.com/dostupno/dostupno/shared/catalog"
	"github.com/dostupno/dostupno/shared/changefeed"
)

var now = time.Date(2030, 3, 1, 10, 17, 42, 0, time.UTC)

// testVocab is the vocabulary of migration 001 without a database: ids 1..18 in catalog order
// and two of its profiles.
func testVocab(t testing.TB) *catalog.Vocabulary {
	t.Helper()
	var cons []catalog.Constraint
	for i, c := range catalog.Codes {
		cons = append(cons, catalog.Constraint{ID: int16(i + 1), Code: c})
	}
	v, err := catalog.NewVocabulary(cons, []catalog.Profile{
		{Code: "wheelchair", MGN: "К", Constraints: []string{"step_free_entrance", "wheelchair_seating", "accessible_toilet"}},
		{Code: "hearing", MGN: "Г", Constraints: []string{"sign_language"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestParseQuery(t *testing.T) {
	v := testVocab(t)
	q, err := ParseQuery("constraints=braille,Step_Free_Entrance,braille&profile=hearing&city=Kazan&category=show,concert,show"+
		"&to=2030-04-01T00:00:00%2B03:00&q=%20%D0%9A%D0%BE%D0%BD%D1%86%D0%B5%D1%80%D1%82%0A%20jazz%20&limit=5&unknown=ignored", v, now)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"step_free_entrance", "braille", "sign_language"}; !slices.Equal(q.Codes, want) {
		t.Fatalf("got codes %v, want %v (catalog order, no repeats)", q.Codes, want)
	}
	if want := []int16{1, 8, 12}; !slices.Equal(q.IDs, want) {
		t.Fatalf("got ids %v, want %v", q.IDs, want)
	}
	if q.City != "kazan" || !slices.Equal(q.Categories, []string{"concert", "show"}) || q.Limit != 5 || q.Text != "Концерт jazz" {
		t.Fatalf("got %+v, want kazan, [concert show], limit 5, q collapsed", q)
	}
	if !q.FromDefault || !q.From.Equal(time.Date(2030, 3, 1, 10, 17, 0, 0, time.UTC)) {
		t.Fatalf("got from %v (default %v), want now truncated to the minute", q.From, q.FromDefault)
	}
	if q.To == nil || !q.To.Equal(time.Date(2030, 3, 31, 21, 0, 0, 0, time.UTC)) || q.To.Location() != time.UTC {
		t.Fatalf("got to %v, want 2030-03-31T21:00:00Z", q.To)
	}
	if !q.Asked || !q.Personalize || q.Lenient {
		t.Fatalf("got asked %v personalize %v lenient %v, want true, true, false", q.Asked, q.Personalize, q.Lenient)
	}
	for _, tt := range []struct {
		raw    string
		ws, cs int
		field  string
	}{{"wheelchair_spaces=2&companion_seats=1", 2, 1, ""}, {"wheelchair_spaces=0", 0, 0, ""}, {"wheelchair_spaces=-1", 0, 0, "wheelchair_spaces"},
		{"companion_seats=1001", 0, 0, "companion_seats"}, {"companion_seats=x", 0, 0, "companion_seats"},
		{"wheelchair_spaces=1&wheelchair_spaces=2", 0, 0, "wheelchair_spaces"}} {
		q, err := ParseQuery(tt.raw, v, now)
		if tt.field != "" {
			if apperr.As(err).Field != tt.field {
				t.Errorf("%s: got %v, want an error naming %s", tt.raw, err, tt.field)
			}
			continue
		}
		if err != nil || q.WheelchairSpaces != tt.ws || q.CompanionSeats != tt.cs {
			t.Errorf("%s: got %d %d, %v; want %d %d", tt.raw, q.WheelchairSpaces, q.CompanionSeats, err, tt.ws, tt.cs)
		}
	}
	for _, tt := range []struct {
		raw     string
		lenient bool
		err     bool
	}{{"match=strict", false, false}, {"match=Lenient", true, false}, {"match=", false, false},
		{"match=loose", false, true}, {"match=lenient&match=strict", false, true}} {
		q, err := ParseQuery(tt.raw, v, now)
		if (err != nil) != tt.err || err == nil && q.Lenient != tt.lenient {
			t.Errorf("%s: got lenient %v, %v; want lenient %v, error %v", tt.raw, q.Lenient, err, tt.lenient, tt.err)
		}
		if err != nil && apperr.As(err).Field != "match" {
			t.Errorf("%s: got %v, want field match", tt.raw, err)
		}
	}
}

func TestCacheKeyReadsBackToTheSameQuestion(t *testing.T) {
	v := testVocab(t)
	first, err := ParseQuery("city=moscow&limit=2&profile=wheelchair", v, now)
	if err != nil {
		t.Fatal(err)
	}
	cursor := first.NextCursor(Position{StartsAt: now.Add(time.Hour), ID: 9})
	for _, raw := range []string{
		"constraints=hearing_loop,braille&city=Moscow&category=b,a&q=Jazz+Club&to=2031-01-01T00:00:00Z&from=2030-01-01T00:00:00Z",
		"profile=wheelchair&city=moscow&limit=2&cursor=" + url.QueryEscape(cursor),
		"",
		"profile=wheelchair&match=lenient",
		"profile=wheelchair&wheelchair_spaces=2&companion_seats=0&match=lenient",
	} {
		q, err := ParseQuery(raw, v, now)
		if err != nil {
			t.Fatal(err)
		}
		if err := q.Check(); err != nil {
			t.Fatalf("%s: %v", raw, err)
		}
		key := q.CacheKey()
		kind, rest, _ := strings.Cut(key, ":")
		again, err := ParseQuery(rest, v, now.Add(3*time.Minute))
		if err != nil || again.Check() != nil {
			t.Fatalf("got %v, %v reading key %q back, want the question", err, again.Check(), key)
		}
		if kind != "search" || again.CacheKey() != key || again.Personalize || again.Lenient != q.Lenient {
			t.Fatalf("got key %q from %q, want %q, personalize off and the same match", again.CacheKey(), key, key)
		}
	}
	strict, _ := ParseQuery("profile=wheelchair", v, now)
	lenient, _ := ParseQuery("profile=wheelchair&match=lenient", v, now)
	if strict.CacheKey() == lenient.CacheKey() || strings.Contains(strict.CacheKey(), "match") {
		t.Fatalf("got keys %q and %q, want them apart and the strict one as before lenient questions", strict.CacheKey(), lenient.CacheKey())
	}
}

func TestCursor(t *testing.T) {
	v := testVocab(t)
	parse := func(raw string) Query {
		q, err := ParseQuery(raw, v, now)
		if err != nil {
			t.Fatal(err)
		}
		return q
	}
	q := parse("city=moscow")
	c := q.NextCursor(Position{StartsAt: time.Date(2030, 5, 1, 1, 2, 3, 456789000, time.UTC), ID: 42})
	tests := []struct {
		name  string
		raw   string
		check bool
	}{
		{"OKSameQuestion", "city=moscow&cursor=" + c, true},
		{"OKSameQuestionOtherLimitLaterNow", "city=moscow&limit=50&cursor=" + c, true},
		{"ErrOtherCity", "city=kazan&cursor=" + c, false},
		{"ErrAddedConstraint", "city=moscow&constraints=braille&cursor=" + c, false},
		{"ErrFromGiven", "city=moscow&from=2030-01-01T00:00:00Z&cursor=" + c, false},
		{"ErrOtherMatch", "city=moscow&match=lenient&cursor=" + c, false},
		{"OKStrictNamed", "city=moscow&match=strict&cursor=" + c, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q := parse(tt.raw)
			err := q.Check()
			if (err == nil) != tt.check {
				t.Fatalf("got %v, want ok=%v", err, tt.check)
			}
			if err == nil && (q.After.ID != 42 || q.After.StartsAt.Nanosecond() != 456789000) {
				t.Fatalf("got position %+v, want id 42 at µs precision", q.After)
			}
			if err != nil && apperr.As(err).Field != "cursor" {
				t.Fatalf("got %v, want field cursor", err)
			}
		})
	}
}

func TestMatches(t *testing.T) {
	v := testVocab(t)
	q, err := ParseQuery("constraints=braille&city=moscow&category=concert,show&from=2030-03-01T00:00:00Z&to=2030-04-01T00:00:00Z", v, now)
	if err != nil {
		t.Fatal(err)
	}
	in := changefeed.Event{ID: 1, City: "moscow", Category: "show", StartsAt: time.Date(2030, 3, 5, 0, 0, 0, 0, time.UTC), Constraints: []string{"elevator", "braille"}}
	type matchCase struct {
		name string
		edit func(*changefeed.Event)
		want bool
	}
	tests := []matchCase{
		{"OKFits", func(*changefeed.Event) {}, true},
		{"OtherCity", func(e *changefeed.Event) { e.City = "kazan" }, false},
		{"OtherCategory", func(e *changefeed.Event) { e.Category = "theatre" }, false},
		{"BeforeFrom", func(e *changefeed.Event) { e.StartsAt = q.From.Add(-time.Second) }, false},
		{"AtTo", func(e *changefeed.Event) { e.StartsAt = *q.To }, false},
		{"LacksConstraint", func(e *changefeed.Event) { e.Constraints = []string{"elevator"} }, false},
		{"Deleted", func(e *changefeed.Event) { e.Deleted = true }, false},
		{"SummaryReachingIntoTheWindow", func(e *changefeed.Event) {
			e.StartsAt, e.Until = q.From.Add(-48*time.Hour), q.From.Add(time.Hour)
		}, true},
		{"SummaryBeforeTheWindow", func(e *changefeed.Event) {
			e.StartsAt, e.Until = q.From.Add(-48*time.Hour), q.From.Add(-time.Hour)
		}, false},
		// A change of seats alone cannot bring an event into a question that asks for none.
		{"SeatsAlone", func(e *changefeed.Event) { e.Seats = &changefeed.Seats{WheelchairSpaces: 3, CompanionSeats: 3} }, false},
	}
	seated := q
	seated.WheelchairSpaces, seated.CompanionSeats = 2, 1
	seatedTests := []matchCase{
		{"OKEnough", func(e *changefeed.Event) { e.Seats = &changefeed.Seats{WheelchairSpaces: 2, CompanionSeats: 1} }, true},
		{"OKOtherChange", func(*changefeed.Event) {}, true}, // its seats unknown here: dropped
		{"TooFewWheelchair", func(e *changefeed.Event) { e.Seats = &changefeed.Seats{WheelchairSpaces: 1, CompanionSeats: 5} }, false},
		{"TooFewCompanion", func(e *changefeed.Event) { e.Seats = &changefeed.Seats{WheelchairSpaces: 5} }, false},
		{"EnoughButOtherCity", func(e *changefeed.Event) {
			e.City, e.Seats = "kazan", &changefeed.Seats{WheelchairSpaces: 5, CompanionSeats: 5}
		}, false},
	}
	lenient := q
	lenient.Lenient = true
	lenientTests := []matchCase{
		{"OKYes", func(*changefeed.Event) {}, true},
		{"OKUnknown", func(e *changefeed.Event) { e.Constraints = nil }, true},
		{"Excluded", func(e *changefeed.Event) { e.Constraints, e.Excluded = nil, []string{"braille"} }, false},
		{"OtherExcluded", func(e *changefeed.Event) { e.Excluded = []string{"elevator"} }, true},
	}
	for _, g := range []struct {
		prefix string
		q      Query
		cases  []matchCase
	}{{"", q, tests}, {"Seats", seated, seatedTests}, {"Lenient", lenient, lenientTests}} {
		for _, tt := range g.cases {
			t.Run(g.prefix+tt.name, func(t *testing.T) {
				e := in
				tt.edit(&e)
				if got := g.q.Matches(e); got != tt.want {
					t.Fatalf("got %v, want %v", got, tt.want)
				}
			})
		}
	}
}

// FuzzParseQuery: any query string is either a question or an invalid_argument error, never a
// panic or an internal error; a question's SQL binds every value and its cache key reads back.
func FuzzParseQuery(f *testing.F) {
	for _, s := range []string{
		"", "constraints=braille,elevator&city=moscow&limit=10", "profile=wheelchair&q=концерт",
		"from=2030-01-01T00:00:00Z&to=2030-02-01T00:00:00Z", "cursor=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
		"q=%ff", "category=a,b,c&category=d", "q=';DROP TABLE events;--", "limit=-1", "personalize=false",
		"city=%00", "q=a%00b", "from=9999-12-31T23:59:59Z", "profile=wheelchair&match=lenient",
		"q=гамлет+or+космос", "q=-гамлет+космос", "q=%22гамлет+космос%22", "q=кто-то+2-й", "q=a--b+c-",
	} {
		f.Add(s)
	}
	v := testVocab(f)
	f.Fuzz(func(t *testing.T, raw string) {
		q, err := ParseQuery(raw, v, now)
		if err == nil {
			err = q.Check()
		}
		if err != nil {
			if c := apperr.CodeOf(err); c != apperr.InvalidArgument {
				t.Fatalf("ParseQuery(%q): got %s (%v), want invalid_argument", raw, c, err)
			}
			return
		}
		if q.Limit < 1 || q.Limit > MaxLimit || len(q.Codes) > len(catalog.Codes) || len(q.Categories) > MaxCategories {
			t.Fatalf("ParseQuery(%q): got %+v, want bounds kept", raw, q)
		}
		if strings.ContainsRune(q.Text, 0) || strings.ContainsRune(q.City, 0) {
			t.Fatalf("ParseQuery(%q): got a NUL in text or city", raw)
		}
		// The SQL text depends on which filters are present, never on their values (but a
		// walk's limit, an integer, see PageSQL, and whether a text requires all its words,
		// whose window tests the rows' text signatures first: signed).
		sql, _ := PageSQL(&q)
		other := q
		other.City, other.Text = strings.Repeat("x", len(q.City)), strings.Repeat("y", len(q.Text))
		if _, all := q.allWords(); !all && q.Text != "" {
			other.Text = "y or " + other.Text
		}
		other.Categories = slices.Repeat([]string{"z"}, len(q.Categories))
		if otherSQL, _ := PageSQL(&other); otherSQL != sql {
			t.Fatalf("ParseQuery(%q): the SQL text depends on the values:\n%s\n%s", raw, sql, otherSQL)
		}
		// A text taken as all words (the week keys, searchWeeks) holds no operator of
		// websearch_to_tsquery; the week read's SQL text binds the text and its lexemes' keys
		// too (as many conditions as lexemes, whatever they are).
		if words, ok := q.allWords(); ok {
			for _, w := range strings.Fields(q.Text) {
				if strings.EqualFold(w, "or") || strings.HasPrefix(w, "-") || strings.ContainsRune(w, '"') {
					t.Fatalf("ParseQuery(%q): %q taken as all words, with the operator %q", raw, q.Text, w)
				}
			}
			if words != len(strings.Fields(q.Text)) {
				t.Fatalf("ParseQuery(%q): %d words in %q", raw, words, q.Text)
			}
			until := q.From.AddDate(0, 1, 0)
			mq, mo := q, other
			mq.To, mo.To = &until, &until
			mq.lexemes = strings.Fields(q.Text)
			mo.lexemes = slices.Repeat([]string{"z"}, len(mq.lexemes))
			a, _ := statement(&mq, week)
			if b, _ := statement(&mo, week); a != b {
				t.Fatalf("ParseQuery(%q): the week read's SQL text depends on the values", raw)
			}
		}
		_, rest, _ := strings.Cut(q.CacheKey(), ":")
		again, err := ParseQuery(rest, v, now)
		if err != nil || again.Check() != nil || again.CacheKey() != q.CacheKey() {
			t.Fatalf("ParseQuery(%q): key %q does not read back (%v)", raw, q.CacheKey(), err)
		}
	})
}
