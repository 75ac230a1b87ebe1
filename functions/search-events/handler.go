// Package function is the search-events OpenFaaS function: GET / searches events by
// accessibility constraints; GET /constraints serves the catalog of codes, profiles, cities
// and categories.
package function

import (
	"net/http"

	"github.com/dostupno/dostupno/shared/apperr"
	"github.com/dostupno/dostupno/shared/catalog"
	"github.com/dostupno/dostupno/shared/httpjson"
	"github.com/dostupno/dostupno/shared/instance"
	"github.com/dostupno/dostupno/shared/middleware"
	"github.com/dostupno/dostupno/shared/pgdb"
)

// Name is the function's name in stack.yml.
const Name = "search-events"

var handler = instance.Once(Name, New)

// Handle is the OpenFaaS entry point.
func Handle(w http.ResponseWriter, r *http.Request) { instance.Serve(w, r, handler) }

// New builds the function's handler from its dependencies.
func New(d *instance.Deps) (http.Handler, error) {
	if err := d.Config.Require("DATABASE_URL"); err != nil {
		return nil, err
	}
	pool, err := d.ReadPool()
	if err != nil {
		return nil, err
	}
	s := &server{deps: d, db: pool}
	mux := http.NewServeMux()
	mux.HandleFunc("/constraints", s.constraints)
	mux.HandleFunc("/", s.notFound)
	return middleware.Wrap(d, mux), nil
}

type server struct {
	deps *instance.Deps
	db   pgdb.DBTX
}

type catalogResponse struct {
	Constraints []catalog.Constraint `json:"constraints"`
	Profiles    []catalog.Profile    `json:"profiles"`
	Cities      []catalog.Place      `json:"cities"`
	Categories  []catalog.Place      `json:"categories"`
}

func (s *server) constraints(w http.ResponseWriter, r *http.Request) {
	if err := httpjson.Method(w, r, http.MethodGet, http.MethodHead); err != nil {
		httpjson.Error(w, r, s.deps.Log, err)
		return
	}
	ctx := r.Context()
	vocab, err := catalog.LoadVocabulary(ctx, s.db)
	if err != nil {
		httpjson.Error(w, r, s.deps.Log, apperr.Wrap(err, "constraints"))
		return
	}
	resp := catalogResponse{Constraints: vocab.Constraints, Profiles: vocab.Profiles}
	if resp.Cities, err = catalog.Places(ctx, s.db, "cities"); err == nil {
		resp.Categories, err = catalog.Places(ctx, s.db, "categories")
	}
	if err != nil {
		httpjson.Error(w, r, s.deps.Log, apperr.Wrap(err, "constraints"))
		return
	}
	httpjson.Write(w, http.StatusOK, resp)
}

func (s *server) notFound(w http.ResponseWriter, r *http.Request) {
	httpjson.Error(w, r, s.deps.Log, apperr.New(apperr.NotFound, "no such path %s in %s", r.URL.Path, Name))
}
