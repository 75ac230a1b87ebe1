// Package function is the upsert-event OpenFaaS function (role admin): PUT / with one Event
// (application/json) or many (application/x-ndjson, one per line) writes them through the
// write log and answers once the primary copy serves them: 200 {"id","version"}, or
// {"count","version"} for NDJSON, version being the write-log sequence.
package function

import (
	"net/http"

	"github.com/dostupno/dostupno/shared/catalog"
	"github.com/dostupno/dostupno/shared/httpjson"
	"github.com/dostupno/dostupno/shared/instance"
	"github.com/dostupno/dostupno/shared/middleware"
)

// Name is the function's name in stack.yml.
const Name = "upsert-event"

// Handle is the OpenFaaS entry point.
var Handle = instance.Handle(Name, New)

// New builds the function's handler from its dependencies; it refuses to start without its
// database, NATS or jwt-public-key.
func New(d *instance.Deps) (http.Handler, error) {
	return middleware.BatchWrite(d, middleware.AdminBatch("event", "split the file or use `dostupno import`"),
		httpjson.Checked[catalog.Event], func(e catalog.Event) int64 { return e.ID }, catalog.SubmitEvents)
}
