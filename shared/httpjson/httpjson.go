// Package httpjson writes and reads the JSON of the HTTP contract: one writer for answers, one
// for errors (the envelope of shared/apidoc/openapi.yaml, internal errors logged and never shown), strict decoding
// with a body limit.
package httpjson

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/dostupno/dostupno/shared/apperr"
	"github.com/dostupno/dostupno/shared/jsoncodec"
)

// MaxJSONBody is the default request body limit of the contract (64 KiB).
const MaxJSONBody = 64 << 10

// Write answers status with v as JSON.
func Write(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		// A value we built ourselves could not be encoded: a programming error.
		slog.Error("encode response", "err", err)
		status, body = http.StatusInternalServerError, []byte(`{"error":{"code":"internal","message":"internal error"}}`)
	}
	WriteRaw(w, status, body)
}

// WriteRaw answers status with an already encoded JSON body.
func WriteRaw(w http.ResponseWriter, status int, body []byte) {
	WriteRawAs(w, status, "application/json", body)
}

// WriteRawAs answers status with an already encoded JSON body of media type contentType
// (application/json, application/ld+json), in UTF-8, followed by a newline.
//
// The body and its newline go in one Write: net/http hands a body of more than 2 KiB to the
// connection's 4 KiB buffer at once, and a newline written after it stays buffered until the
// handler returns, then costs a write of its own (a page of 20 summaries, ~9 KiB: three
// write system calls instead of two, each on loopback also running the reader's side of TCP).
func WriteRawAs(w http.ResponseWriter, status int, contentType string, body []byte) {
	w.Header().Set("Content-Type", contentType+"; charset=utf-8")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)+1))
	w.WriteHeader(status)
	// body may be a cached answer that other requests read: it is copied, never appended to.
	b := bodies.Get().(*[]byte)
	*b = append(append((*b)[:0], body...), '\n')
	_, _ = w.Write(*b) // the client went away: nothing left to tell it
	if cap(*b) <= maxPooledBody {
		bodies.Put(b)
	}
}

// bodies are the buffers WriteRawAs copies a body and its newline into; one larger than
// maxPooledBody (a snapshot-sized answer) is left to the garbage collector.
var bodies = sync.Pool{New: func() any { return new([]byte) }}

const maxPooledBody = 256 << 10

type errorBody struct {
	Error errorDetail `json:"error"`
}

type errorDetail struct {
	Code    apperr.Code `json:"code"`
	Message string      `json:"message"`
	Field   string      `json:"field,omitempty"`
}

// Error answers err in the contract's envelope. Internal errors are logged with their cause
// (through log, with the request's context so the call id is kept) and shown as a generic
// message; every other code is the client's business and is not logged above debug.
func Error(w http.ResponseWriter, r *http.Request, log *slog.Logger, err error) {
	e := apperr.As(err)
	if e.Code == apperr.Internal || e.Code.Status() == http.StatusInternalServerError {
		log.ErrorContext(r.Context(), "internal error", "method", r.Method, "path", r.URL.Path, "err", err)
		e = &apperr.Error{Code: apperr.Internal, Message: "internal error"}
	} else if e.Code == apperr.Unavailable {
		log.WarnContext(r.Context(), "unavailable", "path", r.URL.Path, "err", err)
	} else {
		log.DebugContext(r.Context(), "request refused", "code", e.Code, "field", e.Field, "message", e.Message)
	}
	if e.RetryAfter > 0 || e.Code == apperr.RateLimited || e.Code == apperr.Unavailable {
		secs := int(math.Ceil(e.RetryAfter.Seconds()))
		if secs < 1 {
			secs = 1
		}
		w.Header().Set("Retry-After", strconv.Itoa(secs))
	}
	Write(w, e.Code.Status(), errorBody{errorDetail{Code: e.Code, Message: e.Message, Field: e.Field}})
}

