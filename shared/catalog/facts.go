package catalog

import (
	"bytes"
	"encoding/json"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/dostupno/dostupno/shared/apperr"
	"github.com/dostupno/dostupno/shared/jsoncodec"
)

// Answers to an accessibility question. Only Yes satisfies a constraint; NotApplicable says
// the thing does not exist there ("there is no toilet"), which is neither No ("the toilet is
// not accessible") nor Unknown.
const (
	Yes           = "yes"
	No            = "no"
	Unknown       = "unknown"
	NotApplicable = "not_applicable"
)

// Where an event's effective answer for a code comes from (Effective).
const (
	FromEvent = "event" // the event states it
	FromVenue = "venue" // the event does not; its venue does
	FromNone  = "none"  // neither: unknown
)

// Fact is one accessibility answer with its provenance: who stated it (Source, a short
// lower-case token such as organiser, venue_survey, visitor_report, import_a11yjson) and
// when it was last verified (VerifiedAt, an RFC 3339 date or date-time). On the wire it is
// the bare value ("yes") when it has no provenance, else an object
// {"value","source","verified_at"}; either form is read. A fact without provenance therefore
// encodes exactly as the three-valued sheets of old commands and old rows did.
type Fact struct {
	Value      string
	Source     string
	VerifiedAt string
}

// factObject is the object form of a Fact.
type factObject struct {
	Value      string `json:"value"`
	Source     string `json:"source,omitempty"`
	VerifiedAt string `json:"verified_at,omitempty"`
}

// MaxSource is the longest source token.
const MaxSource = 40

