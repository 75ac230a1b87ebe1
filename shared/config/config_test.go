package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func lookup(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

func TestLoad(t *testing.T) {
	t.Run("OK", func(t *testing.T) {
		c, err := Load(lookup(map[string]string{
			"DATABASE_URL": "postgres://x", "CORS_ALLOWED_ORIGINS": " https://a.ru, ,https://b.ru ",
			"S3_USE_SSL": "true", "CACHE_TTL": "30s", "DATABASE_REPLICA_URLS": "postgres://2,postgres://3",
		}))
		if err != nil {
			t.Fatal(err)
		}
		if len(c.CORSOrigins) != 2 || c.CORSOrigins[1] != "https://b.ru" || !c.S3UseSSL || c.CacheTTL != 30*time.Second || len(c.ReplicaURLs) != 2 {
			t.Fatalf("got %+v", c)
		}
		if c.ClientAddrHeader != "" || c.GatewayURL != "" || c.DBWriters != nil {
			t.Fatalf("got edge header %q, gateway %q, writers %v, want none by default", c.ClientAddrHeader, c.GatewayURL, c.DBWriters)
		}
		if c.ReadURL() != "postgres://x" || c.SecretsDir != DefaultSecretsDir || c.Namespace != DefaultNamespace || c.WritelogReplicas != 1 {
			t.Fatalf("got defaults %+v", c)
		}
	})
	t.Run("OKCluster", func(t *testing.T) {
		c, err := Load(lookup(map[string]string{"NATS_URL": " nats://n1:4222, nats://n2:4222 ,,nats://n3:4222", "WRITELOG_REPLICAS": "3"}))
		if err != nil {
			t.Fatal(err)
		}
		if c.NatsURL != "nats://n1:4222,nats://n2:4222,nats://n3:4222" || c.WritelogReplicas != 3 {
			t.Fatalf("got NATS_URL %q with %d replicas, want the three servers and 3", c.NatsURL, c.WritelogReplicas)
		}
	})
	t.Run("EdgeAndGateway", func(t *testing.T) {
		c, err := Load(lookup(map[string]string{"CLIENT_ADDR_HEADER": "x-real-ip", "GATEWAY_URL": "http://10.62.0.1:8080/", "DB_WRITERS": "db-writer, db-writer-2"}))
		if err != nil {
			t.Fatal(err)
		}
		if c.ClientAddrHeader != "X-Real-Ip" || c.GatewayURL != "http://10.62.0.1:8080" || strings.Join(c.DBWriters, "|") != "db-writer|db-writer-2" {
			t.Fatalf("got %q %q %q, want X-Real-Ip, the URL without its slash, both writers", c.ClientAddrHeader, c.GatewayURL, c.DBWriters)
		}
	})
	for name, env := range map[string]map[string]string{
		"ErrBadBool":      {"S3_USE_SSL": "maybe"},
		"ErrBadTTL":       {"CACHE_TTL": "-1s"},
		"ErrBadEntries":   {"CACHE_MAX_ENTRIES": "lots"},
		"ErrBadNamespace": {"DOSTUPNO_NAMESPACE": "a.b>"},
		"ErrBadReplicas":  {"WRITELOG_REPLICAS": "7"},
		"ErrBadHeader":    {"CLIENT_ADDR_HEADER": "X-Real-IP: 1"},
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := Load(lookup(env)); err == nil {
				t.Fatal("got nil error, want one")
			}
		})
	}
}

func TestSecret(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "jwt-secret"), []byte("  s3cr3t\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c := Config{SecretsDir: dir}
	got, err := c.Secret("jwt-secret")
	if err != nil || string(got) != "s3cr3t" {
		t.Fatalf("got %q, %v; want s3cr3t", got, err)
	}
	if _, err := c.Secret("../etc/passwd"); err == nil {
		t.Fatal("got nil error for a path, want one")
	}
	if _, err := c.Secret("absent"); err == nil {
		t.Fatal("got nil error for a missing secret, want one")
	}
}

func TestRequire(t *testing.T) {
	if err := (Config{}).Require("DATABASE_URL", "NATS_URL"); err == nil {
		t.Fatal("got nil, want missing variables")
	}
	if err := (Config{DatabaseURL: "x", NatsURL: "y"}).Require("DATABASE_URL", "NATS_URL"); err != nil {
		t.Fatal(err)
	}
}
