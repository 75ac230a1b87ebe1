// Package search is the read side of the catalog: it parses a search question (operation
// searchEvents of shared/apidoc/openapi.yaml), runs it on the accessibility index with keyset
// pages and an opaque, checked cursor, and loads one event with its full sheet for
// get-event. It builds both answers as cache entries (SearchEntry, EventEntry), names their
// cache keys and key kinds, answers those keys for snapshots and warm starts (Sources), and
// names the personalisation seam (NeedsSource).
package search

import (
	"context"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/dostupno/dostupno/shared/apperr"
	"github.com/dostupno/dostupno/shared/catalog"
)

// Limits of a question.
const (
	DefaultLimit  = 20
	MaxLimit      = 100
	MaxCategories = 50
	MaxQueryRunes = 300  // q, after trimming
	MaxParamBytes = 4096 // any one raw parameter value
	MaxRawQuery   = 16 << 10
)

// Query is a parsed, normalised search question.
type Query struct {
	Codes       []string // required codes (constraints, profile, saved needs), catalog order
	IDs         []int16  // their ids, ascending
	City        string
	Categories  []string // sorted, without repeats
	From        time.Time
	FromDefault bool // from was not given: it is now, truncated to the minute
	To          *time.Time
	Text        string // q, trimmed, inner blanks collapsed
	Limit       int
	// Lenient (match=lenient) accepts unknown as well as yes for every required code; a
	// strict question (the default) accepts yes alone.
	Lenient bool
	// WheelchairSpaces and CompanionSeats (wheelchair_spaces, companion_seats), when above 0,
	// require a reported count of at least that many free (Seats).
	WheelchairSpaces, CompanionSeats int
	After                            *Position // from the cursor
	Cursor                           string    // the cursor as given (checked against the fingerprint by Check)

	// Asked is true when constraints or profile was given; Personalize is false when
	// personalize=false was given. Saved needs apply only when !Asked && Personalize.
	Asked       bool
	Personalize bool

	// probe, set by a text search for the reads of the text index and of the week keys, are
	// the words of Text whose lists those reads read (shared/search/probe.go); "": all.
	probe string
	// lexemes, set by a text search for its reads of the week keys (withLexemes), are the
	// lexemes of the probe's words, else of Text, as to_tsvector makes them.
	lexemes []string
	// dense, set by a text search for a text its route says is dense (route.dense), makes its
	// window test each row's text rather than its signature first (signed).
	dense bool
	// keep, set by SearchWith when the instance keeps its pages' details (KeptDetails), makes
	// every read of a page's rows read the details' generation with them (withGeneration):
	// keepFull with their details where the plan reads them (withDetails), keepLean without.
	keep keepMode
}

// Position is a place in the answer order (starts_at, id).
type Position struct {
	StartsAt time.Time
	ID       int64
}

var single = []string{"profile", "city", "from", "to", "q", "limit", "cursor", "personalize", "match", "wheelchair_spaces", "companion_seats"}

// MaxSeatsAsked is the most seats of one kind a search may ask for.
const MaxSeatsAsked = 1000

