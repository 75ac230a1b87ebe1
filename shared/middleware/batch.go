package middleware

import (
	"context"
	"net/http"
	"time"

	"github.com/dostupno/dostupno/shared/httpjson"
	"github.com/dostupno/dostupno/shared/instance"
	"github.com/dostupno/dostupno/shared/writelog"
)

// BatchWrite is the handler of an admin write function (upsert-event, upsert-venue) of d:
// PUT / (role admin) with one record or many as b describes, each decoded and checked by
// check, all submitted through the instance's writer by submit once every one is valid. It
// answers 200 {"id","version"} for one record (its id) and {"count","version"} for NDJSON,
// version being the write-log sequence; when it answers, the primary copy serves the write.
// The caller must be an admin still (RequireAdmin). It refuses to start without a database,
// NATS or jwt-public-key.
func BatchWrite[T any](d *instance.Deps, b httpjson.Batch, check func([]byte) (T, error), id func(T) int64,
	submit func(ctx context.Context, w *writelog.Writer, at time.Time, records []T) (uint64, error)) (http.Handler, error) {
	write := func(w http.ResponseWriter, r *http.Request) error {
		if err := httpjson.Root(w, r, d.Name, http.MethodPut); err != nil {
			return err
		}
		if _, err := RequireAdmin(r, d); err != nil {
			return err
		}
		records, ndjson, err := httpjson.ReadBatch(w, r, b, check)
		if err != nil {
			return err
		}
		wr, err := d.Writer(r.Context())
		if err != nil {
			return err
		}
		version, err := submit(r.Context(), wr, time.Now(), records)
		if err != nil {
			return err
		}
		if !ndjson {
			httpjson.Write(w, http.StatusOK, oneWritten{ID: id(records[0]), Version: version})
			return nil
		}
		httpjson.Write(w, http.StatusOK, manyWritten{Count: len(records), Version: version})
		return nil
	}
	return Writes(d, instance.VerifyTokens, Answer(d, write))
}

type oneWritten struct {
	ID      int64  `json:"id"`
	Version uint64 `json:"version"`
}

type manyWritten struct {
	Count   int    `json:"count"`
	Version uint64 `json:"version"`
}
