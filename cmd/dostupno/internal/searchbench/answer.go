package searchbench

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"

	"golang.org/x/net/http/httpguts"
)

// answer is an HTTP/1.1 answer at the start of what a client has read: n, its length (0 while
// it is not whole), its status, and whether the server closes the connection after it.
type answer struct {
	n       int
	status  int
	closing bool
}

// maxHead bounds an answer's status line and headers.
const maxHead = 64 << 10

var (
	crlf         = []byte("\r\n")
	headEnd      = []byte("\r\n\r\n")
	errMalformed = errors.New("malformed answer")
)

// parseAnswer finds the answer at the start of b, all the connection held when eof: its status
// line and headers, then a body of Content-Length bytes, or chunks (Transfer-Encoding:
// chunked, to the last chunk and its trailers), or, in an answer after which the server
// closes, whatever comes to the connection's end. n is 0 while b holds less than the whole
// answer.
func parseAnswer(b []byte, eof bool) (answer, error) {
	h := bytes.Index(b, headEnd)
	if h < 0 {
		if len(b) > maxHead {
			return answer{}, fmt.Errorf("no end of the headers in %d bytes", len(b))
		}
		return answer{}, nil
	}
	if bytes.Count(b[:h], []byte("\n")) != bytes.Count(b[:h], crlf) {
		return answer{}, fmt.Errorf("%w: a line of the headers ends without CR", errMalformed)
	}
	line, rest, _ := bytes.Cut(b[:h+2], crlf)
	// HTTP/1.x 200 ...
	if len(line) < 12 || !bytes.HasPrefix(line, []byte("HTTP/1.")) || line[7] != '0' && line[7] != '1' || line[8] != ' ' ||
		(len(line) > 12 && line[12] != ' ') || !httpguts.ValidHeaderFieldValue(string(line)) {
		return answer{}, fmt.Errorf("%w: status line %q", errMalformed, truncate(line))
	}
	status, err := strconv.Atoi(string(line[9:12]))
	if err != nil || status < 100 {
		return answer{}, fmt.Errorf("%w: status line %q", errMalformed, truncate(line))
	}
	a := answer{status: status, closing: line[7] == '0'} // HTTP/1.0 closes unless told otherwise
	length, chunked := -1, false
	for len(rest) > 0 {
		var l []byte
		l, rest, _ = bytes.Cut(rest, crlf)
		k, v, ok := bytes.Cut(l, []byte(":"))
		if !ok || !httpguts.ValidHeaderFieldName(string(k)) || !httpguts.ValidHeaderFieldValue(string(v)) {
			return answer{}, fmt.Errorf("%w: header %q", errMalformed, truncate(l))
		}
		v = bytes.TrimSpace(v)
		switch {
		case bytes.EqualFold(k, []byte("Content-Length")):
			if length, err = strconv.Atoi(string(v)); err != nil || length < 0 || v[0] == '+' {
				return answer{}, fmt.Errorf("%w: Content-Length %q", errMalformed, truncate(v))
			}
		case bytes.EqualFold(k, []byte("Transfer-Encoding")):
			chunked = bytes.EqualFold(v, []byte("chunked"))
			if !chunked {
				return answer{}, fmt.Errorf("%w: Transfer-Encoding %q", errMalformed, truncate(v))
			}
		case bytes.EqualFold(k, []byte("Connection")):
			a.closing = bytes.EqualFold(v, []byte("close"))
		}
	}
	body := h + len(headEnd)
	switch {
	case chunked:
		end, err := chunksEnd(b[body:])
		if err != nil || end == 0 {
			return answer{}, err
		}
		a.n = body + end
	case length >= 0:
		if len(b)-body < length {
			return answer{}, nil
		}
		a.n = body + length
	case status == 204 || status == 304 || status < 200:
		a.n = body
	case !a.closing:
		return answer{}, errors.New("an answer with neither Content-Length nor chunks on a connection kept open")
	case eof:
		a.n = len(b)
	}
	return a, nil
}

// chunksEnd is the length of the chunked body at the start of b, its last chunk's trailers
// included; 0 while b holds less.
func chunksEnd(b []byte) (int, error) {
	i := 0
	for {
		j := bytes.Index(b[i:], crlf)
		if j < 0 {
			return 0, nil
		}
		size, _, _ := bytes.Cut(b[i:i+j], []byte(";")) // a chunk's extensions
		n, err := strconv.ParseUint(string(bytes.TrimRight(size, " \t")), 16, 31)
		if err != nil {
			return 0, fmt.Errorf("%w: chunk size %q", errMalformed, truncate(size))
		}
		i += j + len(crlf)
		if n == 0 {
			for { // trailers, to an empty line
				k := bytes.Index(b[i:], crlf)
				if k < 0 {
					return 0, nil
				}
				i += k + len(crlf)
				if k == 0 {
					return i, nil
				}
			}
		}
		if len(b)-i < int(n)+len(crlf) {
			return 0, nil
		}
		if !bytes.Equal(b[i+int(n):i+int(n)+len(crlf)], crlf) {
			return 0, fmt.Errorf("%w: a chunk longer than its size", errMalformed)
		}
		i += int(n) + len(crlf)
	}
}

// truncate is b cut to 40 bytes, for an error.
func truncate(b []byte) []byte { return b[:min(len(b), 40)] }
