package function

import (
	"bytes"
	"encoding/json"
	"net/http"
	"testing"

	getevent "github.com/dostupno/dostupno/functions/get-event"
	searchevents "github.com/dostupno/dostupno/functions/search-events"
	"github.com/dostupno/dostupno/shared/apitest"
	"github.com/dostupno/dostupno/shared/photo/phototest"
)

// The photos an admin uploads are listed by get-event, in upload order, with URLs that serve
// the uploaded bytes; search summaries carry the first as cover_url.
func TestUploadListedByGetEvent(t *testing.T) {
	t.Parallel()
	for _, public := range []bool{false, true} {
		name := "Presigned"
		if public {
			name = "PublicBase"
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, public)
			ge := apitest.New(t, getevent.Name, getevent.New, apitest.WithConfigOf(e.Env))

			if got := eventPhotos(t, ge.URL); len(got) != 0 {
				t.Fatalf("got %d photos before any upload, want 0", len(got))
			}
			images := [][]byte{phototest.PNG(t, 21, 13), phototest.JPEG(t, 8, 5)}
			types := []string{"image/png", "image/jpeg"}
			var urls []string
			for i, img := range images {
				a := e.post(t, "POST", "/10", e.admin, types[i], bytes.NewReader(img))
				if a.status != 201 {
					t.Fatalf("upload %d: got %d %q, want 201", i, a.status, a.code)
				}
				urls = append(urls, a.photo.URL)
			}
			got := eventPhotos(t, ge.URL)
			if len(got) != 2 {
				t.Fatalf("got %d photos, want 2", len(got))
			}
			for i, p := range got {
				if p.URL != urls[i] || p.ContentType != types[i] {
					t.Fatalf("photo %d: got %+v, want %s at %s", i, p, types[i], urls[i])
				}
				if status, body := fetch(t, p.URL); status != 200 || !bytes.Equal(body, images[i]) {
					t.Fatalf("photo %d: got %d and %d bytes, want 200 and the %d bytes uploaded", i, status, len(body), len(images[i]))
				}
			}
			if got[0].Width != 21 || got[0].Height != 13 {
				t.Fatalf("got %d×%d, want 21×13", got[0].Width, got[0].Height)
			}

			se := apitest.New(t, searchevents.Name, searchevents.New, apitest.WithConfigOf(e.Env))
			if cover := coverURL(t, se.URL+"/?city=moscow"); cover == nil || *cover != urls[0] {
				t.Fatalf("got cover_url %v, want the first photo %s", cover, urls[0])
			}
		})
	}
}

type listedPhoto struct {
	URL         string `json:"url"`
	Width       int    `json:"width"`
	Height      int    `json:"height"`
	ContentType string `json:"content_type"`
}

func eventPhotos(t *testing.T, base string) []listedPhoto {
	t.Helper()
	resp, b := apitest.Do(t, http.MethodGet, base+"/10", nil, "Cache-Control", "no-cache")
	if resp.StatusCode != 200 {
		t.Fatalf("get-event: got %d, want 200", resp.StatusCode)
	}
	var ev struct {
		Photos []listedPhoto `json:"photos"`
	}
	if err := json.Unmarshal(b, &ev); err != nil {
		t.Fatal(err)
	}
	return ev.Photos
}

func coverURL(t *testing.T, url string) *string {
	t.Helper()
	resp, b := apitest.Do(t, http.MethodGet, url, nil, "Cache-Control", "no-cache")
	var page struct {
		Items []struct {
			ID       int64   `json:"id"`
			CoverURL *string `json:"cover_url"`
		} `json:"items"`
	}
	if err := json.Unmarshal(b, &page); err != nil || resp.StatusCode != 200 {
		t.Fatalf("search-events: got %d, %v; want 200 and a page", resp.StatusCode, err)
	}
	if len(page.Items) != 1 || page.Items[0].ID != 10 {
		t.Fatalf("got %+v, want event 10 alone", page.Items)
	}
	return page.Items[0].CoverURL
}
