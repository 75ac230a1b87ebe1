// Package fast makes bytedance/sonic, set to behave as encoding/json does (HTML-safe escaping,
// sorted map keys, strings checked for UTF-8, field names matched without regard to case), the
// process's JSON codec (jsoncodec.Use) when it is linked in: a process that decodes and
// re-encodes events in bulk imports it for its side effect,
//
//	import _ "github.com/dostupno/dostupno/shared/jsoncodec/fast"
//
// as the importer (cmd/dostupno/internal/eventimport) and db-writer do. An import of 200,000
// events cost the importing process 37-42 µs of CPU an event with it, 57.5 with encoding/json;
// its initialisation costs a process's start about 20 ms, which the functions that answer
// people leave out (docs/PERFORMANCE.md, a twenty-fourth machine). The texts of its errors are
// sonic's: where a person reads the error, jsoncodec.DecodeStrict decodes again with
// encoding/json.
package fast

import (
	"github.com/bytedance/sonic"

	"github.com/dostupno/dostupno/shared/jsoncodec"
)

func init() { jsoncodec.Use(Codec{}) }

var (
	std = sonic.ConfigStd
	// trusted is std but for the output of MarshalJSON methods, copied as written: a page of
	// 20 search answers, each with its times, 22 → 13 µs.
	trusted = sonic.Config{
		EscapeHTML: true, SortMapKeys: true, CopyString: true, ValidateString: true, NoValidateJSONMarshaler: true,
	}.Froze()
	strict = sonic.Config{
		EscapeHTML: true, SortMapKeys: true, CompactMarshaler: true, CopyString: true, ValidateString: true,
		DisallowUnknownFields: true,
	}.Froze()
)

// Codec is sonic as a jsoncodec.Codec.
type Codec struct{}

func (Codec) Marshal(v any) ([]byte, error)         { return std.Marshal(v) }
func (Codec) MarshalTrusted(v any) ([]byte, error)  { return trusted.Marshal(v) }
func (Codec) Unmarshal(b []byte, v any) error       { return std.Unmarshal(b, v) }
func (Codec) UnmarshalStrict(b []byte, v any) error { return strict.Unmarshal(b, v) }
func (Codec) Valid(b []byte) bool                   { return std.Valid(b) }
