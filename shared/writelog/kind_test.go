package writelog_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/dostupno/dostupno/shared/writelog"
)

func TestDecodePayload(t *testing.T) {
	type payload struct {
		ID    int64    `json:"id"`
		Needs []string `json:"needs"`
	}
	tests := []struct {
		name, payload string
		want          payload
		wantErr       string
	}{
		{"OK", `{"id":7,"needs":["braille"]}`, payload{ID: 7, Needs: []string{"braille"}}, ""},
		{"OKFieldsInAnyOrder", ` {"needs":[],"id":7} `, payload{ID: 7, Needs: []string{}}, ""},
		{"ErrUnknownField", `{"id":7,"role":"admin"}`, payload{}, `unknown field "role"`},
		{"ErrSecondValue", `{"id":7} {}`, payload{}, "exactly one JSON value"},
		{"ErrTrailingData", `{"id":7} 8`, payload{}, "user.test payload"},
		{"ErrWrongType", `{"id":"7"}`, payload{}, "user.test payload"},
		{"ErrNotJSON", `[1,`, payload{}, "user.test payload"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got payload
			err := writelog.DecodePayload(writelog.Command{Kind: "user.test", Payload: json.RawMessage(tt.payload)}, &got)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("got %+v, %v; want an error about %q", got, err, tt.wantErr)
				}
				return
			}
			if err != nil || got.ID != tt.want.ID || strings.Join(got.Needs, ",") != strings.Join(tt.want.Needs, ",") || (got.Needs == nil) != (tt.want.Needs == nil) {
				t.Fatalf("got %+v, %v; want %+v", got, err, tt.want)
			}
		})
	}
}

func TestNewReplicaRefusesAKindTwice(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("got a replica, want a panic for a kind named twice")
		}
	}()
	apply := func(context.Context, pgx.Tx, uint64, writelog.Command) (writelog.Outcome, error) {
		return writelog.Outcome{}, nil
	}
	k := writelog.Kind{Name: "x.y", Apply: apply}
	writelog.NewReplica(nil, nil, "primary", []writelog.Kind{k, k}, quiet())
}
