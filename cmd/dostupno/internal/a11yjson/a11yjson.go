// Package a11yjson reads venues' accessibility from A11yJSON (the format accessibility.cloud
// publishes places in: a GeoJSON FeatureCollection, or an array, of PlaceInfo features) and
// maps it to the catalog's codes, as the README's table "A11yJSON to our codes" says and
// explains. A11yJSON's convention is kept: a property that is absent is unknown, one that is
// null says the thing does not exist there, which is not_applicable for the code about that
// thing. A code A11yJSON cannot answer stays unknown; the facts say they come from
// import_a11yjson.
package a11yjson

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/dostupno/dostupno/shared/catalog"
)

// Source is the provenance of every imported fact.
const Source = "import_a11yjson"

// Feature is one PlaceInfo as the import reads it.
type Feature struct {
	Index      int    // position in the file, from 1
	OriginalID string // properties.originalId
	Name       string // properties.name, in Russian where given
	Address    string // properties.address as one line
	Lat, Lon   *float64
	// Accessibility is properties.accessibility: nil when absent (everything unknown), JSON
	// null when the place has no data.
	Accessibility json.RawMessage
}

// Read reads a FeatureCollection, or a JSON array of features. A feature that is not an
// object with properties is an error naming it.
func Read(data []byte) ([]Feature, error) {
	data = bytes.TrimSpace(data)
	var raw []json.RawMessage
	if len(data) > 0 && data[0] == '[' {
		if err := json.Unmarshal(data, &raw); err != nil {
			return nil, fmt.Errorf("read the array of features: %w", err)
		}
	} else {
		var fc struct {
			Type     string            `json:"type"`
			Features []json.RawMessage `json:"features"`
		}
		if err := json.Unmarshal(data, &fc); err != nil {
			return nil, fmt.Errorf("read the FeatureCollection: %w", err)
		}
		if fc.Type != "FeatureCollection" {
			return nil, fmt.Errorf("want a GeoJSON FeatureCollection or an array of PlaceInfo features, got type %q", fc.Type)
		}
		raw = fc.Features
	}
	out := make([]Feature, 0, len(raw))
	for i, r := range raw {
		var f struct {
			Properties *struct {
				OriginalID    json.RawMessage `json:"originalId"`
				Name          json.RawMessage `json:"name"`
				Address       json.RawMessage `json:"address"`
				Accessibility json.RawMessage `json:"accessibility"`
			} `json:"properties"`
			Geometry *struct {
				Type        string    `json:"type"`
				Coordinates []float64 `json:"coordinates"`
			} `json:"geometry"`
		}
		if err := json.Unmarshal(r, &f); err != nil || f.Properties == nil {
			return nil, fmt.Errorf("feature %d: want an object with properties (%v)", i+1, err)
		}
		p := f.Properties
		feat := Feature{Index: i + 1, Name: localized(p.Name), Address: address(p.Address), Accessibility: p.Accessibility}
		var id any
		if json.Unmarshal(p.OriginalID, &id) == nil && id != nil {
			feat.OriginalID = strings.TrimSpace(fmt.Sprint(id))
		}
		if g := f.Geometry; g != nil && g.Type == "Point" && len(g.Coordinates) == 2 {
			lon, lat := g.Coordinates[0], g.Coordinates[1] // GeoJSON: longitude first
			feat.Lat, feat.Lon = &lat, &lon
		}
		out = append(out, feat)
	}
	return out, nil
}

// localized reads a LocalizedString (an object of language tags, or a plain string): Russian
// first, then English, then the first tag in order.
func localized(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return strings.TrimSpace(s)
	}
	var m map[string]string
	if json.Unmarshal(raw, &m) != nil || len(m) == 0 {
		return ""
	}
	for _, tag := range []string{"ru", "ru-RU", "en", "en-US"} {
		if v := strings.TrimSpace(m[tag]); v != "" {
			return v
		}
	}
	return strings.TrimSpace(m[slices.Sorted(maps.Keys(m))[0]])
}

// address reads an Address (a string, or a structured one) as one line.
func address(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return strings.TrimSpace(s)
	}
	var a map[string]json.RawMessage
	if json.Unmarshal(raw, &a) != nil {
		return ""
	}
	if t := localized(a["text"]); t != "" {
		return t
	}
	var parts []string
	for _, k := range []string{"street", "house", "postalCode", "city"} {
		if v := localized(a[k]); v != "" {
			parts = append(parts, v)
		}
	}
	return strings.Join(parts, ", ")
}

// node is a JSON object whose members keep the difference between absent and null.
type node map[string]json.RawMessage

func asNode(raw json.RawMessage) (node, bool) {
	var n node
	if json.Unmarshal(raw, &n) != nil || n == nil {
		return nil, false
	}
	return n, true
}

// state is what a property says: absent, null, or present.
type state int

const (
	absent state = iota
	null
	present
)

func (n node) state(key string) state {
	raw, ok := n[key]
	switch {
	case !ok:
		return absent
	case bytes.Equal(bytes.TrimSpace(raw), []byte("null")):
		return null
	}
	return present
}

