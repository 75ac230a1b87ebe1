// Package function is the upsert-event OpenFaaS function (role admin): PUT / with one Event
// (application/json) or many (application/x-ndjson, one per line) writes them through the
// write log and answers once the primary copy serves them: 200 {"id","version"}, or
// {"count","version"} for NDJSON, version being the write-log sequence.
package function

import (
	"net/http"
	"time"

	"github.com/dostupno/dostupno/shared/catalog"
	"github.com/dostupno/dostupno/shared/httpjson"
	"github.com/dostupno/dostupno/shared/instance"
	"github.com/dostupno/dostupno/shared/middleware"
)

// Name is the function's name in stack.yml.
const Name = "upsert-event"

var handler = instance.Once(Name, New)

// Handle is the OpenFaaS entry point.
func Handle(w http.ResponseWriter, r *http.Request) { instance.Serve(w, r, handler) }

// New builds the function's handler from its dependencies; it refuses to start without its
// database, NATS or jwt-public-key.
func New(d *instance.Deps) (http.Handler, error) {
	if err := d.CheckWriter(instance.VerifyTokens); err != nil {
		return nil, err
	}
	return middleware.Wrap(d, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := upsert(w, r, d); err != nil {
			httpjson.Error(w, r, d.Log, err)
		}
	})), nil
}

type oneResponse struct {
	ID      int64  `json:"id"`
	Version uint64 `json:"version"`
}

type manyResponse struct {
	Count   int    `json:"count"`
	Version uint64 `json:"version"`
}

func upsert(w http.ResponseWriter, r *http.Request, d *instance.Deps) error {
	if err := httpjson.Root(w, r, Name, http.MethodPut); err != nil {
		return err
	}
	if _, err := middleware.RequireAdmin(r, d); err != nil {
		return err
	}
	events, ndjson, err := readEvents(w, r)
	if err != nil {
		return err
	}
	wr, err := d.Writer(r.Context())
	if err != nil {
		return err
	}
	version, err := catalog.SubmitEvents(r.Context(), wr, time.Now(), events)
	if err != nil {
		return err
	}
	if !ndjson {
		httpjson.Write(w, http.StatusOK, oneResponse{ID: events[0].ID, Version: version})
		return nil
	}
	httpjson.Write(w, http.StatusOK, manyResponse{Count: len(events), Version: version})
	return nil
}
