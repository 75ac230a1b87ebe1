// Package function is the seat-availability OpenFaaS function (role ticketing, or admin): PUT /
// with one update {"event_id","wheelchair_spaces","companion_seats","as_of"}
// (application/json) or many (application/x-ndjson, one per line) writes them through the
// write log and answers once the primary copy serves them: 200 {"count","ignored","version"},
// ignored being the updates not newer than the count the copy held (catalog.SeatsUpdate),
// version the write-log sequence.
package function

import (
	"context"
	"net/http"
	"time"

	"github.com/dostupno/dostupno/shared/catalog"
	"github.com/dostupno/dostupno/shared/httpjson"
	"github.com/dostupno/dostupno/shared/instance"
	"github.com/dostupno/dostupno/shared/middleware"
	"github.com/dostupno/dostupno/shared/token"
	"github.com/dostupno/dostupno/shared/writelog"
)

// Name is the function's name in stack.yml.
const Name = "seat-availability"

// Handle is the OpenFaaS entry point.
var Handle = instance.Handle(Name, New)

// Limits of a request: an update is about 100 bytes.
const (
	MaxUpdateBody  = 4 << 10 // one update (application/json)
	MaxNDJSONBody  = 1 << 20 // many updates (application/x-ndjson)
	MaxNDJSONLines = 10000   // updates in one NDJSON body
)

// Written is the answer (SeatAvailabilityResult in shared/apidoc/openapi.yaml).
type Written struct {
	Count   int    `json:"count"`
	Ignored int    `json:"ignored"`
	Version uint64 `json:"version"`
}

// New builds the function's handler from its dependencies; it refuses to start without its
// database, NATS or jwt-public-key.
func New(d *instance.Deps) (http.Handler, error) {
	return middleware.BatchWriteFor(d, token.RoleTicketing, httpjson.Batch{Noun: "update", MaxOne: MaxUpdateBody,
		MaxMany: MaxNDJSONBody, MaxLines: MaxNDJSONLines, TooMany: "split them over several requests"},
		check, write)
}

// check decodes and validates one update.
func check(raw []byte) (catalog.Seats, error) {
	in, err := httpjson.Checked[catalog.SeatsInput](raw)
	if err != nil {
		return catalog.Seats{}, err
	}
	return in.Seats(), nil
}

func write(ctx context.Context, w *writelog.Writer, at time.Time, updates []catalog.Seats, _ bool) (any, error) {
	version, ignored, err := catalog.SubmitSeats(ctx, w, at, updates)
	if err != nil {
		return nil, err
	}
	return Written{Count: len(updates), Ignored: ignored, Version: version}, nil
}
