package function

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"image/color"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/dostupno/dostupno/shared/apitest"
	"github.com/dostupno/dostupno/shared/catalog"
	"github.com/dostupno/dostupno/shared/config"
	"github.com/dostupno/dostupno/shared/photo"
	"github.com/dostupno/dostupno/shared/photo/phototest"
	"github.com/dostupno/dostupno/shared/token"
)

type env struct {
	*apitest.Env
	admin, user string // Authorization header values
}

// newEnv serves the function on its own database, namespace and bucket, with one event (id 10).
func newEnv(t *testing.T, publicBase bool) *env {
	t.Helper()
	e := apitest.New(t, Name, New, apitest.WithNATS(), apitest.WithS3(), apitest.WithConfig(func(c *config.Config) {
		c.CacheTTL = config.DefaultCacheTTL
		if publicBase {
			c.PublicPhotoBase = "http://" + c.S3Endpoint + "/" + c.S3Bucket
		}
	}))
	ctx := context.Background()
	vocab, err := catalog.LoadVocabulary(ctx, e.Pool)
	if err != nil {
		t.Fatal(err)
	}
	ev := catalog.Event{ID: 10, Title: "Спектакль", Category: "theatre", City: "moscow",
		Venue: catalog.Venue{ID: 3, Name: "Театр"}, StartsAt: time.Date(2027, 3, 1, 16, 0, 0, 0, time.UTC), Timezone: "Europe/Moscow"}
	if _, err := catalog.UpsertEvents(ctx, e.Pool, vocab, 1, time.Now(), []catalog.Event{ev}); err != nil {
		t.Fatal(err)
	}
	return &env{Env: e, admin: apitest.Bearer(e.Admin), user: apitest.Bearer(e.User)}
}

type answer struct {
	status int
	photo  struct {
		URL         string `json:"url"`
		Width       int    `json:"width"`
		Height      int    `json:"height"`
		ContentType string `json:"content_type"`
	}
	code string
}

func (e *env) post(t *testing.T, method, path, auth, contentType string, body io.Reader) answer {
	t.Helper()
	resp, b := e.Do(t, method, path, body, "Authorization", auth, "Content-Type", contentType)
	a := answer{status: resp.StatusCode}
	if resp.StatusCode != http.StatusCreated {
		a.code = apitest.ErrorOf(t, b).Code
		return a
	}
	var out struct {
		Photo json.RawMessage `json:"photo"`
	}
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatalf("got an undecodable 201 answer: %v", err)
	}
	if err := json.Unmarshal(out.Photo, &a.photo); err != nil {
		t.Fatal(err)
	}
	return a
}

// fetch GETs url (a photo's) and returns the status and the body.
func fetch(t *testing.T, url string) (int, []byte) {
	t.Helper()
	resp, b := apitest.Do(t, http.MethodGet, url, nil)
	return resp.StatusCode, b
}

// onlyReader hides a body's length, so the request is sent chunked.
type onlyReader struct{ io.Reader }

