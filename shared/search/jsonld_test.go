package search

import (
	"compress/gzip"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dostupno/dostupno/shared/catalog"
)

// schemaOrg is the part of the schema.org vocabulary a check of JSON-LD needs.
type schemaOrg struct {
	super   map[string][]string // class -> its direct superclasses
	typeOf  map[string][]string // enumeration member -> its types
	domains map[string][]string // property -> domainIncludes
	ranges  map[string][]string // property -> rangeIncludes
}

// loadSchemaOrg reads testdata's copy of schema.org 30.0 (testdata/README.md).
func loadSchemaOrg(t *testing.T) *schemaOrg {
	t.Helper()
	f, err := os.Open("testdata/schemaorg-30.0-current-https.jsonld.gz")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Graph []map[string]any `json:"@graph"`
	}
	if err := json.NewDecoder(zr).Decode(&doc); err != nil {
		t.Fatal(err)
	}
	// one is the id of a node reference: a string or an object's @id.
	one := func(v any) (string, bool) {
		switch x := v.(type) {
		case string:
			return x, true
		case map[string]any:
			id, ok := x["@id"].(string)
			return id, ok
		}
		return "", false
	}
	// ids are the ids of a value: one reference or an array of them (arrays are not nested).
	ids := func(v any) []string {
		var out []string
		if id, ok := one(v); ok {
			out = append(out, id)
		}
		if x, ok := v.([]any); ok {
			for _, e := range x {
				if id, ok := one(e); ok {
					out = append(out, id)
				}
			}
		}
		for i, s := range out {
			out[i] = strings.TrimPrefix(s, "schema:")
		}
		return out
	}
	s := &schemaOrg{super: map[string][]string{}, typeOf: map[string][]string{}, domains: map[string][]string{}, ranges: map[string][]string{}}
	for _, n := range doc.Graph {
		id := ids(n["@id"])[0]
		if !strings.HasPrefix(n["@id"].(string), "schema:") {
			continue
		}
		types := ids(n["@type"])
		switch {
		case slices.Contains(types, "rdfs:Class"):
			s.super[id] = ids(n["rdfs:subClassOf"])
		case slices.Contains(types, "rdf:Property"):
			s.domains[id], s.ranges[id] = ids(n["schema:domainIncludes"]), ids(n["schema:rangeIncludes"])
		default:
			s.typeOf[id] = types
		}
	}
	if len(s.super) < 500 || len(s.domains) < 1000 {
		t.Fatalf("got %d classes and %d properties, want the whole vocabulary", len(s.super), len(s.domains))
	}
	return s
}

// is reports whether class is want or one of its subclasses.
func (s *schemaOrg) is(class, want string) bool {
	if class == want {
		return true
	}
	for _, sup := range s.super[class] {
		if s.is(sup, want) {
			return true
		}
	}
	return false
}

func (s *schemaOrg) isAny(class string, want []string) bool {
	return slices.ContainsFunc(want, func(w string) bool { return s.is(class, w) })
}

var (
	dateRE     = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}$`)
	dateTimeRE = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$`)
)

// check reports every use in node (an object of type typ, at path) that schema.org does not
// allow: an unknown type or property, a property outside its domainIncludes, a value outside
// its rangeIncludes.
func (s *schemaOrg) check(path string, node map[string]any) []string {
	var faults []string
	typ, _ := node["@type"].(string)
	if _, ok := s.super[typ]; !ok {
		return []string{fmt.Sprintf("%s: @type %q is no schema.org type", path, typ)}
	}
	for prop, v := range node {
		if strings.HasPrefix(prop, "@") {
			continue
		}
		at := path + "." + prop
		domains, ok := s.domains[prop]
		if !ok {
			faults = append(faults, fmt.Sprintf("%s: no schema.org property %q", at, prop))
			continue
		}
		if !s.isAny(typ, domains) {
			faults = append(faults, fmt.Sprintf("%s: %s is not a type of its domainIncludes %v", at, typ, domains))
		}
		values, ok := v.([]any)
		if !ok {
			values = []any{v}
		}
		for _, x := range values {
			if f := s.checkValue(at, x, s.ranges[prop]); f != nil {
				faults = append(faults, f...)
			}
		}
	}
	return faults
}

