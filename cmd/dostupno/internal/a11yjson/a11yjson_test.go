package a11yjson

import (
	"encoding/json"
	"maps"
	"os"
	"testing"

	"github.com/dostupno/dostupno/shared/catalog"
)

func features(t *testing.T) []Feature {
	t.Helper()
	b, err := os.ReadFile("testdata/places.geojson")
	if err != nil {
		t.Fatal(err)
	}
	fs, err := Read(b)
	if err != nil {
		t.Fatal(err)
	}
	if len(fs) != 6 {
		t.Fatalf("got %d features, want 6", len(fs))
	}
	return fs
}

func TestRead(t *testing.T) {
	fs := features(t)
	f := fs[0]
	if f.Index != 1 || f.OriginalID != "45" || f.Name != "Дом музыки" || f.Address != "Космодамианская наб., 52, Москва" ||
		f.Lat == nil || *f.Lat != 55.7335 || *f.Lon != 37.6532 {
		t.Errorf("got %+v, want Дом музыки, its address in one line, latitude from the second coordinate", f)
	}
	if fs[1].OriginalID != "46" || fs[1].Name != "Клуб «Форма»" {
		t.Errorf("got %q %q, want a numeric originalId and a plain-string name read", fs[1].OriginalID, fs[1].Name)
	}
	if fs[3].Address != "ул. Тверская, 7" {
		t.Errorf("got address %q, want the string address", fs[3].Address)
	}
	// An array of features is read as well as a collection.
	arr, err := Read([]byte(`[{"properties":{"originalId":"1","accessibility":{"hasInductionLoop":true}}}]`))
	if err != nil || len(arr) != 1 || arr[0].OriginalID != "1" {
		t.Errorf("got %v, %v; want one feature", arr, err)
	}
	for _, bad := range []string{`{"type":"Feature"}`, `[1]`, `{"type":"FeatureCollection","features":[{"geometry":null}]}`, `nonsense`} {
		if _, err := Read([]byte(bad)); err == nil {
			t.Errorf("Read(%s): got no error, want one", bad)
		}
	}
}

func TestAnswers(t *testing.T) {
	fs := features(t)
	for _, tt := range []struct {
		name string
		f    Feature
		want map[string]string
	}{
		{"EverySource", fs[0], map[string]string{
			"step_free_entrance":    "yes", // the main entrance has a fixed ramp
			"elevator":              "no",  // its one lift is out of order
			"accessible_toilet":     "yes", // one of the restrooms
			"wheelchair_seating":    "yes", // 6 places
			"companion_seat":        "yes", // space for an assistant
			"accessible_parking":    "yes", // 2 spaces for wheelchair users
			"tactile_guidance":      "no",  // the signage has none of strips, paving, map
			"braille":               "yes", // the signage has braille
			"audio_description":     "no",  // the one medium says no
			"subtitles":             "yes", //
			"sign_language":         "yes", // Russian Sign Language among the media's languages
			"photosensitivity_safe": "yes", // every medium says noFlashingHazard
			"guide_dog_allowed":     "yes",
			"hearing_loop":          "yes",
			"quiet_space":           "no",
		}},
		{"NullIsNotApplicable", fs[1], map[string]string{
			"step_free_entrance": "no", // an entrance known to have neither level, ramp nor hoist
			"accessible_toilet":  "not_applicable", "accessible_parking": "not_applicable",
			"audio_description": "not_applicable", "subtitles": "not_applicable", "easy_read": "not_applicable",
			"tactile_exhibits": "not_applicable", "photosensitivity_safe": "not_applicable",
			"wheelchair_seating": "not_applicable", "companion_seat": "not_applicable", "elevator": "not_applicable",
			"hearing_loop": "no",
			// allowsServiceAnimals false says nothing of guide dogs in particular
		}},
		{"GradeAndExhibits", fs[3], map[string]string{
			"step_free_entrance": "yes", // no entrances described: the grade "fully"
			"tactile_exhibits":   "yes", "easy_read": "yes",
			"photosensitivity_safe": "no", // an exhibit flashes
			// braille: the tour is not in braille, the exhibit does not say: unknown
		}},
		{"AbsentIsUnknown", fs[4], map[string]string{}},
		{"NullAccessibilityIsNoData", fs[5], map[string]string{}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got := Answers(tt.f.Accessibility)
			if !maps.Equal(got, tt.want) {
				for _, c := range catalog.Codes {
					if got[c] != tt.want[c] {
						t.Errorf("%s: got %q, want %q", c, got[c], tt.want[c])
					}
				}
			}
		})
	}
}