func TestUpload(t *testing.T) {
	t.Parallel()
	e := newEnv(t, false)
	png := phototest.PNG(t, 64, 48)
	big := make([]byte, 11<<20)
	copy(big, png)
	tests := []struct {
		name        string
		method      string
		path        string
		auth        string
		contentType string
		body        io.Reader
		wantStatus  int
		wantCode    string
		wantW       int
		wantH       int
	}{
		{"OKPNG", "POST", "/10", e.admin, "image/png", bytes.NewReader(png), 201, "", 64, 48},
		{"OKJPEG", "POST", "/10", e.admin, "image/jpeg", bytes.NewReader(phototest.JPEG(t, 30, 20)), 201, "", 30, 20},
		{"OKWebP", "POST", "/10", e.admin, "image/webp", bytes.NewReader(phototest.WebP(9, 4, color.NRGBA{200, 0, 0, 255})), 201, "", 9, 4},
		{"ErrGIFLabelledPNG", "POST", "/10", e.admin, "image/png", bytes.NewReader(phototest.GIF(t, 8, 8)), 415, "unsupported_media_type", 0, 0},
		{"ErrHTMLLabelledPNG", "POST", "/10", e.admin, "image/png", strings.NewReader("<html><script>alert(1)</script></html>"), 415, "unsupported_media_type", 0, 0},
		{"ErrTextPlain", "POST", "/10", e.admin, "text/plain", strings.NewReader("hello"), 415, "unsupported_media_type", 0, 0},
		{"ErrElevenMiB", "POST", "/10", e.admin, "image/png", bytes.NewReader(big), 413, "payload_too_large", 0, 0},
		{"ErrElevenMiBChunked", "POST", "/10", e.admin, "image/png", onlyReader{bytes.NewReader(big)}, 413, "payload_too_large", 0, 0},
		{"ErrDimensionBomb", "POST", "/10", e.admin, "image/png", bytes.NewReader(phototest.PNGHeader(50_000, 50_000)), 413, "payload_too_large", 0, 0},
		{"ErrWebPBomb", "POST", "/10", e.admin, "image/webp", bytes.NewReader(phototest.WebP(16384, 16384, color.NRGBA{A: 255})), 413, "payload_too_large", 0, 0},
		{"ErrAnonymous", "POST", "/10", "", "image/png", bytes.NewReader(png), 401, "unauthenticated", 0, 0},
		{"ErrBadToken", "POST", "/10", "Bearer not.a.token", "image/png", bytes.NewReader(png), 401, "unauthenticated", 0, 0},
		{"ErrNotAdmin", "POST", "/10", e.user, "image/png", bytes.NewReader(png), 403, "forbidden", 0, 0},
		{"ErrTicketing", "POST", "/10", apitest.Bearer(e.Ticketing(t)), "image/png", bytes.NewReader(png), 403, "forbidden", 0, 0},
		// The admin's token version is 0: a token of another version was issued around a
		// password or role change that the copy does not hold.
		{"ErrStaleAdminToken", "POST", "/10", apitest.Bearer(e.TokenVersion(t, apitest.AdminID, token.RoleAdmin, 1)), "image/png", bytes.NewReader(png), 401, "unauthenticated", 0, 0},
		{"ErrAdminTokenOfNoUser", "POST", "/10", apitest.Bearer(e.Token(t, "9b8a7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d", token.RoleAdmin)), "image/png", bytes.NewReader(png), 401, "unauthenticated", 0, 0},
		{"ErrUnknownEvent", "POST", "/11", e.admin, "image/png", bytes.NewReader(png), 404, "not_found", 0, 0},
		{"ErrBadEventID", "POST", "/ten", e.admin, "image/png", bytes.NewReader(png), 400, "invalid_argument", 0, 0},
		{"ErrNoEventID", "POST", "/", e.admin, "image/png", bytes.NewReader(png), 400, "invalid_argument", 0, 0},
		{"ErrMethod", "GET", "/10", e.admin, "", nil, 405, "method_not_allowed", 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := e.post(t, tt.method, tt.path, tt.auth, tt.contentType, tt.body)
			if a.status != tt.wantStatus || a.code != tt.wantCode {
				t.Fatalf("got %d %q, want %d %q", a.status, a.code, tt.wantStatus, tt.wantCode)
			}
			if tt.wantStatus != 201 {
				return
			}
			if a.photo.Width != tt.wantW || a.photo.Height != tt.wantH || a.photo.ContentType != tt.contentType {
				t.Fatalf("got %+v, want %d×%d %s", a.photo, tt.wantW, tt.wantH, tt.contentType)
			}
		})
	}

	t.Run("OKRoundTripAndReadYourWrites", func(t *testing.T) {
		a := e.post(t, "POST", "/10", e.admin, "image/png", bytes.NewReader(png))
		if a.status != 201 {
			t.Fatalf("got %d %q, want 201", a.status, a.code)
		}
		status, got := fetch(t, a.photo.URL)
		if status != 200 || !bytes.Equal(got, png) {
			t.Fatalf("got %d and %d bytes from %s, want 200 and the %d bytes uploaded", status, len(got), a.photo.URL, len(png))
		}
		var keys []string
		rows, err := e.Pool.Query(context.Background(), `SELECT object_key FROM event_photos WHERE event_id = 10 ORDER BY position`)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var k string
			if err := rows.Scan(&k); err != nil {
				t.Fatal(err)
			}
			keys = append(keys, k)
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		// PNG, JPEG and WebP above; this PNG again is the same photo, not a fourth one.
		if len(keys) != 3 || !strings.HasPrefix(keys[0], "events/10/") || !strings.HasSuffix(keys[0], ".png") || !strings.Contains(a.photo.URL, keys[0]) {
			t.Fatalf("got keys %v and URL %s, want 3 photos, the PNG first and in the URL", keys, a.photo.URL)
		}
	})
}

