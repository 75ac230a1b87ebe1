// Package function is the get-event OpenFaaS function: GET /{id} (or /?id={id}) answers one
// event with its full accessibility sheet, venue, price and photos, with an ETag; with
// Accept: application/ld+json, the same event as schema.org JSON-LD.
package function

import (
	"fmt"
	"mime"
	"net/http"
	"strconv"
	"strings"

	"github.com/dostupno/dostupno/shared/apperr"
	"github.com/dostupno/dostupno/shared/hotcache"
	"github.com/dostupno/dostupno/shared/httpjson"
	"github.com/dostupno/dostupno/shared/instance"
	"github.com/dostupno/dostupno/shared/middleware"
	"github.com/dostupno/dostupno/shared/search"
)

// Name is the function's name in stack.yml.
const Name = "get-event"

// Handle is the OpenFaaS entry point.
var Handle = instance.Handle(Name, New)

// New builds the function's handler from its dependencies.
func New(d *instance.Deps) (http.Handler, error) {
	s, err := NewServer(d)
	if err != nil {
		return nil, err
	}
	return s.Handler(), nil
}

// Server is the function's state for one instance.
type Server struct{ *instance.ReadServer }

// NewServer builds the instance state; Handler serves it.
func NewServer(d *instance.Deps) (*Server, error) {
	rs, err := instance.NewReadServer(d, func(rd *search.Reader) map[string]hotcache.Source {
		return map[string]hotcache.Source{search.KindEvent: &search.EventSource{Vocab: rd.Vocab, PhotoURL: rd.PhotoURL}}
	})
	if err != nil {
		return nil, err
	}
	return &Server{rs}, nil
}

// Handler is the HTTP handler of the function behind the common middleware.
func (s *Server) Handler() http.Handler { return middleware.WrapRead(s.Deps, http.HandlerFunc(s.get)) }

func (s *Server) get(w http.ResponseWriter, r *http.Request) {
	if err := httpjson.Method(w, r, http.MethodGet, http.MethodHead); err != nil {
		s.Fail(w, r, err)
		return
	}
	id, err := eventID(r)
	if err != nil {
		s.Fail(w, r, err)
		return
	}
	ctx := r.Context()
	// Both representations vary with Accept, so a shared cache keeps them apart.
	w.Header().Add("Vary", "Accept")
	ld := wantsLD(r.Header.Values("Accept"))
	key, load, contentType := search.EventCacheKey(id), search.EventEntry, "application/json"
	if ld {
		key, load, contentType = search.EventLDCacheKey(id), search.EventLDEntry, "application/ld+json"
	}
	entry, from, err := hotcache.ReadThrough(s.Cache, key, !middleware.NoCache(r), func() (hotcache.Entry, error) {
		vocab, err := s.Vocab.Get(ctx)
		if err != nil {
			return hotcache.Entry{}, fmt.Errorf("vocabulary: %w", err)
		}
		return load(ctx, s.DB, vocab, id, s.PhotoURL)
	})
	if err != nil {
		if apperr.CodeOf(err) == apperr.Internal {
			err = apperr.Wrap(err, "get-event")
		}
		s.Fail(w, r, err)
		return
	}
	w.Header().Set("X-Cache", string(from))
	answer(w, r, contentType, entry.Body, entry.ETag)
}

// answer writes the event with its ETag, or 304 when the client holds that version.
func answer(w http.ResponseWriter, r *http.Request, contentType string, body []byte, etag string) {
	w.Header().Set("ETag", etag)
	w.Header().Set("Cache-Control", "no-cache")
	if matches(r.Header.Values("If-None-Match"), etag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	httpjson.WriteRawAs(w, http.StatusOK, contentType, body)
}

// wantsLD reports whether the Accept headers prefer application/ld+json: named with a quality
// above 0 and not below that of application/json. Wildcards are the plain JSON's: a client
// that takes anything gets what it always got.
func wantsLD(accept []string) bool {
	var ld, plain float64 = -1, -1
	for _, h := range accept {
		for _, part := range strings.Split(h, ",") {
			mt, params, err := mime.ParseMediaType(strings.TrimSpace(part))
			if err != nil {
				continue
			}
			q := 1.0
			if v, ok := params["q"]; ok {
				if q, err = strconv.ParseFloat(v, 64); err != nil {
					continue
				}
			}
			switch mt {
			case "application/ld+json":
				ld = max(ld, q)
			case "application/json", "application/*", "*/*":
				plain = max(plain, q)
			}
		}
	}
	return ld > 0 && ld >= plain
}

// matches reports whether an If-None-Match list names etag (weak comparison, as RFC 9110
// asks for If-None-Match) or is "*".
func matches(headers []string, etag string) bool {
	for _, h := range headers {
		for _, t := range strings.Split(h, ",") {
			t = strings.TrimPrefix(strings.TrimSpace(t), "W/")
			if t == "*" || t == etag {
				return true
			}
		}
	}
	return false
}

// eventID reads the id from /{id} or ?id={id}.
func eventID(r *http.Request) (int64, error) {
	raw := strings.Trim(r.URL.Path, "/")
	if raw == "" {
		raw = r.URL.Query().Get("id")
		if raw == "" {
			return 0, apperr.Invalid("id", "give the event id: /function/get-event/{id} or ?id={id}")
		}
	}
	id, err := strconv.ParseInt(raw, 10, 64)
	if err != nil || id <= 0 {
		return 0, apperr.Invalid("id", "id must be a positive integer")
	}
	return id, nil
}
