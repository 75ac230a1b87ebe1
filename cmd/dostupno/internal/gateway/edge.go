package gateway

import (
	"net"
	"net/http"
)

// EdgeHeader is the header the edge writes with the client's address (deploy/Caddyfile:
// header_up X-Real-IP {remote_host}); functions read it when CLIENT_ADDR_HEADER names it.
const EdgeHeader = "X-Real-Ip"

// Edge plays the TLS edge of a deployment (deploy/Caddyfile) in front of next: from the TCP
// peer's address it writes EdgeHeader and X-Forwarded-For, replacing whatever the client sent
// in them, and X-Forwarded-Proto and X-Forwarded-Host, as Caddy's reverse_proxy does for a
// client that is not one of its trusted proxies. The runner has no TLS, so the protocol is
// http.
func Edge(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host, _, err := net.SplitHostPort(r.RemoteAddr)
		if err != nil {
			host = r.RemoteAddr
		}
		r2 := r.Clone(r.Context())
		r2.Header.Set(EdgeHeader, host)
		r2.Header.Set("X-Forwarded-For", host)
		r2.Header.Set("X-Forwarded-Proto", "http")
		r2.Header.Set("X-Forwarded-Host", r.Host)
		next.ServeHTTP(w, r2)
	})
}
