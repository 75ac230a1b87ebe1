package function

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/dostupno/dostupno/shared/apperr"
	"github.com/dostupno/dostupno/shared/catalog"
	"github.com/dostupno/dostupno/shared/httpjson"
)

// Limits of a request.
const (
	MaxEventBody   = httpjson.MaxJSONBody // one event (application/json)
	MaxNDJSONBody  = 10 << 20             // many events (application/x-ndjson)
	MaxNDJSONLines = 10000                // events in one NDJSON body
)

// checked decodes, normalises and validates one event (strict JSON: unknown fields refused).
func checked(raw []byte) (catalog.Event, error) {
	var e catalog.Event
	if err := httpjson.DecodeBytes(raw, &e); err != nil {
		return e, err
	}
	e.Normalize()
	return e, e.Validate()
}

// readEvents reads the events of r: one JSON event, or NDJSON with one per line (blank lines
// skipped). Every event is checked before any is returned, so a bad line means nothing is
// written; the error names the line and the field.
func readEvents(w http.ResponseWriter, r *http.Request) (events []catalog.Event, ndjson bool, err error) {
	if httpjson.RequireContentType(r, "application/x-ndjson") != nil {
		if err := httpjson.RequireContentType(r, "application/json"); err != nil {
			return nil, false, &apperr.Error{Code: apperr.UnsupportedMediaType, Message: "Content-Type must be application/json (one event) or application/x-ndjson (one event per line)"}
		}
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxEventBody))
		if err != nil {
			return nil, false, bodyError(err)
		}
		e, err := checked(body)
		if err != nil {
			return nil, false, err
		}
		return []catalog.Event{e}, false, nil
	}
	sc := bufio.NewScanner(http.MaxBytesReader(w, r.Body, MaxNDJSONBody))
	sc.Buffer(make([]byte, 0, 64<<10), MaxNDJSONBody)
	for line := 1; sc.Scan(); line++ {
		raw := bytes.TrimSpace(sc.Bytes())
		if len(raw) == 0 {
			continue
		}
		if len(events) == MaxNDJSONLines {
			return nil, true, apperr.New(apperr.PayloadTooLarge, "at most %d events per request; split the file or use `dostupno import`", MaxNDJSONLines)
		}
		e, err := checked(raw)
		if err != nil {
			ae := apperr.As(err)
			return nil, true, &apperr.Error{Code: ae.Code, Field: ae.Field, Message: fmt.Sprintf("line %d: %s", line, ae.Message)}
		}
		events = append(events, e)
	}
	if err := sc.Err(); err != nil {
		return nil, true, bodyError(err)
	}
	if len(events) == 0 {
		return nil, true, apperr.New(apperr.InvalidArgument, "the body holds no event")
	}
	return events, true, nil
}

func bodyError(err error) error {
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		return apperr.New(apperr.PayloadTooLarge, "the body is larger than %d bytes", tooBig.Limit)
	}
	return apperr.New(apperr.InvalidArgument, "the body could not be read")
}