var (
	sourceRE = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)
	dateRE   = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}$`)
)

// MarshalJSON writes the bare value when f has no provenance, else the object form.
func (f Fact) MarshalJSON() ([]byte, error) {
	if f.Source == "" && f.VerifiedAt == "" {
		return json.Marshal(f.Value)
	}
	return json.Marshal(factObject(f))
}

// UnmarshalJSON reads either form; an object with a field it does not know is refused. null
// leaves f as it is; any other JSON value is kept as its text in Value, so that Validate
// names the code at fault (and a decoder goes on to report an unknown field elsewhere).
func (f *Fact) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case len(b) >= 2 && b[0] == '"':
		if bytes.IndexByte(b, '\\') < 0 {
			*f = Fact{Value: string(b[1 : len(b)-1])} // the common case, without escapes
			return nil
		}
		var v string
		if err := json.Unmarshal(b, &v); err != nil {
			return err
		}
		*f = Fact{Value: v}
		return nil
	case len(b) > 0 && b[0] == '{':
		var o factObject
		if err := jsoncodec.DecodeStrict(b, &o); err != nil {
			return err
		}
		*f = Fact(o)
		return nil
	case string(b) == "null":
		return nil
	}
	*f = Fact{Value: string(b)}
	return nil
}

// Stated reports whether v states something about the place: yes, no or not_applicable.
func Stated(v string) bool { return v == Yes || v == No || v == NotApplicable }

// normalize puts a date-time VerifiedAt in UTC, so that equal facts encode alike; a date stays
// a date.
func (f *Fact) normalize() {
	f.Source = strings.TrimSpace(f.Source)
	f.VerifiedAt = strings.TrimSpace(f.VerifiedAt)
	if f.VerifiedAt == "" || dateRE.MatchString(f.VerifiedAt) {
		return
	}
	if t, err := time.Parse(time.RFC3339Nano, f.VerifiedAt); err == nil {
		f.VerifiedAt = t.UTC().Format(time.RFC3339Nano)
	}
}

func (f Fact) validate(field string) error {
	if f.Value != Yes && f.Value != No && f.Value != Unknown && f.Value != NotApplicable {
		return apperr.Invalid(field, `%s must be "yes", "no", "unknown", "not_applicable" or an object {"value", "source", "verified_at"}`, field)
	}
	if f.Source != "" && (len(f.Source) > MaxSource || !sourceRE.MatchString(f.Source)) {
		return apperr.Invalid(field+".source", "%s.source must be a lower-case token of at most %d letters, digits and underscores, such as venue_survey", field, MaxSource)
	}
	if f.VerifiedAt != "" {
		t, err := parseVerified(f.VerifiedAt)
		if err != nil || t.Year() < 1900 || t.Year() >= 2200 {
			return apperr.Invalid(field+".verified_at", "%s.verified_at must be an RFC 3339 date or date-time such as 2026-05-01", field)
		}
	}
	return nil
}

func parseVerified(s string) (time.Time, error) {
	if dateRE.MatchString(s) {
		return time.Parse(time.DateOnly, s)
	}
	return time.Parse(time.RFC3339Nano, s)
}

// Facts are accessibility answers by constraint code. They encode as a JSON object with
// sorted keys, each fact as Fact.MarshalJSON writes it (what encoding/json writes for the map),
// and decode from either form of each fact, without reflection per fact on an import's hot
// path.
type Facts map[string]Fact

// MarshalJSON writes fs as encoding/json writes the map.
func (fs Facts) MarshalJSON() ([]byte, error) { return appendSheet(nil, fs) }

// UnmarshalJSON reads an object of facts: the common sheet of bare values directly, anything
// else (provenance objects, escapes) through Fact.UnmarshalJSON. null leaves fs as it is.
func (fs *Facts) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if string(b) == "null" {
		return nil
	}
	m := Facts{}
	if !scanPlain(b, m) {
		var all map[string]Fact
		if err := json.Unmarshal(b, &all); err != nil {
			return err
		}
		m = all
	}
	*fs = m
	return nil
}

// scanPlain reads b into m when it is an object whose keys and values are all strings without
// escapes (a sheet of bare values); it reports false for anything else.
func scanPlain(b []byte, m Facts) bool {
	i := 0
	space := func() {
		for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
			i++
		}
	}
	str := func() (string, bool) {
		if i >= len(b) || b[i] != '"' {
			return "", false
		}
		end := bytes.IndexByte(b[i+1:], '"')
		if end < 0 {
			return "", false
		}
		s := b[i+1 : i+1+end]
		if bytes.IndexByte(s, '\\') >= 0 || !utf8.Valid(s) {
			return "", false
		}
		i += end + 2
		return string(s), true
	}
	space()
	if i >= len(b) || b[i] != '{' {
		return false
	}
	i++
	space()
	if i < len(b) && b[i] == '}' {
		i++
		space()
		return i == len(b)
	}
	for {
		space()
		k, ok := str()
		if !ok {
			return false
		}
		space()
		if i >= len(b) || b[i] != ':' {
			return false
		}
		i++
		space()
		v, ok := str()
		if !ok {
			return false
		}
		m[k] = Fact{Value: v}
		space()
		if i < len(b) && b[i] == ',' {
			i++
			continue
		}
		if i < len(b) && b[i] == '}' {
			i++
			space()
			return i == len(b)
		}
		return false
	}
}

// Normalize drops unknown answers (a missing code is unknown, whoever said so) and normalises
// the rest, so that equal sheets have equal encodings.
func (fs Facts) Normalize() {
	for k, f := range fs {
		switch {
		case f.Value == Unknown:
			delete(fs, k)
		case f.Source != "" || f.VerifiedAt != "": // a bare value has nothing to normalise
			f.normalize()
			fs[k] = f
		}
	}
}

// Validate checks every answer; field is where fs sits ("accessibility",
// "venue.accessibility"), and the error names the first code at fault in name order.
func (fs Facts) Validate(field string) error {
	var stack [24]string
	keys := stack[:0]
	for k := range fs {
		keys = append(keys, k)
	}
	slices.Sort(keys) // the first fault reported is the same every time
	for _, k := range keys {
		f := field + "." + k
		if !slices.Contains(Codes, k) {
			if !utf8.ValidString(k) || len(k) > 64 {
				f = field
			}
			return apperr.Invalid(f, "unknown accessibility code %q; see GET /function/search-events/constraints", truncate(k, 64))
		}
		if err := fs[k].validate(f); err != nil {
			return err
		}
	}
	return nil
}

// Effective is an event's answer for code given its own facts and its venue's: its own when
// it states one (yes, no or not_applicable), else its venue's when that states one, else
// unknown; from says which (FromEvent, FromVenue, FromNone).
func Effective(code string, own, venue Facts) (f Fact, from string) {
	if f, ok := own[code]; ok && Stated(f.Value) {
		return f, FromEvent
	}
	if f, ok := venue[code]; ok && Stated(f.Value) {
		return f, FromVenue
	}
	return Fact{Value: Unknown}, FromNone
}

// effectiveIDs are EffectiveSets as the vocabulary's ids, ascending (the index's form).
func (v *Vocabulary) effectiveIDs(own, venue Facts) (yes, excluded []int16) {
	for _, c := range Codes {
		f, _ := Effective(c, own, venue)
		switch f.Value {
		case Yes:
			yes = append(yes, v.byCode[c].ID)
		case No, NotApplicable:
			excluded = append(excluded, v.byCode[c].ID)
		}
	}
	slices.Sort(yes)
	slices.Sort(excluded)
	return yes, excluded
}

// EffectiveSets are the codes an event effectively answers yes, and those it answers no or
// not_applicable (the ones a lenient search excludes), each in catalog order.
func EffectiveSets(own, venue Facts) (yes, excluded []string) {
	for _, c := range Codes {
		f, _ := Effective(c, own, venue)
		switch f.Value {
		case Yes:
			yes = append(yes, c)
		case No, NotApplicable:
			excluded = append(excluded, c)
		}
	}
	return yes, excluded
}

// Answers are facts without provenance: code to value.
func Answers(m map[string]string) Facts {
	fs := make(Facts, len(m))
	for k, v := range m {
		fs[k] = Fact{Value: v}
	}
	return fs
}
