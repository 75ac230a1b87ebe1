package fast_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/dostupno/dostupno/shared/catalog"
	"github.com/dostupno/dostupno/shared/jsoncodec"
	"github.com/dostupno/dostupno/shared/jsoncodec/fast"
)

// codec is the fast codec, tested against encoding/json.
var codec fast.Codec

// stdStrict is what httpjson.DecodeReader accepts: encoding/json, unknown fields refused,
// exactly one value.
func stdStrict(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if err := dec.Decode(&struct{}{}); !errors.Is(err, io.EOF) {
		return errors.New("more than one value")
	}
	return nil
}

// events are events with every field set in turn, numbers of every magnitude and text of
// every script the catalog holds, and one with the characters encoders treat specially.
func events(t testing.TB) []catalog.Event {
	t.Helper()
	rng := rand.New(rand.NewPCG(7, 7))
	words := []string{"Концерт", "симфонического", "оркестра", "Jazz", "night", "«Щелкунчик»", "—", "театр", "№5", "&", "<>", "1914"}
	text := func(n int) string {
		var b strings.Builder
		for i := range n {
			if i > 0 {
				b.WriteByte(' ')
			}
			b.WriteString(words[rng.IntN(len(words))])
		}
		return b.String()
	}
	num := func() *float64 {
		f := []float64{0, 1, 55.7558, 37.6173, -0.5, 1e21, 1e-7, 123456.789, 1500}[rng.IntN(9)]
		return &f
	}
	codes := []string{"step_free_entrance", "elevator", "sign_language", "audio_description", "hearing_loop"}
	answers := []string{"yes", "no", "unknown"}
	start := time.Date(2027, 1, 1, 19, 0, 0, 0, time.UTC)
	out := make([]catalog.Event, 0, 301)
	for i := range 300 {
		e := catalog.Event{ID: int64(i + 1), Title: text(1 + rng.IntN(6)), Category: "concert", City: "moscow",
			Venue: catalog.Venue{ID: int64(rng.IntN(1000) + 1), Name: text(2)}, Timezone: "Europe/Moscow",
			StartsAt: start.Add(time.Duration(rng.IntN(365*24*60)) * time.Minute)}
		if i%2 == 0 {
			e.Description, e.CityName, e.CategoryName, e.AgeRating = text(20), "Москва", "Концерты", "12+"
			e.Venue.Address, e.Venue.Lat, e.Venue.Lon = text(3), num(), num()
			end := e.StartsAt.Add(2 * time.Hour)
			e.EndsAt = &end
		}
		if i%3 == 0 {
			e.Price = &catalog.Price{Min: num(), Max: num(), Currency: "RUB"}
		}
		if i%5 != 4 {
			e.Accessibility = catalog.Facts{}
			for j, c := range codes[:rng.IntN(len(codes)+1)] {
				f := catalog.Fact{Value: answers[rng.IntN(len(answers))]}
				if j%2 == 1 {
					f.Source, f.VerifiedAt = "venue_survey", "2026-05-01"
				}
				e.Accessibility[c] = f
			}
		}
		if i%7 == 0 {
			e.Venue.Accessibility = &catalog.Facts{"elevator": {Value: "not_applicable", Source: "organiser"}}
		}
		out = append(out, e)
	}
	odd := out[0]
	odd.Title = "<b>&amp;</b> \u2028\u2029 \"кавычки\" \\ \t\x01 😀"
	odd.Description = "</script><script>alert(1)</script>"
	odd.Accessibility = catalog.Answers(map[string]string{"z": "yes", "a": "no", "M": "yes"})
	return append(out, odd)
}

// The payload of a command is hashed into its message id: the codec must encode exactly as
// encoding/json does.
func TestMarshalMatchesEncodingJSON(t *testing.T) {
	for _, e := range events(t) {
		want, err := json.Marshal(e)
		if err != nil {
			t.Fatal(err)
		}
		got, err := codec.Marshal(e)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("event %d:\ngot  %s\nwant %s", e.ID, got, want)
		}
	}
}