func (s *schemaOrg) checkValue(at string, v any, ranges []string) []string {
	allows := func(dataTypes ...string) bool {
		for _, d := range dataTypes {
			if slices.ContainsFunc(ranges, func(r string) bool { return s.is(d, r) }) {
				return true
			}
		}
		return false
	}
	bad := func(what string) []string {
		return []string{fmt.Sprintf("%s: %s is not in its rangeIncludes %v", at, what, ranges)}
	}
	switch x := v.(type) {
	case map[string]any:
		typ, _ := x["@type"].(string)
		if !s.isAny(typ, ranges) {
			return bad("type " + typ)
		}
		return s.check(at, x)
	case string:
		if name, ok := strings.CutPrefix(x, "https://schema.org/"); ok {
			if types, ok := s.typeOf[name]; ok { // an enumeration member
				if !slices.ContainsFunc(types, func(t string) bool { return s.isAny(strings.TrimPrefix(t, "schema:"), ranges) }) {
					return bad("member " + name)
				}
				return nil
			}
		}
		switch {
		case dateTimeRE.MatchString(x) && allows("DateTime"), dateRE.MatchString(x) && allows("Date"):
		case strings.HasPrefix(x, "https://") && allows("URL"), allows("Text") && !s.isAny("URL", ranges):
		case allows("Text") && slices.Contains(ranges, "Text"):
		default:
			return bad(fmt.Sprintf("string %q", x))
		}
	case float64:
		if !allows("Number") && !(x == math.Trunc(x) && allows("Integer")) {
			return bad(fmt.Sprint("number ", x))
		}
	case bool:
		if !allows("Boolean") {
			return bad("a boolean")
		}
	default:
		return bad(fmt.Sprintf("%T", v))
	}
	return nil
}

// fullEvent has every part the schema.org form can carry: a type of its own, an end, an age,
// a price range, photos, coordinates, the venue's facts and the event's own.
func fullEvent(vocab *catalog.Vocabulary) *Event {
	lat, lon, lo, hi, rub := 55.76, 37.62, 1500.0, 5000.0, "RUB"
	end := time.Date(2026, 12, 1, 19, 0, 0, 0, time.UTC)
	e := &Event{ID: 123, Title: "Щелкунчик", Description: "Балет в двух действиях", Category: "ballet", City: "moscow",
		cityName: "Москва", Venue: Venue{ID: 45, Name: "Большой театр", Address: "Театральная пл., 1", Lat: &lat, Lon: &lon},
		StartsAt: time.Date(2026, 12, 1, 16, 0, 0, 0, time.UTC), EndsAt: &end, Timezone: "Europe/Moscow", AgeRating: "6+",
		Price:  &Price{Min: &lo, Max: &hi, Currency: &rub},
		Photos: []Photo{{URL: "https://photos.example.ru/events/123/a.jpg", Width: 800, Height: 600, ContentType: "image/jpeg"}},
	}
	own := catalog.Facts{"sign_language": {Value: catalog.Yes, Source: "organiser"}, "wheelchair_seating": {Value: catalog.No}}
	venue := catalog.Facts{"step_free_entrance": {Value: catalog.Yes}, "accessible_parking": {Value: catalog.NotApplicable},
		"wheelchair_seating": {Value: catalog.Yes}}
	for _, c := range vocab.Constraints {
		f, from := catalog.Effective(c.Code, own, venue)
		e.AccessibilityDetails = append(e.AccessibilityDetails, Detail{Code: c.Code, Value: f.Value, From: from})
	}
	return e
}

func TestJSONLDFollowsSchemaOrg(t *testing.T) {
	s := loadSchemaOrg(t)
	vocab := testVocab(t)
	free := 0.0
	minimal := &Event{ID: 7, Title: "Открытая лекция", Category: "standup-poetry", City: "tver", cityName: "tver",
		Venue: Venue{ID: 8, Name: "Библиотека"}, StartsAt: time.Date(2027, 1, 1, 10, 0, 0, 0, time.UTC), Timezone: "Europe/Moscow",
		Price: &Price{Min: &free, Max: &free}}
	for name, e := range map[string]*Event{"Full": fullEvent(vocab), "Minimal": minimal} {
		t.Run(name, func(t *testing.T) {
			b, err := e.JSONLD(vocab)
			if err != nil {
				t.Fatal(err)
			}
			var node map[string]any
			if err := json.Unmarshal(b, &node); err != nil {
				t.Fatal(err)
			}
			if node["@context"] != "https://schema.org" {
				t.Errorf("got @context %v, want https://schema.org", node["@context"])
			}
			if typ, _ := node["@type"].(string); !s.is(typ, "Event") {
				t.Errorf("got @type %q, want an Event", typ)
			}
			for _, f := range s.check("event", node) {
				t.Error(f)
			}
		})
	}
}

