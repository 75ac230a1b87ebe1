// Package function is the upsert-venue OpenFaaS function (role admin): PUT / with one venue
// (application/json) or many (application/x-ndjson, one per line) writes them through the
// write log and answers once the primary copy serves them: 200 {"id","version"}, or
// {"count","version"} for NDJSON, version being the write-log sequence. A venue's facts,
// when given, replace its stored ones and reach every event at the venue (its index rows and
// every cached answer) before it answers.
package function

import (
	"net/http"

	"github.com/dostupno/dostupno/shared/catalog"
	"github.com/dostupno/dostupno/shared/httpjson"
	"github.com/dostupno/dostupno/shared/instance"
	"github.com/dostupno/dostupno/shared/middleware"
)

// Name is the function's name in stack.yml.
const Name = "upsert-venue"

// Handle is the OpenFaaS entry point.
var Handle = instance.Handle(Name, New)

// New builds the function's handler from its dependencies; it refuses to start without its
// database, NATS or jwt-public-key.
func New(d *instance.Deps) (http.Handler, error) {
	return middleware.BatchWrite(d, middleware.AdminBatch("venue", "split the file or use `dostupno import-venues`"),
		httpjson.Checked[catalog.VenueInput], func(v catalog.VenueInput) int64 { return v.ID }, catalog.SubmitVenues)
}
