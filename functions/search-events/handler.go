// Package function is the search-events OpenFaaS function: GET / searches events by
// accessibility constraints; GET /constraints serves the catalog of codes, profiles, cities
// and categories.
package function

import (
	"net/http"
	"time"

	"github.com/dostupno/dostupno/shared/apperr"
	"github.com/dostupno/dostupno/shared/catalog"
	"github.com/dostupno/dostupno/shared/hotcache"
	"github.com/dostupno/dostupno/shared/httpjson"
	"github.com/dostupno/dostupno/shared/instance"
	"github.com/dostupno/dostupno/shared/middleware"
	"github.com/dostupno/dostupno/shared/search"
)

// Name is the function's name in stack.yml.
const Name = "search-events"

// Handle is the OpenFaaS entry point.
var Handle = instance.Handle(Name, New)

// New builds the function's handler from its dependencies.
func New(d *instance.Deps) (http.Handler, error) {
	h, err := NewServer(d)
	if err != nil {
		return nil, err
	}
	return h.Handler(), nil
}

// Server is the function's state for one instance. Needs is the personalisation hook: when
// set, a search without constraints and profile (and without personalize=false) applies the
// saved needs of the user whose verified token the request carries.
type Server struct {
	*instance.ReadServer
	now func() time.Time

	Needs search.NeedsSource
}

// NewServer builds the instance state; Handler serves it.
func NewServer(d *instance.Deps) (*Server, error) {
	rs, err := instance.NewReadServer(d, func(rd *search.Reader) map[string]hotcache.Source {
		return map[string]hotcache.Source{search.KindSearch: &search.SearchSource{Vocab: rd.Vocab, PhotoURL: rd.PhotoURL, Now: time.Now}}
	})
	if err != nil {
		return nil, err
	}
	// Saved needs of the token's user, dropped on user changes.
	return &Server{ReadServer: rs, now: time.Now, Needs: instance.NeedsFor(d, rs.DB)}, nil
}

// Handler is the HTTP handler of the function behind the common middleware.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/constraints", s.constraints)
	mux.HandleFunc("/{$}", s.search)
	mux.HandleFunc("/", s.notFound)
	return middleware.WrapRead(s.Deps, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "" {
			r.URL.Path = "/"
		}
		mux.ServeHTTP(w, r)
	}))
}

func (s *Server) search(w http.ResponseWriter, r *http.Request) {
	if err := httpjson.Method(w, r, http.MethodGet, http.MethodHead); err != nil {
		s.Fail(w, r, err)
		return
	}
	ctx := r.Context()
	vocab, err := s.Vocab.Get(ctx)
	if err != nil {
		s.Fail(w, r, apperr.Wrap(err, "search: vocabulary"))
		return
	}
	q, err := search.ParseQuery(r.URL.RawQuery, vocab, s.now())
	if err != nil {
		s.Fail(w, r, err)
		return
	}
	if p, signedIn := middleware.Principal(ctx); signedIn && !q.Asked && q.Personalize && s.Needs != nil {
		codes, ok, err := s.Needs.Needs(ctx, p.UserID)
		if err != nil {
			s.Fail(w, r, err)
			return
		}
		if ok {
			q.SetCodes(vocab, codes)
		}
	}
	if err := q.Check(); err != nil {
		s.Fail(w, r, err)
		return
	}
	entry, from, err := hotcache.ReadThrough(s.Cache, q.CacheKey(), !middleware.NoCache(r), func() (hotcache.Entry, error) {
		return search.SearchEntry(ctx, s.DB, s.Shared, vocab, &q, s.PhotoURL)
	})
	if err != nil {
		s.Fail(w, r, internal(err, "search"))
		return
	}
	w.Header().Set("X-Cache", string(from))
	httpjson.WriteRaw(w, http.StatusOK, entry.Body)
}

type catalogResponse struct {
	Constraints []catalog.Constraint `json:"constraints"`
	Profiles    []catalog.Profile    `json:"profiles"`
	Cities      []catalog.Place      `json:"cities"`
	Categories  []catalog.Place      `json:"categories"`
}

func (s *Server) constraints(w http.ResponseWriter, r *http.Request) {
	if err := httpjson.Method(w, r, http.MethodGet, http.MethodHead); err != nil {
		s.Fail(w, r, err)
		return
	}
	ctx := r.Context()
	vocab, err := catalog.LoadVocabulary(ctx, s.DB)
	if err != nil {
		s.Fail(w, r, apperr.Wrap(err, "constraints"))
		return
	}
	resp := catalogResponse{Constraints: vocab.Constraints, Profiles: vocab.Profiles}
	if resp.Cities, err = catalog.Places(ctx, s.DB, "cities"); err == nil {
		resp.Categories, err = catalog.Places(ctx, s.DB, "categories")
	}
	if err != nil {
		s.Fail(w, r, apperr.Wrap(err, "constraints"))
		return
	}
	httpjson.Write(w, http.StatusOK, resp)
}

// internal keeps a domain error (e.g. unavailable on a cancelled query) and marks any other
// error internal.
func internal(err error, what string) error {
	if err = apperr.FromDB(err, what); apperr.CodeOf(err) != apperr.Internal {
		return err
	}
	return apperr.Wrap(err, "%s", what)
}

func (s *Server) notFound(w http.ResponseWriter, r *http.Request) {
	s.Fail(w, r, httpjson.NoPath(r, Name))
}
