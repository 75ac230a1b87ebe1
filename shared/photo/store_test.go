package photo

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/dostupno/dostupno/shared/photo/phototest"
	"github.com/dostupno/dostupno/shared/s3test"
)

func get(t *testing.T, url string) (int, []byte, http.Header) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, b, resp.Header
}

func inspected(t *testing.T, b []byte, contentType string) Info {
	t.Helper()
	f, err := Declared(contentType)
	if err != nil {
		t.Fatal(err)
	}
	info, err := Inspect(b, f)
	if err != nil {
		t.Fatal(err)
	}
	return info
}

// put stores img (of contentType) as a photo of event eventID in s and returns its key and
// what Inspect read of it.
func put(t *testing.T, s *Store, eventID int64, img []byte, contentType string) (string, Info) {
	t.Helper()
	info := inspected(t, img, contentType)
	key, err := s.Put(context.Background(), eventID, info)
	if err != nil {
		t.Fatal(err)
	}
	return key, info
}

func presigned(t *testing.T, e *s3test.Env) *URLs {
	t.Helper()
	u, err := PresignedURLs(e.Endpoint, false, e.Bucket, "", e.AccessKey, e.SecretKey)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// bootstrapped is a store on e's bucket with urls, bootstrapped twice: the second finds the
// bucket (and its policy) in place.
func bootstrapped(t *testing.T, e *s3test.Env, urls *URLs) *Store {
	t.Helper()
	s, err := NewStore(context.Background(), e.Client, e.Bucket, urls)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := NewStore(context.Background(), e.Client, e.Bucket, urls); err != nil {
		t.Fatalf("second bootstrap: got %v, want nil", err)
	}
	return s
}

func TestStorePresigned(t *testing.T) {
	t.Parallel()
	e := s3test.New(t)
	ctx := context.Background()
	urls := presigned(t, e)
	s := bootstrapped(t, e, urls)
	img := phototest.PNG(t, 32, 24)
	key, info := put(t, s, 42, img, "image/png")
	if want := "events/42/" + info.SHA256 + ".png"; key != want {
		t.Fatalf("got key %q, want %q", key, want)
	}
	again, err := s.Put(ctx, 42, info)
	if err != nil || again != key {
		t.Fatalf("got %q, %v on a repeated put, want %q", again, err, key)
	}

	t.Run("OKRoundTripByteForByte", func(t *testing.T) {
		status, body, h := get(t, s.URL(key))
		if status != http.StatusOK || !bytes.Equal(body, img) {
			t.Fatalf("got %d and %d bytes, want 200 and the %d bytes uploaded", status, len(body), len(img))
		}
		if ct := h.Get("Content-Type"); ct != "image/png" {
			t.Fatalf("got Content-Type %q, want image/png", ct)
		}
	})
	t.Run("ErrAnonymousRefused", func(t *testing.T) {
		if status, _, _ := get(t, "http://"+e.Endpoint+"/"+e.Bucket+"/"+key); status != http.StatusForbidden {
			t.Fatalf("got %d, want 403 for an unsigned GET of a private bucket", status)
		}
	})
	t.Run("OKSignedSixDaysAgo", func(t *testing.T) {
		old := *urls
		old.now = func() time.Time { return time.Now().Add(-MinValidity + time.Hour) }
		if status, _, _ := get(t, old.URL(key)); status != http.StatusOK {
			t.Fatalf("got %d, want 200 for a URL made %s ago", status, MinValidity-time.Hour)
		}
	})
	t.Run("ErrExpired", func(t *testing.T) {
		old := *urls
		old.now = func() time.Time { return time.Now().Add(-PresignValidity - SignStep) }
		if status, _, _ := get(t, old.URL(key)); status != http.StatusForbidden {
			t.Fatalf("got %d, want 403 for an expired URL", status)
		}
	})
	t.Run("ErrTamperedKey", func(t *testing.T) {
		other := strings.Replace(s.URL(key), "/42/", "/43/", 1)
		if status, _, _ := get(t, other); status != http.StatusForbidden {
			t.Fatalf("got %d, want 403 for a URL whose path was changed", status)
		}
	})
	t.Run("OKStableAllDay", func(t *testing.T) {
		day := time.Date(2026, 11, 26, 0, 0, 0, 0, time.UTC)
		a, b := *urls, *urls
		a.now = func() time.Time { return day.Add(time.Minute) }
		b.now = func() time.Time { return day.Add(23 * time.Hour) }
		if a.URL(key) != b.URL(key) {
			t.Fatalf("got different URLs within one day:\n%s\n%s", a.URL(key), b.URL(key))
		}
		b.now = func() time.Time { return day.Add(25 * time.Hour) }
		if a.URL(key) == b.URL(key) {
			t.Fatal("got the same URL on the next day, want a fresh signature")
		}
	})
	t.Run("OKOneObject", func(t *testing.T) {
		n := 0
		for o := range e.Client.ListObjects(ctx, e.Bucket, minio.ListObjectsOptions{Recursive: true}) {
			if o.Err != nil {
				t.Fatal(o.Err)
			}
			n++
		}
		if n != 1 {
			t.Fatalf("got %d objects after two puts of one image, want 1", n)
		}
	})
}

func TestStorePublic(t *testing.T) {
	t.Parallel()
	e := s3test.New(t)
	ctx := context.Background()
	urls, err := PublicURLs("http://" + e.Endpoint + "/" + e.Bucket + "/")
	if err != nil {
		t.Fatal(err)
	}
	s := bootstrapped(t, e, urls)
	img := phototest.JPEG(t, 20, 10)
	key, _ := put(t, s, 7, img, "image/jpeg")
	if _, err := e.Client.PutObject(ctx, e.Bucket, "private/secret.txt", strings.NewReader("secret"), 6, minio.PutObjectOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Run("OKPhotoReadable", func(t *testing.T) {
		u := s.URL(key)
		if want := "http://" + e.Endpoint + "/" + e.Bucket + "/" + key; u != want {
			t.Fatalf("got URL %q, want %q", u, want)
		}
		status, body, _ := get(t, u)
		if status != http.StatusOK || !bytes.Equal(body, img) {
			t.Fatalf("got %d and %d bytes, want 200 and the image", status, len(body))
		}
	})
	t.Run("ErrOtherPrefixPrivate", func(t *testing.T) {
		if status, _, _ := get(t, "http://"+e.Endpoint+"/"+e.Bucket+"/private/secret.txt"); status != http.StatusForbidden {
			t.Fatalf("got %d, want 403 outside %s", status, KeyPrefix)
		}
	})
	t.Run("ErrNoListing", func(t *testing.T) {
		if status, _, _ := get(t, "http://"+e.Endpoint+"/"+e.Bucket+"/?list-type=2"); status != http.StatusForbidden {
			t.Fatalf("got %d, want 403 for an anonymous listing", status)
		}
	})
}

func TestPublicURLsRefusesNonHTTP(t *testing.T) {
	for _, base := range []string{"ftp://x/y", "photos", "http://"} {
		if _, err := PublicURLs(base); err == nil {
			t.Errorf("PublicURLs(%q): got nil error, want one", base)
		}
	}
}
