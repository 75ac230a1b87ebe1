package function

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dostupno/dostupno/shared/config"
	"github.com/dostupno/dostupno/shared/instance"
	"github.com/dostupno/dostupno/shared/pgtest"
)

func newServer(t *testing.T) *httptest.Server {
	t.Helper()
	d := instance.New(Name, config.Config{DatabaseURL: pgtest.NewURL(t)}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	t.Cleanup(d.Close)
	h, err := New(d)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}

func TestConstraints(t *testing.T) {
	t.Parallel()
	srv := newServer(t)
	resp, err := http.Get(srv.URL + "/constraints")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
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
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
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
	srv := newServer(t)
	resp, err := http.Post(srv.URL+"/constraints", "application/json", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Fatalf("got %d, want 405", resp.StatusCode)
	}
}

// Every answer of a read function says X-Cache, also one refused before the handler runs.
func TestXCacheOnRefusedToken(t *testing.T) {
	t.Parallel()
	secrets := t.TempDir()
	if err := os.WriteFile(filepath.Join(secrets, "jwt-secret"), []byte(strings.Repeat("k", 40)), 0o600); err != nil {
		t.Fatal(err)
	}
	d := instance.New(Name, config.Config{DatabaseURL: pgtest.NewURL(t), SecretsDir: secrets}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	t.Cleanup(d.Close)
	h, err := New(d)
	if err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{"/", "/constraints"} {
		r := httptest.NewRequest(http.MethodGet, path, nil)
		r.Header.Set("Authorization", "Bearer not-a-token")
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != http.StatusUnauthorized || w.Header().Get("X-Cache") != "miss" {
			t.Fatalf("%s: got %d with X-Cache %q, want 401 with X-Cache miss", path, w.Code, w.Header().Get("X-Cache"))
		}
	}
}