// flag is a boolean property as an answer: true yes, false no, anything else unknown.
func (n node) flag(key string) string {
	var b *bool
	if n.state(key) != present || json.Unmarshal(n[key], &b) != nil || b == nil {
		return catalog.Unknown
	}
	if *b {
		return catalog.Yes
	}
	return catalog.No
}

// list is an array property of objects.
func (n node) list(key string) []node {
	var raws []json.RawMessage
	if json.Unmarshal(n[key], &raws) != nil {
		return nil
	}
	var out []node
	for _, r := range raws {
		if o, ok := asNode(r); ok {
			out = append(out, o)
		}
	}
	return out
}

func (n node) child(key string) node {
	o, _ := asNode(n[key])
	return o
}

func (n node) number(key string) (float64, bool) {
	var f *float64
	if json.Unmarshal(n[key], &f) != nil || f == nil {
		return 0, false
	}
	return *f, true
}

func (n node) strings(key string) []string {
	var out []string
	_ = json.Unmarshal(n[key], &out) // not a list of strings: none
	return out
}

// anyOf combines the answers of several things of a kind (entrances, restrooms, media): yes
// if one says yes, no if there are some and every one says no, else unknown.
func anyOf(answers []string) string {
	if slices.Contains(answers, catalog.Yes) {
		return catalog.Yes
	}
	if len(answers) > 0 && !slices.ContainsFunc(answers, func(a string) bool { return a != catalog.No }) {
		return catalog.No
	}
	return catalog.Unknown
}

// either is the first of answers that is not unknown.
func either(answers ...string) string {
	for _, a := range answers {
		if a != catalog.Unknown {
			return a
		}
	}
	return catalog.Unknown
}

