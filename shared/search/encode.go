package search

import (
	"bytes"
	"strconv"
	"sync"

	"github.com/dostupno/dostupno/shared/jsoncodec"
)

// A search answer's bytes are the contract's and its ETag's: jsoncodec.MarshalTrusted's (the
// bytes encoding/json writes). Most of a page's summaries come from the details an instance
// keeps (KeptDetails), whose fields before the accessibility codes do not change while they
// are kept: encodePage copies those fields' encoding, made once when the detail is kept
// (SummaryHead, encodeHead), and writes the rest of each summary and of the page itself. On
// 1M events with 16 clients, the page's summaries and their encoding took 14% of
// search-events' CPU (cmd/dostupno bench --cpuprofile; docs/PERFORMANCE.md, a nineteenth
// machine).

// encodeHead is the encoding of s's SummaryHead, whose times are in UTC as summaries gives
// them (SummaryHead.inUTC), opened as a JSON object and ending with the comma before
// Accessibility; nil if it cannot be encoded (a time past year 9999), and the page is then
// encoded whole.
func encodeHead(s *Summary) []byte {
	b, err := jsoncodec.MarshalTrusted(s.SummaryHead)
	if err != nil || len(b) < 2 || b[len(b)-1] != '}' {
		return nil
	}
	b[len(b)-1] = ','
	return b
}

// pageBuffers hold encodePage's work, a page's length and more, between answers.
var pageBuffers = sync.Pool{New: func() any { return new([]byte) }}

// encodePage returns the answer's bytes for p, as jsoncodec.MarshalTrusted writes them: from
// its summaries' heads when every one has its head (a kept detail's), else by encoding p
// whole.
func encodePage(p *Page) ([]byte, error) {
	for i := range p.Items {
		if p.Items[i].head == nil {
			return jsoncodec.MarshalTrusted(p)
		}
	}
	bp := pageBuffers.Get().(*[]byte)
	defer pageBuffers.Put(bp)
	b, err := appendPage((*bp)[:0], p)
	*bp = b
	if err != nil {
		return nil, err
	}
	return bytes.Clone(b), nil
}

// appendPage appends p's encoding to b, each summary from its head.
func appendPage(b []byte, p *Page) ([]byte, error) {
	var err error
	b = append(b, `{"items":`...)
	if p.Items == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, '[')
		for i := range p.Items {
			if i > 0 {
				b = append(b, ',')
			}
			if b, err = appendSummary(b, &p.Items[i]); err != nil {
				return b, err
			}
		}
		b = append(b, ']')
	}
	b = append(b, `,"next_cursor":`...)
	if b, err = appendStringPtr(b, p.NextCursor); err != nil {
		return b, err
	}
	b = append(b, `,"applied_constraints":`...)
	if b, err = appendStrings(b, p.AppliedConstraints); err != nil {
		return b, err
	}
	return append(b, '}'), nil
}

// appendSummary appends s's encoding: its head, then the fields a page decides.
func appendSummary(b []byte, s *Summary) ([]byte, error) {
	var err error
	b = append(b, s.head...)
	b = append(b, `"accessibility":`...)
	if b, err = appendStrings(b, s.Accessibility); err != nil {
		return b, err
	}
	b = append(b, `,"cover_url":`...)
	if b, err = appendStringPtr(b, s.CoverURL); err != nil {
		return b, err
	}
	if s.Unknown != nil {
		b = append(b, `,"unknown":`...)
		if b, err = appendStrings(b, *s.Unknown); err != nil {
			return b, err
		}
	}
	b = append(b, `,"availability":`...)
	if a := s.Availability; a == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, `{"wheelchair_spaces":`...)
		b = strconv.AppendInt(b, int64(a.WheelchairSpaces), 10)
		b = append(b, `,"companion_seats":`...)
		b = strconv.AppendInt(b, int64(a.CompanionSeats), 10)
		b = append(b, `,"as_of":"`...)
		if b, err = a.AsOf.AppendText(b); err != nil { // time.Time's MarshalJSON, unquoted
			return b, err
		}
		b = append(b, `"}`...)
	}
	return append(b, '}'), nil
}

// appendStrings appends ss as a JSON array (null when nil).
func appendStrings(b []byte, ss []string) ([]byte, error) {
	if ss == nil {
		return append(b, "null"...), nil
	}
	b = append(b, '[')
	var err error
	for i, s := range ss {
		if i > 0 {
			b = append(b, ',')
		}
		if b, err = appendString(b, s); err != nil {
			return b, err
		}
	}
	return append(b, ']'), nil
}

// appendStringPtr appends *s as a JSON string, null when s is nil.
func appendStringPtr(b []byte, s *string) ([]byte, error) {
	if s == nil {
		return append(b, "null"...), nil
	}
	return appendString(b, *s)
}

// plain are the bytes a JSON string holds as they are: printable ASCII but for the quote,
// the backslash and the characters escaped for HTML.
var plain = func() (p [256]bool) {
	for c := 0x20; c < 0x7f; c++ {
		p[c] = c != '"' && c != '\\' && c != '<' && c != '>' && c != '&'
	}
	return p
}()

// appendString appends s as a JSON string as jsoncodec writes it: a string of printable
// ASCII that needs no escape (codes, cursors, most photo URLs) as it is, any other through
// the codec.
func appendString(b []byte, s string) ([]byte, error) {
	for i := 0; i < len(s); i++ {
		if !plain[s[i]] {
			q, err := jsoncodec.MarshalTrusted(s)
			return append(b, q...), err
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"'), nil
}
