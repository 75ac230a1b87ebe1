// Package jsoncodec is the JSON codec of the write path: the bytes encoding/json writes and the
// values it decodes, strict decoding of one value (DecodeStrict), and room for a faster codec
// that a process decoding in bulk links in (shared/jsoncodec/fast, which the importer and
// db-writer link: a million events decoded, re-encoded and applied). Every other process
// leaves it out: its packages' initialisation cost each function's start about 20 ms
// (docs/PERFORMANCE.md, a twenty-fourth machine).
package jsoncodec

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"reflect"
)

// Codec encodes and decodes as encoding/json does; Std is encoding/json itself.
type Codec interface {
	// Marshal encodes v as encoding/json.Marshal does.
	Marshal(v any) ([]byte, error)
	// MarshalTrusted is Marshal for a value whose MarshalJSON methods all write compact,
	// valid JSON: a codec may copy their output as written instead of checking it again.
	MarshalTrusted(v any) ([]byte, error)
	// Unmarshal decodes b into v as encoding/json.Unmarshal does.
	Unmarshal(b []byte, v any) error
	// UnmarshalStrict decodes the one value of b into v, refusing fields v does not have; it
	// never accepts what encoding/json refuses nor decodes it otherwise, but its errors may
	// be its own.
	UnmarshalStrict(b []byte, v any) error
	// Valid reports whether b is one valid JSON value.
	Valid(b []byte) bool
}

// Std is encoding/json as a Codec.
type Std struct{}

func (Std) Marshal(v any) ([]byte, error)        { return json.Marshal(v) }
func (Std) MarshalTrusted(v any) ([]byte, error) { return json.Marshal(v) }
func (Std) Unmarshal(b []byte, v any) error      { return json.Unmarshal(b, v) }
func (Std) UnmarshalStrict(b []byte, v any) error {
	return DecodeReader(bytes.NewReader(b), v)
}
func (Std) Valid(b []byte) bool { return json.Valid(b) }

// codec is the process's codec: Std unless a package's init chose another (Use).
var codec Codec = Std{}

// Use makes c the process's codec. Call it only from a package's init, before any goroutine
// encodes or decodes.
func Use(c Codec) { codec = c }

// InUse is the process's codec.
func InUse() Codec { return codec }

// Marshal encodes v as encoding/json.Marshal does.
func Marshal(v any) ([]byte, error) { return codec.Marshal(v) }

// MarshalTrusted encodes v as Marshal does, for a value whose MarshalJSON methods all write
// compact, valid JSON (time.Time's, and this project's own, built with encoding/json). The
// answers of shared/search are encoded so.
func MarshalTrusted(v any) ([]byte, error) { return codec.MarshalTrusted(v) }

// Unmarshal decodes b into v as encoding/json.Unmarshal does.
func Unmarshal(b []byte, v any) error { return codec.Unmarshal(b, v) }

// Valid reports whether b is one valid JSON value.
func Valid(b []byte) bool { return codec.Valid(b) }

// ErrNotOne is DecodeStrict's error for data holding more than one JSON value.
var ErrNotOne = errors.New("the data must hold exactly one JSON value")

// DecodeStrict decodes the one JSON value of b into v: fields v does not have are refused, and
// so is anything after the value. With a faster codec in use it tries that first and decodes
// again with encoding/json when it fails, so that the error (or a value only encoding/json
// accepts) is encoding/json's (ErrNotOne for a second value); v is restored in between.
func DecodeStrict(b []byte, v any) error {
	if _, std := codec.(Std); !std {
		if rv := reflect.ValueOf(v); rv.Kind() == reflect.Pointer && !rv.IsNil() {
			saved := reflect.New(rv.Elem().Type()).Elem()
			saved.Set(rv.Elem())
			if codec.UnmarshalStrict(b, v) == nil {
				return nil
			}
			rv.Elem().Set(saved)
		}
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
