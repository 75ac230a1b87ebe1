// Package config reads a function's configuration from the environment and its secrets from
// OpenFaaS secret files. faasd and the local runner give the same variables (README,
// "Configuration").
package config

import (
	"fmt"
	"net/textproto"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Config is everything a function or the ops CLI needs to reach its services.
type Config struct {
	DatabaseURL     string   // the Postgres copy this instance reads and (db-writer) applies to
	DatabaseReadURL string   // optional read copy for the read functions
	ReplicaURLs     []string // local runner only: further copies
	Replica         string   // name of the copy DatabaseURL points at, e.g. "primary", "copy-2"
	NatsURL         string
	Namespace       string // prefix of every stream, bucket and subject; tests set their own
	S3Endpoint      string
	S3Bucket        string
	S3UseSSL        bool
	PublicPhotoBase string
	CORSOrigins     []string
	SecretsDir      string
	CacheEntries    int           // per-instance cache bound (entries)
	CacheBytes      int64         // per-instance cache bound (bytes)
	CacheTTL        time.Duration // age bound of a cache entry

	// NatsURL may be a comma list: the servers of a JetStream cluster. WritelogReplicas is how
	// many of them hold the write log and the key-value buckets (WRITELOG_REPLICAS: 1 on one
	// server, 3 in a cluster).
	WritelogReplicas int

	// ClientAddrHeader is the header the edge in front of the gateway writes with the client's
	// address (README, "Client address"); empty means no edge, and per-address limits are weak.
	ClientAddrHeader string
	// GatewayURL is the gateway as a function reaches it (catch-up calls the db-writers there).
	GatewayURL string
	// DBWriters names the db-writer functions, one per copy (catch-up calls each).
	DBWriters []string
}

// Defaults used when a variable is absent.
const (
	DefaultSecretsDir   = "/var/openfaas/secrets"
	DefaultNamespace    = "dostupno"
	DefaultBucket       = "dostupno-photos"
	DefaultCacheEntries = 20000
	DefaultCacheBytes   = 64 << 20
	DefaultCacheTTL     = 5 * time.Minute
)

// FromEnv reads the process environment.
func FromEnv() (Config, error) { return Load(os.LookupEnv) }

// Load reads configuration through lookup (os.LookupEnv, or a map in tests and the runner).
func Load(lookup func(string) (string, bool)) (Config, error) {
	get := func(k, def string) string {
		if v, ok := lookup(k); ok && strings.TrimSpace(v) != "" {
			return strings.TrimSpace(v)
		}
		return def
	}
	c := Config{
		DatabaseURL:     get("DATABASE_URL", ""),
		DatabaseReadURL: get("DATABASE_READ_URL", ""),
		ReplicaURLs:     List(get("DATABASE_REPLICA_URLS", "")),
		Replica:         get("REPLICA_NAME", "primary"),
		NatsURL:         strings.Join(List(get("NATS_URL", "")), ","),
		Namespace:       get("DOSTUPNO_NAMESPACE", DefaultNamespace),
		S3Endpoint:      get("S3_ENDPOINT", ""),
		S3Bucket:        get("S3_BUCKET", DefaultBucket),
		PublicPhotoBase: strings.TrimRight(get("PUBLIC_PHOTO_BASE_URL", ""), "/"),
		CORSOrigins:     List(get("CORS_ALLOWED_ORIGINS", "")),
		SecretsDir:      get("SECRETS_DIR", DefaultSecretsDir),
		CacheEntries:    DefaultCacheEntries,
		CacheBytes:      DefaultCacheBytes,
		CacheTTL:        DefaultCacheTTL,

		ClientAddrHeader: textproto.CanonicalMIMEHeaderKey(get("CLIENT_ADDR_HEADER", "")),
		GatewayURL:       strings.TrimRight(get("GATEWAY_URL", ""), "/"),
		DBWriters:        List(get("DB_WRITERS", "")),
	}
	var err error
	if c.S3UseSSL, err = parseBool("S3_USE_SSL", get("S3_USE_SSL", "false")); err != nil {
		return c, err
	}
	if c.WritelogReplicas, err = strconv.Atoi(get("WRITELOG_REPLICAS", "1")); err != nil || c.WritelogReplicas < 1 || c.WritelogReplicas > 5 {
		return c, fmt.Errorf("WRITELOG_REPLICAS=%q: want 1 to 5 (3 in a cluster of three servers)", get("WRITELOG_REPLICAS", ""))
	}
	if v := get("CACHE_MAX_ENTRIES", ""); v != "" {
		if c.CacheEntries, err = strconv.Atoi(v); err != nil || c.CacheEntries < 0 {
			return c, fmt.Errorf("CACHE_MAX_ENTRIES=%q: want a whole number of entries", v)
		}
	}
	if v := get("CACHE_MAX_BYTES", ""); v != "" {
		if c.CacheBytes, err = strconv.ParseInt(v, 10, 64); err != nil || c.CacheBytes < 0 {
			return c, fmt.Errorf("CACHE_MAX_BYTES=%q: want a whole number of bytes", v)
		}
	}
	if v := get("CACHE_TTL", ""); v != "" {
		if c.CacheTTL, err = time.ParseDuration(v); err != nil || c.CacheTTL <= 0 {
			return c, fmt.Errorf("CACHE_TTL=%q: want a duration such as 5m", v)
		}
	}
	if h := c.ClientAddrHeader; h != "" && !validName(h) {
		return c, fmt.Errorf("CLIENT_ADDR_HEADER=%q: want a header name such as X-Real-Ip", h)
	}
	if !validName(c.Namespace) {
		return c, fmt.Errorf("DOSTUPNO_NAMESPACE=%q: want letters, digits, '-' or '_'", c.Namespace)
	}
	return c, nil
}

func parseBool(name, v string) (bool, error) {
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, fmt.Errorf("%s=%q: want true or false", name, v)
	}
	return b, nil
}

func validName(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			return false
		}
	}
	return true
}

// List splits a comma list, trimming blanks and dropping empty items.
func List(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// ReadURL is the URL the read functions query: the read copy if one is set.
func (c Config) ReadURL() string {
	if c.DatabaseReadURL != "" {
		return c.DatabaseReadURL
	}
	return c.DatabaseURL
}

// Secret reads the OpenFaaS secret file name under SecretsDir, trimmed of surrounding space.
func (c Config) Secret(name string) ([]byte, error) {
	if strings.ContainsAny(name, `/\`) || name == "" || name == "." || name == ".." {
		return nil, fmt.Errorf("secret name %q is not a plain file name", name)
	}
	b, err := os.ReadFile(filepath.Join(c.SecretsDir, name))
	if err != nil {
		return nil, fmt.Errorf("read secret %q from %s (set SECRETS_DIR or create the OpenFaaS secret): %w", name, c.SecretsDir, err)
	}
	return []byte(strings.TrimSpace(string(b))), nil
}

// Require returns an error naming every variable of names that is empty in c.
func (c Config) Require(names ...string) error {
	var missing []string
	for _, n := range names {
		var v string
		switch n {
		case "DATABASE_URL":
			v = c.DatabaseURL
		case "NATS_URL":
			v = c.NatsURL
		case "S3_ENDPOINT":
			v = c.S3Endpoint
		case "GATEWAY_URL":
			v = c.GatewayURL
		case "DB_WRITERS":
			v = strings.Join(c.DBWriters, ",")
		default:
			return fmt.Errorf("config.Require: unknown variable %s", n)
		}
		if v == "" {
			missing = append(missing, n)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("missing configuration: set %s", strings.Join(missing, ", "))
	}
	return nil
}
