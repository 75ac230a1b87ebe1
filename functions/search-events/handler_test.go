package function

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/dostupno/dostupno/shared/apitest"
)

func TestConstraints(t *testing.T) {
	t.Parallel()
	e := apitest.New(t, Name, New)
	resp, b := e.Do(t, http.MethodGet, "/constraints", nil)
	if resp.StatusCode != 200 {
		t.Fatalf("got %d, want 200", resp.StatusCode)
	}
	var body struct {
		Constraints []struct {
			Code   string            `json:"code"`
			Title  map[string]string `json:"title"`
			Groups []string          `json:"groups"`
		} `json:"constraints"`
		Profiles []struct {
			Code        string   `json:"code"`
			MGN         string   `json:"mgn"`
			Constraints []string `json:"constraints"`
		} `json:"profiles"`
		Cities     []any `json:"cities"`
		Categories []any `json:"categories"`
	}
	if err := json.Unmarshal(b, &body); err != nil {
		t.Fatal(err)
	}
	if len(body.Constraints) != 18 || len(body.Profiles) != 5 {
		t.Fatalf("got %d constraints, %d profiles; want 18 and 5", len(body.Constraints), len(body.Profiles))
	}
	c := body.Constraints[0]
	if c.Code != "step_free_entrance" || c.Title["ru"] == "" || c.Title["en"] == "" || len(c.Groups) == 0 {
		t.Fatalf("got %+v, want step_free_entrance with both titles and groups", c)
	}
	if body.Cities == nil || body.Categories == nil {
		t.Fatal("got null cities or categories, want arrays")
	}
}

func TestConstraintsMethod(t *testing.T) {
	t.Parallel()
	e := apitest.New(t, Name, New)
	resp, _ := e.Do(t, http.MethodPost, "/constraints", nil, "Content-Type", "application/json")
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Fatalf("got %d, want 405", resp.StatusCode)
	}
}

// Every answer of a read function says X-Cache, also one refused before the handler runs.
func TestXCacheOnRefusedToken(t *testing.T) {
	t.Parallel()
	e := apitest.New(t, Name, New)
	for _, path := range []string{"/", "/constraints"} {
		resp, _ := e.Do(t, http.MethodGet, path, nil, "Authorization", "Bearer not-a-token")
		if resp.StatusCode != http.StatusUnauthorized || resp.Header.Get("X-Cache") != "miss" {
			t.Fatalf("%s: got %d with X-Cache %q, want 401 with X-Cache miss", path, resp.StatusCode, resp.Header.Get("X-Cache"))
		}
	}
}
