package instance

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dostupno/dostupno/shared/config"
	"github.com/dostupno/dostupno/shared/hotcache"
	"github.com/dostupno/dostupno/shared/photo"
)

func TestPhotoURLs(t *testing.T) {
	withKeys := t.TempDir()
	for name, v := range map[string]string{"s3-access-key": "ak", "s3-secret-key": "sk"} {
		if err := os.WriteFile(filepath.Join(withKeys, name), []byte(v+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	noKeys := t.TempDir()
	tests := []struct {
		name      string
		cfg       config.Config
		wantErr   bool
		wantURL   string // prefix of URL("events/1/a.png")
		wantState string // public, presigned, none
	}{
		{"OKPublic", config.Config{PublicPhotoBase: "https://photos.dostupno.ru", S3Endpoint: "minio:9000"}, false, "https://photos.dostupno.ru/events/1/a.png", "public"},
		{"OKPresigned", config.Config{S3Endpoint: "127.0.0.1:9000", S3Bucket: "dostupno-photos", SecretsDir: withKeys, CacheTTL: 5 * time.Minute}, false, "http://127.0.0.1:9000/dostupno-photos/events/1/a.png?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=ak%2F", "presigned"},
		{"OKPresignedSSL", config.Config{S3Endpoint: "s3.dostupno.ru:443", S3UseSSL: true, S3Bucket: "p", SecretsDir: withKeys}, false, "https://s3.dostupno.ru/p/events/1/a.png?", "presigned"},
		{"OKNone", config.Config{}, false, "", "none"},
		{"ErrNoKeys", config.Config{S3Endpoint: "127.0.0.1:9000", S3Bucket: "b", SecretsDir: noKeys}, true, "", ""},
		{"ErrCacheOutlivesURLs", config.Config{S3Endpoint: "127.0.0.1:9000", S3Bucket: "b", SecretsDir: withKeys, CacheTTL: photo.MinValidity}, true, "", ""},
		{"ErrStaleOutlivesURLs", config.Config{S3Endpoint: "127.0.0.1:9000", S3Bucket: "b", SecretsDir: withKeys, CacheTTL: photo.MinValidity - hotcache.DefaultStale}, true, "", ""},
		{"ErrPublicNotHTTP", config.Config{PublicPhotoBase: "photos.dostupno.ru"}, true, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u, err := PhotoURLs(tt.cfg)
			if (err != nil) != tt.wantErr {
				t.Fatalf("got error %v, want error %v", err, tt.wantErr)
			}
			if err != nil {
				return
			}
			state := "none"
			if u.Public() {
				state = "public"
			} else if u.Configured() {
				state = "presigned"
			}
			if state != tt.wantState {
				t.Fatalf("got mode %s, want %s", state, tt.wantState)
			}
			got := u.URL("events/1/a.png")
			if (tt.wantURL == "" && got != "") || !strings.HasPrefix(got, tt.wantURL) {
				t.Fatalf("got URL %q, want it to start with %q", got, tt.wantURL)
			}
		})
	}
}