// The check itself finds what it must: a property on a type outside its domain, an unknown
// property, a value outside the range.
func TestSchemaOrgCheckFindsMisuse(t *testing.T) {
	s := loadSchemaOrg(t)
	for _, tt := range []struct {
		name string
		node string
		want string
	}{
		{"DomainAmenityOnEvent", `{"@type":"Event","amenityFeature":[]}`, "domainIncludes"},
		{"DomainAccessibilityFeatureOnEvent", `{"@type":"TheaterEvent","accessibilityFeature":"signLanguage"}`, "domainIncludes"},
		{"UnknownProperty", `{"@type":"Place","wheelchairFriendly":true}`, "no schema.org property"},
		{"UnknownType", `{"@type":"Concert"}`, "no schema.org type"},
		{"RangeTypeForLocation", `{"@type":"Event","location":{"@type":"Offer"}}`, "rangeIncludes"},
		{"RangeBooleanForName", `{"@type":"Event","name":true}`, "rangeIncludes"},
		{"RangeStatusMember", `{"@type":"Event","eventStatus":"https://schema.org/OfflineEventAttendanceMode"}`, "rangeIncludes"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var node map[string]any
			if err := json.Unmarshal([]byte(tt.node), &node); err != nil {
				t.Fatal(err)
			}
			faults := s.check("x", node)
			if len(faults) == 0 || !strings.Contains(strings.Join(faults, "\n"), tt.want) {
				t.Fatalf("got faults %v, want one about %s", faults, tt.want)
			}
		})
	}
}

// The facts: the venue's as plain features of the place, the event's own limited to the
// session; unknown left out; not_applicable said in words.
func TestJSONLDFacts(t *testing.T) {
	vocab := testVocab(t)
	b, err := fullEvent(vocab).JSONLD(vocab)
	if err != nil {
		t.Fatal(err)
	}
	var ld struct {
		Type      string `json:"@type"`
		StartDate string `json:"startDate"`
		Location  struct {
			AmenityFeature []ldFeature `json:"amenityFeature"`
		} `json:"location"`
		Offers ldOffer `json:"offers"`
	}
	if err := json.Unmarshal(b, &ld); err != nil {
		t.Fatal(err)
	}
	if ld.Type != "DanceEvent" || ld.StartDate != "2026-12-01T19:00:00+03:00" || ld.Offers.Type != "AggregateOffer" {
		t.Errorf("got %s at %s offered as %s, want a DanceEvent at 19:00 Moscow time with an AggregateOffer", ld.Type, ld.StartDate, ld.Offers.Type)
	}
	got := map[string]ldFeature{}
	for _, f := range ld.Location.AmenityFeature {
		got[f.PropertyID] = f
	}
	if len(got) != 4 {
		t.Fatalf("got features %v, want the 4 stated answers", got)
	}
	if f := got["step_free_entrance"]; !f.Value || f.ValidFrom != "" {
		t.Errorf("got %+v, want the venue's yes without a validity", f)
	}
	if f := got["sign_language"]; !f.Value || f.ValidFrom != ld.StartDate || f.ValidThrough != "2026-12-01T22:00:00+03:00" {
		t.Errorf("got %+v, want the session's sign language valid for the session", f)
	}
	if f := got["wheelchair_seating"]; f.Value || f.ValidFrom == "" {
		t.Errorf("got %+v, want the session's no (overriding the venue's yes) for the session", f)
	}
	if f := got["accessible_parking"]; f.Value || f.Description == "" {
		t.Errorf("got %+v, want not_applicable as false with words", f)
	}
}
