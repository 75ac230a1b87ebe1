package middleware

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strings"
)

type clientAddrKey struct{}

// ClientAddresses puts the client's address in the request context for ClientAddr, taken as
// the edge wrote it in header (README, "Client address"). The real gateway and provider set
// X-Forwarded-For only when the request has none, to the connection's ip:port, and never
// append, so behind them a client-written X-Forwarded-For arrives unchanged: only an edge that
// writes the address itself, replacing whatever the client sent, gives an address no client
// can choose. With header empty (no edge), or on a request that did not pass the edge (it
// lacks the header; the gateway's port is not public in a deployment), the address is the
// last X-Forwarded-For hop, else the peer: weak, since a client may write that header.
func ClientAddresses(header string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), clientAddrKey{}, clientAddr(r, header))))
	})
}

// warnNoEdge says at start, for a function configured without an edge, that per-address
// limits are weak.
func warnNoEdge(log *slog.Logger, header string) {
	if header == "" {
		log.Warn("no edge is configured (CLIENT_ADDR_HEADER is empty): the client address is the X-Forwarded-For a client may write itself, so per-address limits (login throttling) are weak; deploy the edge (README, \"Client address\")")
	}
}

// ClientAddr is the key of the request's client for per-address limits: an IPv4 address, or
// the /64 an IPv6 address belongs to (one subscriber usually holds a whole /64), without a
// port. ClientAddresses (in Wrap) decides it; a request that did not go through it is keyed as
// with no edge.
func ClientAddr(r *http.Request) string {
	if a, ok := r.Context().Value(clientAddrKey{}).(string); ok {
		return a
	}
	return clientAddr(r, "")
}

func clientAddr(r *http.Request, header string) string {
	if header != "" {
		if a, ok := lastAddr(r.Header.Values(header)); ok {
			return a
		}
	}
	if a, ok := lastAddr(r.Header.Values("X-Forwarded-For")); ok {
		return a
	}
	if a, ok := addrKey(r.RemoteAddr); ok {
		return a
	}
	return r.RemoteAddr
}

// lastAddr is the key of the last address of a header's values (an edge that appends puts the
// peer it saw last; one that replaces writes one address).
func lastAddr(values []string) (string, bool) {
	if len(values) == 0 {
		return "", false
	}
	v := values[len(values)-1]
	return addrKey(strings.TrimSpace(v[strings.LastIndexByte(v, ',')+1:]))
}

// addrKey reads "ip", "ip:port", "[ipv6]" or "[ipv6]:port" and returns its key: IPv4 (also
// when written as IPv4-mapped IPv6), or the IPv6 /64 prefix.
func addrKey(s string) (string, bool) {
	if len(s) == 0 || len(s) > 64 {
		return "", false
	}
	if host, _, err := net.SplitHostPort(s); err == nil {
		s = host
	} else {
		s = strings.TrimSuffix(strings.TrimPrefix(s, "["), "]")
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return "", false
	}
	a = a.WithZone("").Unmap()
	if a.Is4() {
		return a.String(), true
	}
	p, err := a.Prefix(64)
	if err != nil {
		return "", false
	}
	return p.String(), true
}