// ParseQuery parses the raw query string of a search at time now. Errors are invalid_argument
// naming the parameter at fault. The cursor is decoded but only checked against the question
// by Check, once saved needs have been applied.
func ParseQuery(raw string, vocab *catalog.Vocabulary, now time.Time) (Query, error) {
	if len(raw) > MaxRawQuery {
		return Query{}, apperr.New(apperr.InvalidArgument, "the query string is longer than %d bytes", MaxRawQuery)
	}
	vals, err := url.ParseQuery(raw)
	if err != nil {
		return Query{}, apperr.New(apperr.InvalidArgument, "the query string is malformed")
	}
	for k, vs := range vals {
		for _, v := range vs {
			if !utf8.ValidString(v) || !utf8.ValidString(k) {
				return Query{}, apperr.Invalid(fieldName(k), "%s is not valid UTF-8", fieldName(k))
			}
			if len(v) > MaxParamBytes {
				return Query{}, apperr.Invalid(fieldName(k), "%s is longer than %d bytes", fieldName(k), MaxParamBytes)
			}
		}
	}
	for _, k := range single {
		if vs := vals[k]; len(vs) > 1 {
			return Query{}, apperr.Invalid(k, "%s is given %d times; give it once", k, len(vs))
		}
	}
	q := Query{Limit: DefaultLimit, Personalize: true}

	codes, err := list(vals["constraints"], len(catalog.Codes), "constraints", "constraint codes")
	if err != nil {
		return Query{}, err
	}
	for _, c := range codes {
		if _, ok := vocab.Constraint(c); !ok {
			return Query{}, apperr.Invalid("constraints", "unknown constraint code %q; see GET /function/search-events/constraints", short(c))
		}
	}
	q.Asked = len(vals["constraints"]) > 0
	if p := strings.ToLower(strings.TrimSpace(vals.Get("profile"))); p != "" {
		prof, ok := vocab.Profile(p)
		if !ok {
			return Query{}, apperr.Invalid("profile", "unknown profile %q; see GET /function/search-events/constraints", short(p))
		}
		codes = append(codes, prof.Constraints...)
		q.Asked = true
	}
	q.SetCodes(vocab, codes)

	if c := strings.ToLower(strings.TrimSpace(vals.Get("city"))); c != "" {
		if !catalog.ValidSlug(c) {
			return Query{}, apperr.Invalid("city", "city must be a slug such as \"moscow\"")
		}
		q.City = c
	}
	cats, err := list(vals["category"], MaxCategories, "category", "categories")
	if err != nil {
		return Query{}, err
	}
	for _, c := range cats {
		if !catalog.ValidSlug(c) {
			return Query{}, apperr.Invalid("category", "category %q is not a slug such as \"concert\"", short(c))
		}
	}
	slices.Sort(cats)
	q.Categories = slices.Compact(cats)

	if s := strings.TrimSpace(vals.Get("from")); s != "" {
		if q.From, err = parseTime(s); err != nil {
			return Query{}, apperr.Invalid("from", "from must be an RFC 3339 time such as 2026-12-01T16:00:00Z")
		}
	} else {
		q.From, q.FromDefault = now.UTC().Truncate(time.Minute), true
	}
	if s := strings.TrimSpace(vals.Get("to")); s != "" {
		to, err := parseTime(s)
		if err != nil {
			return Query{}, apperr.Invalid("to", "to must be an RFC 3339 time such as 2026-12-31T00:00:00Z")
		}
		if !to.After(q.From) {
			return Query{}, apperr.Invalid("to", "to must be later than from (%s)", q.From.Format(time.RFC3339))
		}
		q.To = &to
	}

	if q.Text, err = text(vals.Get("q")); err != nil {
		return Query{}, err
	}
	if s := strings.TrimSpace(vals.Get("limit")); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > MaxLimit {
			return Query{}, apperr.Invalid("limit", "limit must be an integer 1..%d", MaxLimit)
		}
		q.Limit = n
	}
	switch m := strings.ToLower(strings.TrimSpace(vals.Get("match"))); m {
	case "", "strict":
	case "lenient":
		q.Lenient = true
	default:
		return Query{}, apperr.Invalid("match", "match must be strict or lenient")
	}
	for _, c := range []struct {
		name string
		dst  *int
	}{{"wheelchair_spaces", &q.WheelchairSpaces}, {"companion_seats", &q.CompanionSeats}} {
		if s := strings.TrimSpace(vals.Get(c.name)); s != "" {
			n, err := strconv.Atoi(s)
			if err != nil || n < 0 || n > MaxSeatsAsked {
				return Query{}, apperr.Invalid(c.name, "%s must be an integer 0..%d", c.name, MaxSeatsAsked)
			}
			*c.dst = n
		}
	}
	switch p := strings.ToLower(strings.TrimSpace(vals.Get("personalize"))); p {
	case "", "true", "1":
	case "false", "0":
		q.Personalize = false
	default:
		return Query{}, apperr.Invalid("personalize", "personalize must be true or false")
	}
	if c := vals.Get("cursor"); c != "" {
		pos, err := decodeCursor(c)
		if err != nil {
			return Query{}, err
		}
		q.After, q.Cursor = &pos, c
	}
	return q, nil
}

