package webpage

import (
	"io"
	"net"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestHandler(t *testing.T) {
	dir := t.TempDir()
	for name, body := range map[string]string{"index.html": "<!doctype html>", "config.js": "export default { api: '' };", ".secret": "no", "js/app.js": "import"} {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, name)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	h, err := Handler(dir, "http://127.0.0.1:8080")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name, method, path string
		status             int
		body, ctype        string
	}{
		{"IndexAtRoot", "GET", "/", 200, "<!doctype html>", "text/html"},
		{"ConfigNamesTheAPI", "GET", "/config.js", 200, `export default { api: "http://127.0.0.1:8080" };`, "text/javascript"},
		{"ModuleAsJavaScript", "GET", "/js/app.js", 200, "import", "text/javascript"},
		{"NoFolderListing", "GET", "/js/", 404, "", ""},
		{"NoDotFiles", "GET", "/.secret", 404, "", ""},
		{"ErrMethod", "POST", "/", 405, "", ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(c.method, c.path, nil))
			body, _ := io.ReadAll(rec.Body) // a recorder's body cannot fail
			if rec.Code != c.status || !strings.Contains(string(body), c.body) || !strings.HasPrefix(rec.Header().Get("Content-Type"), c.ctype) {
				t.Errorf("got %d %q (%s), want %d with %q (%s)", rec.Code, body, rec.Header().Get("Content-Type"), c.status, c.body, c.ctype)
			}
			if csp := rec.Header().Get("Content-Security-Policy"); !strings.Contains(csp, "connect-src 'self' http://127.0.0.1:8080") {
				t.Errorf("got CSP %q, want the API allowed for connections", csp)
			}
		})
	}
	if _, err := Handler(t.TempDir(), "http://127.0.0.1:8080"); err == nil {
		t.Error("got a handler for a folder without index.html, want an error")
	}
	if _, err := Handler(dir, "127.0.0.1:8080"); err == nil {
		t.Error("got a handler for an API URL without a scheme, want an error")
	}
}

func TestOrigins(t *testing.T) {
	for _, c := range []struct {
		addr string
		want []string
	}{
		{"127.0.0.1:8081", []string{"http://127.0.0.1:8081", "http://localhost:8081"}},
		{"0.0.0.0:8081", []string{"http://127.0.0.1:8081", "http://localhost:8081"}},
		{"[::1]:8081", []string{"http://[::1]:8081", "http://localhost:8081"}},
		{"192.0.2.7:80", []string{"http://192.0.2.7:80"}},
	} {
		addr, err := net.ResolveTCPAddr("tcp", c.addr)
		if err != nil {
			t.Fatal(err)
		}
		if got := Origins(addr); !slices.Equal(got, c.want) {
			t.Errorf("Origins(%s): got %q, want %q", c.addr, got, c.want)
		}
	}
}