func TestUploadPublicBase(t *testing.T) {
	t.Parallel()
	e := newEnv(t, true)
	jpg := phototest.JPEG(t, 12, 12)
	a := e.post(t, "POST", "/10", e.admin, "image/jpeg", bytes.NewReader(jpg))
	if a.status != 201 {
		t.Fatalf("got %d %q, want 201", a.status, a.code)
	}
	if !strings.HasPrefix(a.photo.URL, e.Config.PublicPhotoBase+"/"+photo.KeyPrefix) || strings.Contains(a.photo.URL, "X-Amz-") {
		t.Fatalf("got URL %s, want an unsigned URL under %s", a.photo.URL, e.Config.PublicPhotoBase)
	}
	if status, got := fetch(t, a.photo.URL); status != 200 || !bytes.Equal(got, jpg) {
		t.Fatalf("got %d and %d bytes, want 200 and the image", status, len(got))
	}
}

// An uploaded photo carrying GPS EXIF and XMP is stored without them, decodes to the same
// pixels, and its key is the hash of the stored bytes; the same image without its metadata
// is the same photo.
func TestUploadStripsMetadata(t *testing.T) {
	t.Parallel()
	e := newEnv(t, false)
	for _, c := range []struct {
		contentType string
		body        []byte
	}{
		{"image/jpeg", phototest.JPEGWithMetadata(t, 24, 16, 0)},
		{"image/png", phototest.PNGWithMetadata(t, 24, 16)},
		{"image/webp", phototest.WebPWithMetadata(6, 5, color.NRGBA{9, 8, 7, 255})},
	} {
		t.Run(c.contentType, func(t *testing.T) {
			a := e.post(t, "POST", "/10", e.admin, c.contentType, bytes.NewReader(c.body))
			if a.status != 201 {
				t.Fatalf("got %d %q, want 201", a.status, a.code)
			}
			status, stored := fetch(t, a.photo.URL)
			if status != 200 {
				t.Fatalf("got %d fetching %s, want 200", status, a.photo.URL)
			}
			for _, s := range phototest.Secrets {
				if bytes.Contains(stored, []byte(s)) {
					t.Errorf("got %q in the stored photo, want no metadata", s)
				}
			}
			sum := sha256.Sum256(stored)
			if !strings.Contains(a.photo.URL, "/"+hex.EncodeToString(sum[:])+".") {
				t.Errorf("got URL %s, want the key named by the hash of the stored bytes", a.photo.URL)
			}
			f, err := photo.Declared(c.contentType)
			if err != nil {
				t.Fatal(err)
			}
			if clean, err := photo.Strip(c.body, f); err != nil || !bytes.Equal(clean, stored) {
				t.Errorf("got %v and the stored bytes differing from the stripped upload, want them equal", err)
			}
		})
	}
}