// Seats reports whether q asks for free seats (a reported count of at least so many).
func (q *Query) Seats() bool { return q.WheelchairSpaces > 0 || q.CompanionSeats > 0 }

// timeAndCityAlone says whether q filters its rows by time and city alone (besides seats): no
// constraint codes, no categories. Such a question's matches of its text are the text index's
// (which holds the city) and the week keys' (which hold the week and city) within its time.
func (q *Query) timeAndCityAlone() bool { return len(q.IDs) == 0 && len(q.Categories) == 0 }

// begin is where q's rows start in time: its cursor's start, else its from.
func (q *Query) begin() time.Time {
	if q.After != nil {
		return q.After.StartsAt
	}
	return q.From
}

// allWords says whether q's text requires every word it holds, and how many words that is:
// websearch_to_tsquery makes an AND of a text's words (and a phrase of a hyphenated word's
// parts) unless the text quotes a phrase, says "or", or puts a minus before a word. Only such a
// text may read its matches through the week keys (searchWeeks, migration 036), which ask
// for every word. The test is strict: a word of letters and digits, joined by single inner
// hyphens, and no word "or"; any other character, though websearch_to_tsquery may ignore it,
// answers false, and the search takes its other steps.
func (q *Query) allWords() (words int, ok bool) {
	if q.Text == "" {
		return 0, false
	}
	for _, w := range strings.Split(q.Text, " ") {
		if strings.EqualFold(w, "or") {
			return 0, false
		}
		prev := '-' // a word may not start with a hyphen
		for _, r := range w {
			if r == '-' && prev == '-' || r != '-' && !unicode.IsLetter(r) && !unicode.IsDigit(r) {
				return 0, false
			}
			prev = r
		}
		if prev == '-' {
			return 0, false // nor end with one
		}
		words++
	}
	return words, true
}

// SetCodes makes codes (known codes, any order, repeats allowed) the required constraints.
func (q *Query) SetCodes(vocab *catalog.Vocabulary, codes []string) {
	q.IDs = vocab.IDs(codes)
	q.Codes = vocab.CodesOf(q.IDs)
}

// parseTime reads RFC 3339 (with or without fractional seconds) into UTC, refusing years
// Postgres and the contract do not use.
func parseTime(s string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, err
	}
	if t.Year() < 1900 || t.Year() > 9000 {
		return time.Time{}, strconv.ErrRange
	}
	return t.UTC(), nil
}

// list splits comma lists (the parameter may also be repeated), lower-cases and trims the
// items, drops empty ones and refuses more than max.
func list(vals []string, max int, field, what string) ([]string, error) {
	var out []string
	for _, v := range vals {
		for _, item := range strings.Split(v, ",") {
			item = strings.ToLower(strings.TrimSpace(item))
			if item == "" {
				continue
			}
			if len(out) == max {
				return nil, apperr.Invalid(field, "at most %d %s", max, what)
			}
			out = append(out, item)
		}
	}
	return out, nil
}

// text normalises q: control characters become blanks, blanks are collapsed; over
// MaxQueryRunes is refused.
func text(s string) (string, error) {
	s = strings.Join(strings.FieldsFunc(s, func(r rune) bool {
		return unicode.IsSpace(r) || unicode.IsControl(r) || r == utf8.RuneError
	}), " ")
	if n := utf8.RuneCountInString(s); n > MaxQueryRunes {
		return "", apperr.Invalid("q", "q must be at most %d characters, got %d", MaxQueryRunes, n)
	}
	return s, nil
}

// fieldName is the field reported for a parameter name that may itself be hostile.
func fieldName(k string) string {
	if slices.Contains(single, k) || k == "constraints" || k == "category" {
		return k
	}
	return "query"
}

func short(s string) string {
	if len(s) <= 64 {
		return s
	}
	for i := 64; i > 0; i-- {
		if utf8.RuneStart(s[i]) {
			return s[:i] + "…"
		}
	}
	return ""
}

// NeedsSource gives the saved needs of a user: ok is false for a user it does not know.
// search-events asks it for the user of a verified token, and only when neither constraints
// nor profile is given and personalize is not false.
type NeedsSource interface {
	Needs(ctx context.Context, userID string) (codes []string, ok bool, err error)
}
