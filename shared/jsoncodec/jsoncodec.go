// Package jsoncodec is the JSON codec of the write path's hot loops, where an import decodes,
// re-encodes and applies a million events: bytedance/sonic set to behave as encoding/json
// does (HTML-safe escaping, sorted map keys, strings checked for UTF-8, field names matched
// without regard to case), about three times faster. The texts of its errors are sonic's:
// where a person reads the error (a request body, an import line), httpjson decodes again
// with encoding/json for the contract's message.
package jsoncodec

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"reflect"

	"github.com/bytedance/sonic"
)

var (
	std = sonic.ConfigStd
	// trusted is std but for the output of MarshalJSON methods, copied as written.
	trusted = sonic.Config{
		EscapeHTML: true, SortMapKeys: true, CopyString: true, ValidateString: true, NoValidateJSONMarshaler: true,
	}.Froze()
	strict = sonic.Config{
		EscapeHTML: true, SortMapKeys: true, CompactMarshaler: true, CopyString: true, ValidateString: true,
		DisallowUnknownFields: true,
	}.Froze()
)

// Marshal encodes v as encoding/json.Marshal does.
func Marshal(v any) ([]byte, error) { return std.Marshal(v) }

// MarshalTrusted encodes v as Marshal does, for a value whose MarshalJSON methods all write
// compact, valid JSON (time.Time's, and this project's own, built with encoding/json): their
// output is copied as written, where Marshal compacts and checks it again. The answers of
// shared/search are encoded so: a page of 20 answers, each with its times, 22 → 13 µs.
func MarshalTrusted(v any) ([]byte, error) { return trusted.Marshal(v) }

// Unmarshal decodes b into v as encoding/json.Unmarshal does.
func Unmarshal(b []byte, v any) error { return std.Unmarshal(b, v) }

// UnmarshalStrict decodes b into v, refusing fields v does not have.
func UnmarshalStrict(b []byte, v any) error { return strict.Unmarshal(b, v) }

// Valid reports whether b is one valid JSON value.
func Valid(b []byte) bool { return std.Valid(b) }

// ErrNotOne is DecodeStrict's error for data holding more than one JSON value.
var ErrNotOne = errors.New("the data must hold exactly one JSON value")

// DecodeStrict decodes the one JSON value of b into v: fields v does not have are refused, and
// so is anything after the value. It tries the fast codec first and decodes again with
// encoding/json when that fails, so that the error (or a value only encoding/json accepts) is
// encoding/json's (ErrNotOne for a second value); v is restored in between.
func DecodeStrict(b []byte, v any) error {
	rv := reflect.ValueOf(v)
	if rv.Kind() == reflect.Pointer && !rv.IsNil() {
		saved := reflect.New(rv.Elem().Type()).Elem()
		saved.Set(rv.Elem())
		if UnmarshalStrict(b, v) == nil {
			return nil
		}
		rv.Elem().Set(saved)
	}
	return DecodeReader(bytes.NewReader(b), v)
}

// DecodeReader is DecodeStrict with encoding/json alone, reading the value from r.
func DecodeReader(r io.Reader, v any) error {
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if err := dec.Decode(&struct{}{}); !errors.Is(err, io.EOF) {
		if err == nil {
			return ErrNotOne
		}
		return err
	}
	return nil
}
