package writelog

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// LeaderMsg reads one message of stream from its leader: the one at seq, or (seq 0) the last
// one on subject lastFor. It answers jetstream.ErrMsgNotFound when the stream has none.
//
// Stream.GetMsg and GetLastMsgForSubject use a direct get whenever the stream allows them,
// and in a replicated stream any replica answers a direct get, including one that has not yet
// received a message the leader acknowledged minutes ago (after a leader change, a follower
// catching up can lag for seconds). A miss from a direct get therefore proves nothing; a read
// that decides from a miss (a user's key that is gone means the user was erased; a sequence
// the stream lacks is a hole) asks the leader, which holds every acknowledged message.
func LeaderMsg(ctx context.Context, js jetstream.JetStream, stream string, seq uint64, lastFor string) (*jetstream.RawStreamMsg, error) {
	ctx, cancel := context.WithTimeout(ctx, apiTimeout)
	defer cancel()
	req := struct {
		Seq     uint64 `json:"seq,omitempty"`
		LastFor string `json:"last_by_subj,omitempty"`
	}{seq, lastFor}
	body, err := json.Marshal(req)
	if err != nil {
		return nil, err
	}
	reply, err := js.Conn().RequestWithContext(ctx, apiPrefix(js)+"STREAM.MSG.GET."+stream, body)
	if err != nil {
		return nil, fmt.Errorf("get a message of stream %s from its leader: %w", stream, err)
	}
	var resp struct {
		Error   *jetstream.APIError `json:"error"`
		Message *struct {
			Subject  string    `json:"subject"`
			Sequence uint64    `json:"seq"`
			Header   []byte    `json:"hdrs"` // base64 in the answer, as is data
			Data     []byte    `json:"data"`
			Time     time.Time `json:"time"`
		} `json:"message"`
	}
	if err := json.Unmarshal(reply.Data, &resp); err != nil {
		return nil, fmt.Errorf("get a message of stream %s from its leader: %w", stream, err)
	}
	switch {
	case resp.Error != nil && resp.Error.ErrorCode == jetstream.JSErrCodeMessageNotFound:
		return nil, jetstream.ErrMsgNotFound
	case resp.Error != nil:
		return nil, fmt.Errorf("get a message of stream %s from its leader: %w", stream, resp.Error)
	case resp.Message == nil:
		return nil, fmt.Errorf("get a message of stream %s from its leader: %w", stream, jetstream.ErrInvalidJetStreamResponse)
	}
	m := resp.Message
	var hdr nats.Header
	if len(m.Header) > 0 {
		if hdr, err = nats.DecodeHeadersMsg(m.Header); err != nil {
			return nil, fmt.Errorf("get a message of stream %s from its leader: headers: %w", stream, err)
		}
	}
	return &jetstream.RawStreamMsg{Subject: m.Subject, Sequence: m.Sequence, Header: hdr, Data: m.Data, Time: m.Time}, nil
}

// apiPrefix is the JetStream API prefix js sends its requests under.
func apiPrefix(js jetstream.JetStream) string {
	o := js.Options()
	if o.Domain != "" {
		return "$JS." + o.Domain + ".API."
	}
	if o.APIPrefix == "" {
		return jetstream.DefaultAPIPrefix
	}
	if !strings.HasSuffix(o.APIPrefix, ".") {
		return o.APIPrefix + "."
	}
	return o.APIPrefix
}
