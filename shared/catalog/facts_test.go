package catalog

import (
	"encoding/json"
	"maps"
	"slices"
	"testing"

	"github.com/dostupno/dostupno/shared/httpjson"
	"github.com/dostupno/dostupno/shared/jsoncodec"
)

func TestFactJSON(t *testing.T) {
	t.Run("BothFormsRead", func(t *testing.T) {
		var fs Facts
		err := httpjson.DecodeBytes([]byte(`{"elevator":"yes","braille":{"value":"no","source":"venue_survey","verified_at":"2026-05-01"},
			"quiet_space":{"value":"not_applicable"},"subtitles":"\u0079es"}`), &fs)
		if err != nil {
			t.Fatal(err)
		}
		want := Facts{"elevator": {Value: Yes}, "braille": {Value: No, Source: "venue_survey", VerifiedAt: "2026-05-01"},
			"quiet_space": {Value: NotApplicable}, "subtitles": {Value: Yes}}
		if len(fs) != len(want) {
			t.Fatalf("got %v, want %v", fs, want)
		}
		for k, f := range want {
			if fs[k] != f {
				t.Errorf("%s: got %+v, want %+v", k, fs[k], f)
			}
		}
	})
	t.Run("PlainSheetsAndTheirEdges", func(t *testing.T) {
		for in, want := range map[string]Facts{
			`{}`: {},
			` { "elevator" : "yes" ,"braille":"no" } `: {"elevator": {Value: Yes}, "braille": {Value: No}},
			`{"elevator":"no","elevator":"yes"}`:       {"elevator": {Value: Yes}}, // the last wins, as encoding/json does
			`{"elevator":"y\u0065s"}`:                  {"elevator": {Value: Yes}},
			`{"elevator":{"value":"yes"},"x":"no"}`:    {"elevator": {Value: Yes}, "x": {Value: No}},
		} {
			var fs Facts
			if err := json.Unmarshal([]byte(in), &fs); err != nil {
				t.Fatalf("%s: %v", in, err)
			}
			if !maps.Equal(fs, want) {
				t.Errorf("%s: got %v, want %v", in, fs, want)
			}
		}
		var fs Facts
		if err := json.Unmarshal([]byte(`{"elevator":"yes"`), &fs); err == nil {
			t.Error("got no error for a sheet cut short, want one")
		}
	})
	t.Run("WrittenBareWithoutProvenance", func(t *testing.T) {
		b, err := json.Marshal(Facts{"elevator": {Value: Yes}, "braille": {Value: No, Source: "organiser"}})
		if err != nil {
			t.Fatal(err)
		}
		if want := `{"braille":{"value":"no","source":"organiser"},"elevator":"yes"}`; string(b) != want {
			t.Fatalf("got %s, want %s", b, want)
		}
	})
	for _, tt := range []struct{ name, in, field string }{
		{"ErrUnknownField", `{"elevator":{"value":"yes","colour":"red"}}`, "colour"},
		{"ErrNumber", `{"elevator":1}`, "accessibility.elevator"},
		{"ErrArray", `{"elevator":["yes"]}`, "accessibility.elevator"},
		{"ErrNull", `{"elevator":null}`, "accessibility.elevator"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var fs Facts
			err := httpjson.DecodeBytes([]byte(tt.in), &fs)
			if err == nil {
				err = fs.Validate("accessibility")
			}
			wantInvalid(t, err, tt.field)
		})
	}
}

func TestFactsValidate(t *testing.T) {
	for _, tt := range []struct {
		name  string
		fact  Fact
		field string
	}{
		{"OKPlain", Fact{Value: NotApplicable}, ""},
		{"OKDate", Fact{Value: Yes, Source: "venue_survey", VerifiedAt: "2026-05-01"}, ""},
		{"OKTime", Fact{Value: No, Source: "a", VerifiedAt: "2026-05-01T10:00:00+03:00"}, ""},
		{"ErrNull", Fact{}, "accessibility.elevator"},
		{"ErrValue", Fact{Value: "partly"}, "accessibility.elevator"},
		{"ErrSourceCase", Fact{Value: Yes, Source: "Venue"}, "accessibility.elevator.source"},
		{"ErrSourceLong", Fact{Value: Yes, Source: "a123456789012345678901234567890123456789x"}, "accessibility.elevator.source"},
		{"ErrVerified", Fact{Value: Yes, VerifiedAt: "01.05.2026"}, "accessibility.elevator.verified_at"},
		{"ErrVerifiedDay", Fact{Value: Yes, VerifiedAt: "2026-02-30"}, "accessibility.elevator.verified_at"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			wantField(t, Facts{"elevator": tt.fact}.Validate("accessibility"), tt.field)
		})
	}
}