var strictCases = []string{
	`{"id":1,"title":"T","category":"concert","city":"moscow","venue":{"id":2,"name":"V"},"starts_at":"2027-01-01T19:00:00Z","timezone":"Europe/Moscow"}`,
	`{"id":1,"bogus":true}`,
	`{"id":1,"venue":{"id":2,"bogus":1}}`,
	`{"ID":1,"Title":"case-insensitive names"}`,
	`{"id":1,"id":2}`,
	`{"id":1} {"id":2}`,
	`{"id":1} x`,
	`{"id":1}   `,
	`{"id":"1"}`,
	`{"id":1.5}`,
	`{"id":1e400}`,
	`{"id":99999999999999999999}`,
	`{"id":-0}`,
	`{"title":"\ud800"}`,
	`{"title":"\u00e9\n"}`,
	`{"title":"bad \x escape"}`,
	`{"title":null,"venue":null,"price":null}`,
	`{"accessibility":{"elevator":"yes","elevator":"no"}}`,
	`{"accessibility":{"elevator":1}}`,
	`{"starts_at":"yesterday"}`,
	`{"starts_at":"2027-01-01T19:00:00+03:00"}`,
	`{"price":{"min":1,"max":"2"}}`,
	`[]`,
	`null`,
	``,
	`{`,
	`{"id":1,}`,
	`{"id":01}`,
	`  {"id":1}`,
}

func checkStrict(t *testing.T, b []byte) {
	var fast, slow catalog.Event
	ferr := codec.UnmarshalStrict(b, &fast)
	serr := stdStrict(b, &slow)
	if ferr == nil && serr != nil {
		t.Fatalf("%q: the codec accepted what encoding/json refuses (%v)", b, serr)
	}
	if ferr == nil && !reflect.DeepEqual(fast, slow) {
		t.Fatalf("%q: got %+v, encoding/json decodes %+v", b, fast, slow)
	}
}

// jsoncodec.DecodeStrict trusts the codec's yes and asks encoding/json after its no: the codec
// must never accept what encoding/json refuses, nor decode it differently.
func TestStrictNeverAcceptsWhatEncodingJSONRefuses(t *testing.T) {
	for _, c := range strictCases {
		checkStrict(t, []byte(c))
	}
	for _, e := range events(t) {
		b, err := json.Marshal(e)
		if err != nil {
			t.Fatal(err)
		}
		checkStrict(t, b)
		var back catalog.Event
		if err := codec.UnmarshalStrict(b, &back); err != nil {
			t.Fatalf("event %d: %v", e.ID, err)
		}
	}
}

func FuzzStrict(f *testing.F) {
	for _, c := range strictCases {
		f.Add([]byte(c))
	}
	f.Fuzz(func(t *testing.T, b []byte) { checkStrict(t, b) })
}

func TestUnmarshalMatchesEncodingJSON(t *testing.T) {
	evs := events(t)
	b, err := json.Marshal(evs)
	if err != nil {
		t.Fatal(err)
	}
	var got, want []catalog.Event
	if err := codec.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &want); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatal("the codec decodes the events otherwise than encoding/json")
	}
	if !codec.Valid(b) || codec.Valid(b[:len(b)-1]) || codec.Valid([]byte(`{} {}`)) {
		t.Error("Valid: got a wrong answer for a whole list, a cut one or two values")
	}
}

// Linking the package in makes it the process's codec, and DecodeStrict still gives
// encoding/json's errors where the codec refuses.
func TestLinkedInItIsTheCodec(t *testing.T) {
	if _, ok := jsoncodec.InUse().(fast.Codec); !ok {
		t.Fatalf("the codec in use is %T", jsoncodec.InUse())
	}
	var e catalog.Event
	if err := jsoncodec.DecodeStrict([]byte(`{"id":1} {}`), &e); !errors.Is(err, jsoncodec.ErrNotOne) {
		t.Errorf("two values: got %v, want ErrNotOne", err)
	}
	e = catalog.Event{Title: "kept"}
	err := jsoncodec.DecodeStrict([]byte(`{"id":"1"}`), &e)
	var typ *json.UnmarshalTypeError
	if !errors.As(err, &typ) || typ.Field != "id" {
		t.Errorf("a string id: got %v, want encoding/json's type error on id", err)
	}
	if err := jsoncodec.DecodeStrict([]byte(`{"id":7,"title":"T"}`), &e); err != nil || e.ID != 7 || e.Title != "T" {
		t.Errorf("got %+v, %v", e, err)
	}
}
