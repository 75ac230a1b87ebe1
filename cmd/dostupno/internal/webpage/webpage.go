// Package webpage serves the web page (the repository's web/ folder) on an origin of its own,
// as the local runner's `up --web-addr` does: the folder's files as they are, and a config.js
// that names the API the page calls across origins (README, "The web page").
package webpage

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
)

// Handler serves the files of dir, and /config.js naming apiURL (an origin such as
// http://127.0.0.1:8080) in place of dir's own. Folders are not listed and dot files are not
// served. Answers say no-cache, so an edited file shows on reload.
func Handler(dir, apiURL string) (http.Handler, error) {
	if _, err := os.Stat(filepath.Join(dir, "index.html")); err != nil {
		return nil, fmt.Errorf("the web page: %w", err)
	}
	api, err := url.Parse(apiURL)
	if err != nil || api.Scheme == "" || api.Host == "" {
		return nil, fmt.Errorf("the web page: API URL %q: want an origin such as http://127.0.0.1:8080", apiURL)
	}
	cfg, err := json.Marshal(apiURL)
	if err != nil {
		return nil, err
	}
	config := []byte("// Written by dostupno up: the API this page calls (web/config.js says how to set it elsewhere).\nexport default { api: " + string(cfg) + " };\n")
	csp := strings.Join([]string{
		"default-src 'self'", "script-src 'self'", "style-src 'self'",
		"img-src 'self' data: http: https:", // photos come from the S3 endpoint's presigned URLs
		"connect-src 'self' " + api.Scheme + "://" + api.Host,
		"base-uri 'none'", "form-action 'self'", "frame-ancestors 'none'", "object-src 'none'",
	}, "; ")
	files := http.FileServerFS(os.DirFS(dir))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Cache-Control", "no-cache")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Content-Security-Policy", csp)
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			h.Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		p := r.URL.Path
		if (strings.HasSuffix(p, "/") && p != "/") || strings.Contains(p, "/.") {
			http.NotFound(w, r)
			return
		}
		if p == "/config.js" {
			h.Set("Content-Type", "text/javascript; charset=utf-8")
			_, _ = w.Write(config) // a client that went away needs no answer
			return
		}
		files.ServeHTTP(w, r)
	}), nil
}

// URL is the http URL a browser on this machine uses for a listener's address: an
// unspecified host (0.0.0.0, ::) becomes 127.0.0.1.
func URL(addr net.Addr) string {
	host, port, err := net.SplitHostPort(addr.String())
	if err != nil {
		return "http://" + addr.String()
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, port)
}

// Origins are the browser origins of a page served at addr: its URL, and for a loopback or
// unspecified host the same port on localhost, since a person may type either.
func Origins(addr net.Addr) []string {
	u := URL(addr)
	out := []string{u}
	host, port, err := net.SplitHostPort(strings.TrimPrefix(u, "http://"))
	if ip := net.ParseIP(host); err == nil && ip != nil && ip.IsLoopback() {
		out = append(out, "http://"+net.JoinHostPort("localhost", port))
	}
	return out
}
