// Package jsoncodec is the JSON codec of the write path's hot loops, where an import decodes,
// re-encodes and applies a million events: bytedance/sonic set to behave as encoding/json
// does (HTML-safe escaping, sorted map keys, strings checked for UTF-8, field names matched
// without regard to case), about three times faster. The texts of its errors are sonic's:
// where a person reads the error (a request body, an import line), httpjson decodes again
// with encoding/json for the contract's message.
package jsoncodec

import "github.com/bytedance/sonic"

var (
	std    = sonic.ConfigStd
	strict = sonic.Config{
		EscapeHTML: true, SortMapKeys: true, CompactMarshaler: true, CopyString: true, ValidateString: true,
		DisallowUnknownFields: true,
	}.Froze()
)

// Marshal encodes v as encoding/json.Marshal does.
func Marshal(v any) ([]byte, error) { return std.Marshal(v) }

// Unmarshal decodes b into v as encoding/json.Unmarshal does.
func Unmarshal(b []byte, v any) error { return std.Unmarshal(b, v) }

// UnmarshalStrict decodes b into v, refusing fields v does not have.
func UnmarshalStrict(b []byte, v any) error { return strict.Unmarshal(b, v) }

// Valid reports whether b is one valid JSON value.
func Valid(b []byte) bool { return std.Valid(b) }