// Answers maps a PlaceInfo's accessibility to the catalog's codes (stated ones only: yes, no
// or not_applicable). The rules and their reasons are the README's table.
func Answers(acc json.RawMessage) map[string]string {
	out := map[string]string{}
	a, ok := asNode(acc)
	if !ok {
		return out // absent or null: the place has no data, every code stays unknown
	}
	set := func(code, v string) {
		if v != catalog.Unknown {
			out[code] = v
		}
	}
	// onList answers code from the array key: null is not_applicable, else each entry's
	// answer combined by anyOf.
	onList := func(code, key string, each func(node) string) {
		switch a.state(key) {
		case null:
			set(code, catalog.NotApplicable)
		case present:
			var answers []string
			for _, e := range a.list(key) {
				answers = append(answers, each(e))
			}
			set(code, anyOf(answers))
		}
	}

	// Entrances: level, a fixed ramp or a hoist make one step-free; one known to have none
	// of them is not. Without an answer from them, the human-rated grade.
	switch a.state("entrances") {
	case null:
		set("step_free_entrance", catalog.NotApplicable)
	default:
		var answers []string
		for _, e := range a.list("entrances") {
			level, ramp, hoist := e.flag("isLevel"), e.flag("hasFixedRamp"), e.flag("hasHoist")
			switch {
			case level == catalog.Yes || ramp == catalog.Yes || hoist == catalog.Yes:
				answers = append(answers, catalog.Yes)
			case level == catalog.No && ramp == catalog.No && hoist == catalog.No:
				answers = append(answers, catalog.No)
			default:
				answers = append(answers, catalog.Unknown)
			}
		}
		grade := catalog.Unknown
		var g string
		if json.Unmarshal(a["wheelchairAccessibilityGrade"], &g) == nil {
			grade = map[string]string{"fully": catalog.Yes, "not": catalog.No}[g]
			if grade == "" {
				grade = catalog.Unknown
			}
		}
		set("step_free_entrance", either(anyOf(answers), grade))
	}

	// Equipment: a working lift (isWorking not false); lifts all out of order are no.
	switch a.state("availableEquipment") {
	case null:
		set("elevator", catalog.NotApplicable)
	case present:
		lifts, working := 0, 0
		for _, e := range a.list("availableEquipment") {
			var category string
			if json.Unmarshal(e["category"], &category) == nil && category == "elevator" {
				lifts++
				if e.flag("isWorking") != catalog.No {
					working++
				}
			}
		}
		switch {
		case working > 0:
			set("elevator", catalog.Yes)
		case lifts > 0:
			set("elevator", catalog.No) // every lift out of order
		}
	}

	// Wheelchair places (null: there are none to speak of) and space for an assistant.
	switch a.state("wheelchairPlaces") {
	case null:
		set("wheelchair_seating", catalog.NotApplicable)
		set("companion_seat", catalog.NotApplicable)
	case present:
		wp := a.child("wheelchairPlaces")
		count, okCount := wp.number("count")
		capacity, okCap := wp.number("wheelchairUserCapacity")
		switch {
		case okCount && count > 0 || okCap && capacity > 0:
			set("wheelchair_seating", catalog.Yes)
		case okCount && count == 0:
			set("wheelchair_seating", catalog.No)
		}
		set("companion_seat", wp.flag("hasSpaceForAssistant"))
	}

	onList("accessible_toilet", "restrooms", func(r node) string { return r.flag("isAccessibleWithWheelchair") })

	// Parking: null, there is none at all (not_applicable); a null forWheelchairUsers is parking
	// without a space for wheelchair users (no).
	switch a.state("parking") {
	case null:
		set("accessible_parking", catalog.NotApplicable)
	case present:
		p := a.child("parking")
		switch p.state("forWheelchairUsers") {
		case null:
			set("accessible_parking", catalog.No)
		case present:
			if n, ok := p.child("forWheelchairUsers").number("count"); ok && n == 0 {
				set("accessible_parking", catalog.No)
			} else {
				set("accessible_parking", catalog.Yes)
			}
		}
	}

	// Signage: tactile guide strips, paving or a tactile map; braille on signs or media.
	tactile := func(s node) string {
		return anyOf([]string{s.flag("hasTactileGuideStrips"), s.flag("hasTactilePaving"), s.flag("hasTactileMap")})
	}
	onList("tactile_guidance", "signageSystems", tactile)
	if _, ok := out["tactile_guidance"]; !ok { // the deprecated flags of older documents
		set("tactile_guidance", anyOf([]string{a.flag("hasTactileGuideStrips"), a.flag("hasTactileSignage")}))
	}
	var braille []string
	for _, s := range a.list("signageSystems") {
		braille = append(braille, s.flag("hasBraille"))
	}
	for _, m := range a.list("media") {
		braille = append(braille, m.flag("isBraille"))
	}
	if b := a.flag("hasBrailleSignage"); b != catalog.Unknown {
		braille = append(braille, b)
	}
	set("braille", anyOf(braille))

	// Media: what a place's films, plays, exhibits and tours offer.
	onList("audio_description", "media", func(m node) string { return m.flag("hasAudioDescription") })
	onList("subtitles", "media", func(m node) string {
		return anyOf([]string{m.flag("hasSubtitles"), m.flag("hasRealTimeCaptioning"), m.flag("hasDedicatedScreenForSubtitles")})
	})
	onList("easy_read", "media", func(m node) string { return m.flag("hasPlainLanguageOption") })
	switch a.state("media") {
	case null:
		set("tactile_exhibits", catalog.NotApplicable)
		set("photosensitivity_safe", catalog.NotApplicable)
	case present:
		var exhibits, hazards []string
		for _, m := range a.list("media") {
			var typ string
			_ = json.Unmarshal(m["type"], &typ) // no type: not an exhibit
			if modes := m.strings("accessMode"); typ == "exhibit" && modes != nil {
				exhibits = append(exhibits, map[bool]string{true: catalog.Yes, false: catalog.No}[slices.Contains(modes, "tactile")])
			}
			h := m.strings("accessibilityHazard")
			switch {
			case slices.Contains(h, "flashing"):
				hazards = append(hazards, catalog.No)
			case slices.Contains(h, "noFlashingHazard") || slices.Contains(h, "none"):
				hazards = append(hazards, catalog.Yes)
			default:
				hazards = append(hazards, catalog.Unknown)
			}
			if slices.ContainsFunc(m.strings("languages"), signLanguage) {
				set("sign_language", catalog.Yes)
			}
		}
		set("tactile_exhibits", anyOf(exhibits))
		switch {
		case slices.Contains(hazards, catalog.No):
			set("photosensitivity_safe", catalog.No)
		case len(hazards) > 0 && !slices.Contains(hazards, catalog.Unknown):
			set("photosensitivity_safe", catalog.Yes)
		}
	}

	// Animals: guide dogs, else assistance dogs or service animals in general.
	switch a.state("animalPolicy") {
	case present:
		p := a.child("animalPolicy")
		set("guide_dog_allowed", either(p.flag("allowsGuideDogs"), p.flag("allowsAssistanceDogs"), yesOnly(p.flag("allowsServiceAnimals"))))
	}
	set("hearing_loop", a.flag("hasInductionLoop"))
	set("quiet_space", a.flag("hasLowStimulusEnvironment"))
	return out
}

// yesOnly keeps a yes; a no of a wider rule does not answer a narrower code.
func yesOnly(a string) string {
	if a == catalog.Yes {
		return a
	}
	return catalog.Unknown
}

// signLanguage reports whether an IETF language tag names Russian Sign Language (rsl), the
// one our sign_language code is about.
func signLanguage(tag string) bool {
	primary, _, _ := strings.Cut(strings.ToLower(tag), "-")
	return primary == "rsl" || strings.HasPrefix(strings.ToLower(tag), "sgn-ru")
}

// Facts are the answers as facts from Source, verified at verifiedAt ("" for not known).
func Facts(acc json.RawMessage, verifiedAt string) catalog.Facts {
	fs := catalog.Facts{}
	for code, v := range Answers(acc) {
		fs[code] = catalog.Fact{Value: v, Source: Source, VerifiedAt: verifiedAt}
	}
	return fs
}