// Decode reads one JSON value from r's body into dst: at most limit bytes (MaxJSONBody when
// limit is 0), unknown fields refused, nothing after the value. Errors are apperr errors
// naming the field at fault where one is.
func Decode(w http.ResponseWriter, r *http.Request, limit int64, dst any) error {
	if limit <= 0 {
		limit = MaxJSONBody
	}
	if err := RequireContentType(r, "application/json"); err != nil {
		return err
	}
	body := http.MaxBytesReader(w, r.Body, limit)
	return DecodeReader(body, dst)
}

// DecodeReader is Decode without the HTTP parts, for NDJSON lines and files.
func DecodeReader(rd io.Reader, dst any) error {
	return decodeError(jsoncodec.DecodeReader(rd, dst))
}

// DecodeBytes decodes one JSON value held in b, strictly as DecodeReader does, with the
// faster codec first (jsoncodec.DecodeStrict).
func DecodeBytes(b []byte, dst any) error {
	if !utf8.Valid(b) {
		return apperr.New(apperr.InvalidArgument, "the body is not valid UTF-8")
	}
	return decodeError(jsoncodec.DecodeStrict(b, dst))
}

func decodeError(err error) error {
	if err == nil {
		return nil
	}
	var (
		syntax  *json.SyntaxError
		typ     *json.UnmarshalTypeError
		tooBig  *http.MaxBytesError
		invalid *json.InvalidUnmarshalError
	)
	switch {
	case errors.Is(err, jsoncodec.ErrNotOne):
		return apperr.New(apperr.InvalidArgument, "the body must hold exactly one JSON value")
	case errors.As(err, &tooBig):
		return &apperr.Error{Code: apperr.PayloadTooLarge, Message: fmt.Sprintf("the body is larger than %d bytes", tooBig.Limit)}
	case errors.As(err, &syntax):
		return apperr.New(apperr.InvalidArgument, "malformed JSON at byte %d", syntax.Offset)
	case errors.As(err, &typ):
		field := typ.Field
		return apperr.Invalid(field, "%s must be %s", orBody(field), describe(typ.Type.String()))
	case errors.Is(err, io.EOF):
		return apperr.New(apperr.InvalidArgument, "the body is empty; a JSON object is required")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return apperr.New(apperr.InvalidArgument, "malformed JSON: the body ends too early")
	case errors.As(err, &invalid):
		return apperr.Wrap(err, "decode")
	}
	if f, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		f = strings.Trim(f, `"`)
		return apperr.Invalid(f, "unknown field %q", f)
	}
	var e *apperr.Error
	if errors.As(err, &e) {
		return e
	}
	return apperr.New(apperr.InvalidArgument, "malformed JSON")
}

func orBody(field string) string {
	if field == "" {
		return "the body"
	}
	return field
}

func describe(goType string) string {
	switch {
	case strings.HasPrefix(goType, "int"), strings.HasPrefix(goType, "uint"):
		return "an integer"
	case strings.HasPrefix(goType, "float"):
		return "a number"
	case goType == "string":
		return "a string"
	case goType == "bool":
		return "true or false"
	case strings.HasPrefix(goType, "[]"):
		return "an array"
	default:
		return "an object"
	}
}

// RequireContentType refuses a body whose Content-Type is not want (parameters such as
// charset are allowed). A missing Content-Type is accepted for want "application/json", as
// command-line clients often omit it.
func RequireContentType(r *http.Request, want string) error {
	ct := r.Header.Get("Content-Type")
	if ct == "" && want == "application/json" {
		return nil
	}
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil || mt != want {
		return &apperr.Error{Code: apperr.UnsupportedMediaType, Message: fmt.Sprintf("Content-Type must be %s", want)}
	}
	return nil
}

// NoPath is the not_found error for a path a function does not serve.
func NoPath(r *http.Request, function string) error {
	return apperr.New(apperr.NotFound, "no such path %s in %s", r.URL.Path, function)
}

// Root checks what a single-endpoint function checks first: the path is its root ("/", or ""
// as some callers send it) and the method is one of allowed.
func Root(w http.ResponseWriter, r *http.Request, function string, allowed ...string) error {
	if r.URL.Path != "/" && r.URL.Path != "" {
		return NoPath(r, function)
	}
	return Method(w, r, allowed...)
}

