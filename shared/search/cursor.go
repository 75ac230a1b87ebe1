package search

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"hash"
	"io"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/dostupno/dostupno/shared/apperr"
)

// A cursor is base64url(version | starts_at in µs | id | tag), where tag is a truncated
// HMAC-SHA256 of the question's fingerprint and the position. The position itself is not
// secret (it is the last item of the page); the tag makes a cursor valid only for the
// question that produced it, so a cursor from another question, a truncated one or an edited
// one is refused with 400 instead of silently answering something else.
const (
	cursorVersion = 1
	tagLen        = 12
	cursorLen     = 1 + 8 + 8 + tagLen
)

// cursorKey keys the tag. It is fixed so that every instance and every restart accepts the
// cursors of the others.
var cursorKey = []byte("dostupno search cursor v1")

// Fingerprint names the question apart from its page: the required codes, how they match,
// city, categories, window and text. A defaulted from is named as such, so a next page asked
// a minute later still matches.
func (q *Query) Fingerprint() string {
	var b strings.Builder
	b.WriteString("c=")
	for i, id := range q.IDs {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.Itoa(int(id)))
	}
	b.WriteString("&city=" + q.City + "&cat=" + strings.Join(q.Categories, ","))
	if q.FromDefault {
		b.WriteString("&from=now")
	} else {
		b.WriteString("&from=" + q.From.Format(time.RFC3339Nano))
	}
	if q.To != nil {
		b.WriteString("&to=" + q.To.Format(time.RFC3339Nano))
	}
	b.WriteString("&q=" + strconv.Quote(strings.ToLower(q.Text)))
	if q.Lenient {
		b.WriteString("&match=lenient") // a strict question's cursors stay as they were
	}
	if q.Seats() {
		b.WriteString("&seats=" + strconv.Itoa(q.WheelchairSpaces) + "," + strconv.Itoa(q.CompanionSeats))
	}
	return b.String()
}

func tag(fingerprint string, payload []byte) []byte {
	m := macs.Get().(hash.Hash)
	defer macs.Put(m)
	m.Reset()
	io.WriteString(m, fingerprint) //nolint:errcheck // a hash's Write never fails
	m.Write([]byte{0})
	m.Write(payload)
	return m.Sum(make([]byte, 0, sha256.Size))[:tagLen]
}

// macs are tag's keyed hashes, kept between cursors: keying one hashes two blocks.
var macs = sync.Pool{New: func() any { return hmac.New(sha256.New, cursorKey) }}

// NextCursor is the cursor of the page after the one that ends at p.
func (q *Query) NextCursor(p Position) string {
	b := make([]byte, 0, cursorLen)
	b = append(b, cursorVersion)
	b = binary.BigEndian.AppendUint64(b, uint64(p.StartsAt.UnixMicro()))
	b = binary.BigEndian.AppendUint64(b, uint64(p.ID))
	b = append(b, tag(q.Fingerprint(), b)...)
	return base64.RawURLEncoding.EncodeToString(b)
}

func badCursor() error {
	return apperr.Invalid("cursor", "cursor is not the next_cursor of this search; start again without it")
}

func decodeCursor(s string) (Position, error) {
	if len(s) != base64.RawURLEncoding.EncodedLen(cursorLen) {
		return Position{}, badCursor()
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || len(b) != cursorLen || b[0] != cursorVersion {
		return Position{}, badCursor()
	}
	id := int64(binary.BigEndian.Uint64(b[9:17]))
	at := time.UnixMicro(int64(binary.BigEndian.Uint64(b[1:9]))).UTC()
	if id <= 0 || at.Year() < 1900 || at.Year() > 9000 {
		return Position{}, badCursor()
	}
	return Position{StartsAt: at, ID: id}, nil
}

// Check verifies the cursor (if any) against the question as it finally stands (after saved
// needs were applied).
func (q *Query) Check() error {
	if q.Cursor == "" {
		return nil
	}
	b, err := base64.RawURLEncoding.DecodeString(q.Cursor)
	if err != nil || len(b) != cursorLen {
		return badCursor()
	}
	if !hmac.Equal(b[17:], tag(q.Fingerprint(), b[:17])) {
		return badCursor()
	}
	return nil
}