func TestFactsNormalize(t *testing.T) {
	fs := Facts{"elevator": {Value: Unknown, Source: "visitor_report"}, "braille": {Value: No, Source: " organiser ", VerifiedAt: "2026-05-01T10:00:00+03:00"},
		"subtitles": {Value: Yes, VerifiedAt: "2026-05-01"}}
	fs.Normalize()
	if _, ok := fs["elevator"]; ok {
		t.Error("got an unknown fact kept, want it dropped (a missing code is unknown)")
	}
	if got := fs["braille"]; got.Source != "organiser" || got.VerifiedAt != "2026-05-01T07:00:00Z" {
		t.Errorf("got %+v, want the source trimmed and the time in UTC", got)
	}
	if got := fs["subtitles"].VerifiedAt; got != "2026-05-01" {
		t.Errorf("got verified_at %q, want the date kept", got)
	}
}

func TestEffective(t *testing.T) {
	venue := Facts{"elevator": {Value: Yes, Source: "venue_survey"}, "accessible_toilet": {Value: No},
		"accessible_parking": {Value: NotApplicable}, "quiet_space": {Value: Yes}}
	own := Facts{"elevator": {Value: No, Source: "organiser"}, "quiet_space": {Value: Unknown}, "sign_language": {Value: Yes}}
	for _, tt := range []struct {
		code, value, from, source string
	}{
		{"elevator", No, FromEvent, "organiser"},             // the event's own answer wins
		{"accessible_toilet", No, FromVenue, ""},             // inherited
		{"accessible_parking", NotApplicable, FromVenue, ""}, // not_applicable is stated too
		{"quiet_space", Yes, FromVenue, ""},                  // an own unknown defers to the venue
		{"sign_language", Yes, FromEvent, ""},                // a session's service
		{"braille", Unknown, FromNone, ""},                   // nobody says
	} {
		f, from := Effective(tt.code, own, venue)
		if f.Value != tt.value || from != tt.from || f.Source != tt.source {
			t.Errorf("%s: got %+v from %s, want %s from %s (source %q)", tt.code, f, from, tt.value, tt.from, tt.source)
		}
	}
	yes, excluded := EffectiveSets(own, venue)
	if want := []string{"sign_language", "quiet_space"}; !slices.Equal(yes, want) {
		t.Errorf("got yes %v, want %v", yes, want)
	}
	if want := []string{"elevator", "accessible_toilet", "accessible_parking"}; !slices.Equal(excluded, want) {
		t.Errorf("got excluded %v, want %v (catalog order)", excluded, want)
	}
}

// appendSheet writes what jsoncodec writes for the same facts, byte for byte: the rows of old
// commands (bare values) and of new ones, and a command's payload (hashed into its message id),
// must not depend on which encoder wrote them.
func TestAppendSheetEncodesAsJSON(t *testing.T) {
	for _, fs := range []Facts{
		{},
		{"elevator": {Value: Yes}, "braille": {Value: No}},
		{"elevator": {Value: Yes, Source: "venue_survey", VerifiedAt: "2026-05-01"}, "braille": {Value: NotApplicable, VerifiedAt: "2026-05-01T07:00:00Z"}},
		{"elevator": {Value: `y"es<&>`, Source: "ü"}},
		{"elevator": {Value: Yes}, "teleport": {Value: Yes}}, // not a code: only a bad command carries it
	} {
		got, err := appendSheet([]byte("prefix"), fs)
		if err != nil {
			t.Fatal(err)
		}
		want, err := jsoncodec.Marshal(fs)
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != "prefix"+string(want) {
			t.Errorf("got %s, want prefix%s", got, want)
		}
	}
}
