package function

import (
	"encoding/json"
	"strings"
	"testing"

	searchevents "github.com/dostupno/dostupno/functions/search-events"
	"github.com/dostupno/dostupno/shared/apitest"
)

// A registered user's saved needs apply to a search without constraints or profile.
func TestPersonalisedSearch(t *testing.T) {
	t.Parallel()
	srv := newEnv(t)
	b := register(t, srv, `{"email":"zoya@example.ru","password":"quiet harbour 5","name":"Зоя","needs":["sign_language","subtitles"]}`)
	var s struct{ Token string }
	if err := json.Unmarshal(b, &s); err != nil {
		t.Fatal(err)
	}
	search := apitest.New(t, searchevents.Name, searchevents.New, apitest.WithDatabaseOf(srv), apitest.WithNATSOf(srv))
	tests := []struct {
		name, query, auth string
		wantStatus        int
		wantApplied       string
	}{
		{"SavedNeeds", "", "Bearer " + s.Token, 200, "sign_language,subtitles"},
		{"PersonalizeFalse", "?personalize=false", "Bearer " + s.Token, 200, ""},
		{"ConstraintsWin", "?constraints=braille", "Bearer " + s.Token, 200, "braille"},
		{"Anonymous", "", "", 200, ""},
		{"ErrGarbageToken", "", "Bearer garbage", 401, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, b := do(t, "GET", search.URL+"/"+tt.query, "", tt.auth, "")
			if resp.StatusCode != tt.wantStatus {
				t.Fatalf("got %d %s, want %d", resp.StatusCode, b, tt.wantStatus)
			}
			if tt.wantStatus != 200 {
				return
			}
			var body struct {
				Applied []string `json:"applied_constraints"`
			}
			if err := json.Unmarshal(b, &body); err != nil {
				t.Fatal(err)
			}
			if got := strings.Join(body.Applied, ","); got != tt.wantApplied {
				t.Fatalf("got applied_constraints %q, want %q", got, tt.wantApplied)
			}
		})
	}
}
