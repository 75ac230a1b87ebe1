package middleware

import (
	"context"
	"net/http"
	"time"

	"github.com/dostupno/dostupno/shared/httpjson"
	"github.com/dostupno/dostupno/shared/instance"
	"github.com/dostupno/dostupno/shared/token"
	"github.com/dostupno/dostupno/shared/writelog"
)

// Limits of an admin write's NDJSON body (the contract's, for upsert-event and upsert-venue
// alike); one record as JSON is held to httpjson.MaxJSONBody.
const (
	MaxAdminNDJSONBody  = 10 << 20
	MaxAdminNDJSONLines = 10000
)

// AdminBatch is the Batch of an admin write of records named noun, within the limits above;
// tooMany says what to do with more records than an NDJSON body may hold.
func AdminBatch(noun, tooMany string) httpjson.Batch {
	return httpjson.Batch{Noun: noun, MaxOne: httpjson.MaxJSONBody, MaxMany: MaxAdminNDJSONBody,
		MaxLines: MaxAdminNDJSONLines, TooMany: tooMany}
}

// BatchWrite is the handler of an admin write function (upsert-event, upsert-venue) of d:
// PUT / (role admin) with one record or many as b describes, each decoded and checked by
// check, all submitted through the instance's writer by submit once every one is valid. It
// answers 200 {"id","version"} for one record (its id) and {"count","version"} for NDJSON,
// version being the write-log sequence; when it answers, the primary copy serves the write.
// The caller must be an admin still (RequireAdmin). It refuses to start without a database,
// NATS or jwt-public-key.
func BatchWrite[T any](d *instance.Deps, b httpjson.Batch, check func([]byte) (T, error), id func(T) int64,
	submit func(ctx context.Context, w *writelog.Writer, at time.Time, records []T) (uint64, error)) (http.Handler, error) {
	return BatchWriteFor(d, token.RoleAdmin, b, check, func(ctx context.Context, w *writelog.Writer, at time.Time, records []T, ndjson bool) (any, error) {
		version, err := submit(ctx, w, at, records)
		if err != nil {
			return nil, err
		}
		if !ndjson {
			return oneWritten{ID: id(records[0]), Version: version}, nil
		}
		return manyWritten{Count: len(records), Version: version}, nil
	})
}

// BatchWriteFor is the handler of a write function of d for role (an admin may do every
// write; RequireWriter): PUT / with one record or many as b describes, each decoded and
// checked by check, all submitted through the instance's writer by write once every one is
// valid (ndjson: the body was NDJSON); it answers 200 with what write returns.
func BatchWriteFor[T any](d *instance.Deps, role string, b httpjson.Batch, check func([]byte) (T, error),
	write func(ctx context.Context, w *writelog.Writer, at time.Time, records []T, ndjson bool) (any, error)) (http.Handler, error) {
	serve := func(w http.ResponseWriter, r *http.Request) error {
		if err := httpjson.Root(w, r, d.Name, http.MethodPut); err != nil {
			return err
		}
		if _, err := RequireWriter(r, d, role); err != nil {
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
		answer, err := write(r.Context(), wr, time.Now(), records, ndjson)
		if err != nil {
			return err
		}
		httpjson.Write(w, http.StatusOK, answer)
		return nil
	}
	return Writes(d, instance.VerifyTokens, Answer(d, serve))
}

type oneWritten struct {
	ID      int64  `json:"id"`
	Version uint64 `json:"version"`
}

type manyWritten struct {
	Count   int    `json:"count"`
	Version uint64 `json:"version"`
}