func TestAnswersOfSmallDocuments(t *testing.T) {
	for _, tt := range []struct {
		name, doc, code, want string
	}{
		{"LevelEntrance", `{"entrances":[{"isLevel":true}]}`, "step_free_entrance", "yes"},
		{"HoistEntrance", `{"entrances":[{"isLevel":false,"hasHoist":true}]}`, "step_free_entrance", "yes"},
		{"StepsRampUnknown", `{"entrances":[{"isLevel":false}]}`, "step_free_entrance", ""},
		{"NoEntrance", `{"entrances":null}`, "step_free_entrance", "not_applicable"},
		{"PartialGrade", `{"wheelchairAccessibilityGrade":"partially"}`, "step_free_entrance", ""},
		{"WorkingLift", `{"availableEquipment":[{"category":"elevator","isWorking":false},{"category":"elevator"}]}`, "elevator", "yes"},
		{"NoLiftListed", `{"availableEquipment":[{"category":"escalator"}]}`, "elevator", ""},
		{"NoWheelchairPlaces", `{"wheelchairPlaces":{"count":0}}`, "wheelchair_seating", "no"},
		{"CapacityWithoutPlaces", `{"wheelchairPlaces":{"count":0,"wheelchairUserCapacity":2}}`, "wheelchair_seating", "yes"},
		{"RestroomsUnknown", `{"restrooms":[{"isAccessibleWithWheelchair":false},{}]}`, "accessible_toilet", ""},
		{"RestroomsAllNot", `{"restrooms":[{"isAccessibleWithWheelchair":false}]}`, "accessible_toilet", "no"},
		{"ParkingWithoutWheelchairSpaces", `{"parking":{"count":10,"forWheelchairUsers":null}}`, "accessible_parking", "no"},
		{"ParkingUnknown", `{"parking":{"count":10}}`, "accessible_parking", ""},
		{"DeprecatedTactileFlag", `{"hasTactileGuideStrips":true}`, "tactile_guidance", "yes"},
		{"BrailleSignageFlag", `{"hasBrailleSignage":false}`, "braille", "no"},
		{"AssistanceDogs", `{"animalPolicy":{"allowsAssistanceDogs":true}}`, "guide_dog_allowed", "yes"},
		{"GuideDogsRefused", `{"animalPolicy":{"allowsGuideDogs":false,"allowsServiceAnimals":true}}`, "guide_dog_allowed", "no"},
		{"OtherSignLanguage", `{"media":[{"type":"movie","languages":["ase"]}]}`, "sign_language", ""},
		{"CaptionsLive", `{"media":[{"type":"presentation","hasRealTimeCaptioning":true}]}`, "subtitles", "yes"},
		{"QuietRoom", `{"hasLowStimulusEnvironment":true}`, "quiet_space", "yes"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := Answers(json.RawMessage(tt.doc))[tt.code]; got != tt.want {
				t.Fatalf("%s: got %q, want %q", tt.code, got, tt.want)
			}
		})
	}
}

func TestFacts(t *testing.T) {
	fs := Facts(features(t)[1].Accessibility, "2026-05-01")
	f := fs["accessible_toilet"]
	if f.Value != catalog.NotApplicable || f.Source != Source || f.VerifiedAt != "2026-05-01" {
		t.Fatalf("got %+v, want not_applicable from import_a11yjson verified 2026-05-01", f)
	}
	if err := fs.Validate("accessibility"); err != nil {
		t.Fatalf("got %v, want facts the catalog accepts", err)
	}
}