// Method refuses any method not in allowed with 405 and an Allow header.
func Method(w http.ResponseWriter, r *http.Request, allowed ...string) error {
	for _, m := range allowed {
		if r.Method == m {
			return nil
		}
	}
	w.Header().Set("Allow", strings.Join(allowed, ", "))
	return &apperr.Error{Code: apperr.MethodNotAllowed, Message: fmt.Sprintf("method %s is not allowed here; use %s", r.Method, strings.Join(allowed, " or "))}
}

// Batch describes a body of one record or many: one JSON record (application/json, at most
// MaxOne bytes) or NDJSON, one record per line (application/x-ndjson, at most MaxMany bytes and
// MaxLines records; blank lines are skipped).
type Batch struct {
	Noun     string // what a record is, e.g. "event"
	MaxOne   int64
	MaxMany  int64
	MaxLines int
	TooMany  string // what to do with more records, e.g. "split the file"
}

// ReadBatch reads the records of r as b describes, each decoded and checked by check. Every
// record is checked before any is returned, so a bad line means nothing is written; the error
// names the line and the field. many reports an NDJSON body.
func ReadBatch[T any](w http.ResponseWriter, r *http.Request, b Batch, check func([]byte) (T, error)) (records []T, many bool, err error) {
	if RequireContentType(r, "application/x-ndjson") != nil {
		if err := RequireContentType(r, "application/json"); err != nil {
			return nil, false, &apperr.Error{Code: apperr.UnsupportedMediaType,
				Message: fmt.Sprintf("Content-Type must be application/json (one %s) or application/x-ndjson (one %s per line)", b.Noun, b.Noun)}
		}
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, b.MaxOne))
		if err != nil {
			return nil, false, bodyError(err)
		}
		rec, err := check(body)
		if err != nil {
			return nil, false, err
		}
		return []T{rec}, false, nil
	}
	sc := bufio.NewScanner(http.MaxBytesReader(w, r.Body, b.MaxMany))
	sc.Buffer(make([]byte, 0, 64<<10), int(b.MaxMany))
	for line := 1; sc.Scan(); line++ {
		raw := bytes.TrimSpace(sc.Bytes())
		if len(raw) == 0 {
			continue
		}
		if len(records) == b.MaxLines {
			return nil, true, apperr.New(apperr.PayloadTooLarge, "at most %d %ss per request; %s", b.MaxLines, b.Noun, b.TooMany)
		}
		rec, err := check(raw)
		if err != nil {
			ae := apperr.As(err)
			return nil, true, &apperr.Error{Code: ae.Code, Field: ae.Field, Message: fmt.Sprintf("line %d: %s", line, ae.Message)}
		}
		records = append(records, rec)
	}
	if err := sc.Err(); err != nil {
		return nil, true, bodyError(err)
	}
	if len(records) == 0 {
		return nil, true, apperr.New(apperr.InvalidArgument, "the body holds no %s", b.Noun)
	}
	return records, true, nil
}

func bodyError(err error) error {
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		return apperr.New(apperr.PayloadTooLarge, "the body is larger than %d bytes", tooBig.Limit)
	}
	if errors.Is(err, bufio.ErrTooLong) { // one NDJSON line as long as the whole body may be
		return apperr.New(apperr.PayloadTooLarge, "a line is longer than the body may be")
	}
	return apperr.New(apperr.InvalidArgument, "the body could not be read")
}

// Checked decodes one record from raw strictly (DecodeBytes), normalises and validates it: the
// check of ReadBatch for a record type with Normalize and Validate.
func Checked[T any, P interface {
	*T
	Normalize()
	Validate() error
}](raw []byte) (T, error) {
	var rec T
	if err := DecodeBytes(raw, &rec); err != nil {
		return rec, err
	}
	P(&rec).Normalize()
	return rec, P(&rec).Validate()
}
