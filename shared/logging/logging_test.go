package logging

import (
	"bytes"
	"context"
	"encoding/json"
	"testing"
)

func TestCallIDIsLogged(t *testing.T) {
	var buf bytes.Buffer
	log := New(&buf, "search-events")
	log.InfoContext(WithCallID(context.Background(), "abc-123"), "hello", "n", 1)
	var line map[string]any
	if err := json.Unmarshal(buf.Bytes(), &line); err != nil {
		t.Fatalf("log line is not JSON: %v: %s", err, buf.String())
	}
	if line["call_id"] != "abc-123" || line["component"] != "search-events" || line["msg"] != "hello" {
		t.Fatalf("got %v, want call_id, component and msg", line)
	}
}
