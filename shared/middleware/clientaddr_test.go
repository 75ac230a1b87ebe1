package middleware

import (
	"bytes"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/dostupno/dostupno/shared/config"
	"github.com/dostupno/dostupno/shared/instance"
)

func TestClientAddr(t *testing.T) {
	const edge = "X-Real-Ip"
	tests := []struct {
		name, header, real, xff, remote, want string
	}{
		// With an edge: its header, whatever the client wrote in X-Forwarded-For.
		{"EdgeWrote", edge, "203.0.113.9", "6.6.6.6", "127.0.0.1:4711", "203.0.113.9"},
		{"EdgeWroteWithPort", edge, "203.0.113.9:50001", "", "127.0.0.1:4711", "203.0.113.9"},
		{"EdgeWroteIPv6", edge, "2001:db8:1:2:aaaa::1", "", "127.0.0.1:4711", "2001:db8:1:2::/64"},
		{"EdgeWroteIPv6SameSlash64", edge, "[2001:db8:1:2:ffff::9]:443", "", "127.0.0.1:4711", "2001:db8:1:2::/64"},
		{"EdgeWroteMappedIPv4", edge, "::ffff:203.0.113.9", "", "127.0.0.1:4711", "203.0.113.9"},
		{"EdgeAppendedLastHop", edge, "6.6.6.6, 203.0.113.9", "", "127.0.0.1:4711", "203.0.113.9"},
		{"EdgeHeaderMissing", edge, "", "198.51.100.4:7", "127.0.0.1:4711", "198.51.100.4"},
		{"EdgeHeaderGarbage", edge, "not an address", "198.51.100.4", "127.0.0.1:4711", "198.51.100.4"},
		// Without an edge: X-Forwarded-For as the gateway leaves it (ip:port it set, or what the
		// client sent), else the peer; the port is dropped either way.
		{"GatewaySetIPPort", "", "203.0.113.9", "203.0.113.7:50001", "10.62.0.1:8080", "203.0.113.7"},
		{"GatewaySetIPv6Port", "", "", "[2001:db8::7]:50001", "10.62.0.1:8080", "2001:db8::/64"},
		{"ClientWroteSeveralHops", "", "", "6.6.6.6, 198.51.100.1", "10.62.0.1:8080", "198.51.100.1"},
		{"Peer", "", "", "", "203.0.113.5:4711", "203.0.113.5"},
		{"PeerIPv6", "", "", "", "[2001:db8::1]:443", "2001:db8::/64"},
		{"TrailingComma", "", "", "203.0.113.7,", "10.0.0.3:80", "10.0.0.3"},
		{"BlankHeader", "", "", " ", "203.0.113.5:1", "203.0.113.5"},
		{"TooLong", "", "", strings.Repeat("1", 80), "203.0.113.5:1", "203.0.113.5"},
		{"ZoneDropped", "", "", "fe80::1%eth0", "203.0.113.5:1", "fe80::/64"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/", nil)
			r.RemoteAddr = tt.remote
			if tt.real != "" {
				r.Header.Set(edge, tt.real)
			}
			if tt.xff != "" {
				r.Header.Set("X-Forwarded-For", tt.xff)
			}
			var got string
			ClientAddresses(tt.header, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { got = ClientAddr(r) })).ServeHTTP(httptest.NewRecorder(), r)
			if got != tt.want {
				t.Fatalf("got %q, want %q", got, tt.want)
			}
		})
	}
	t.Run("NotWrapped", func(t *testing.T) {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = "203.0.113.5:1"
		r.Header.Set(edge, "198.51.100.1")
		if got := ClientAddr(r); got != "203.0.113.5" {
			t.Fatalf("got %q, want the peer 203.0.113.5 (no edge configured)", got)
		}
	})
}

// A function configured with no edge says at start that per-address limits are weak, and still
// serves; one configured with an edge says nothing of it.
func TestWrapWarnsWithoutAnEdge(t *testing.T) {
	for header, warn := range map[string]bool{"": true, "X-Real-Ip": false} {
		var logs bytes.Buffer
		d := instance.New("f", config.Config{SecretsDir: t.TempDir(), ClientAddrHeader: header}, slog.New(slog.NewTextHandler(&logs, nil)))
		h := Wrap(d, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte(ClientAddr(r))) }))
		if got := strings.Contains(logs.String(), "per-address limits (login throttling) are weak"); got != warn {
			t.Fatalf("header %q: got warning %v in %q, want %v", header, got, logs.String(), warn)
		}
		r := httptest.NewRequest("GET", "/", nil)
		r.Header.Set("X-Real-Ip", "198.51.100.1")
		r.Header.Set("X-Forwarded-For", "203.0.113.7:50001")
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		want := map[string]string{"": "203.0.113.7", "X-Real-Ip": "198.51.100.1"}[header]
		if w.Code != 200 || w.Body.String() != want {
			t.Fatalf("header %q: got %d %q, want 200 %q", header, w.Code, w.Body.String(), want)
		}
	}
}
