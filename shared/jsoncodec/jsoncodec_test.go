package jsoncodec_test

import (
	"errors"
	"testing"

	"github.com/dostupno/dostupno/shared/jsoncodec"
)

type item struct {
	ID    int64  `json:"id"`
	Title string `json:"title"`
}

// A process that does not link the fast codec decodes with encoding/json, as strictly.
func TestStdDecodesStrictly(t *testing.T) {
	if _, ok := jsoncodec.InUse().(jsoncodec.Std); !ok {
		t.Fatalf("the codec in use is %T; shared/jsoncodec/fast is linked into a test of this package", jsoncodec.InUse())
	}
	var it item
	if err := jsoncodec.DecodeStrict([]byte(`{"id":1,"title":"T"}`), &it); err != nil || it != (item{1, "T"}) {
		t.Fatalf("got %+v, %v", it, err)
	}
	if err := jsoncodec.DecodeStrict([]byte(`{"id":1,"bogus":true}`), &it); err == nil || err.Error() != `json: unknown field "bogus"` {
		t.Errorf("an unknown field: got %v", err)
	}
	if err := jsoncodec.DecodeStrict([]byte(`{"id":1} {}`), &it); !errors.Is(err, jsoncodec.ErrNotOne) {
		t.Errorf("two values: got %v, want ErrNotOne", err)
	}
	if err := jsoncodec.DecodeStrict([]byte(`{"id":1} x`), &it); err == nil || errors.Is(err, jsoncodec.ErrNotOne) {
		t.Errorf("a value and garbage: got %v, want a syntax error", err)
	}
}
