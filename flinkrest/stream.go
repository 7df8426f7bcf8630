package flinkrest

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
)

// Bounds of what one response may hold, per kind of endpoint: a response is decoded as it
// arrives (never buffered whole), and one larger than its bound fails as bad data. With at
// most maxInFlight calls per client the memory a cluster can make us hold is bounded by
// their product, whatever it sends.
const (
	// limitMetrics: metric queries and listings, configuration, resource requirements. A
	// vertex's name listing of a large chained job is a few hundred KiB.
	limitMetrics = 2 << 20
	// limitLarge: job details and plans, the job and TaskManager lists, exception
	// histories (stack traces): thousands of entries fit.
	limitLarge = 8 << 20
	// limitError bounds the body of a non-2xx answer (only its start is reported).
	limitError = 64 << 10
	// DefaultMaxInFlight is how many calls one client runs at once (WithMaxInFlight).
	DefaultMaxInFlight = 8
)

// bodyLimit returns the bound of a response to path (escaped, without query).
func bodyLimit(path string) int64 {
	switch {
	case strings.HasSuffix(path, "/metrics"), strings.HasSuffix(path, "/config"),
		strings.HasSuffix(path, "/resource-requirements"), strings.HasSuffix(path, "/status"):
		return limitMetrics
	}
	return limitLarge
}

// errTooLarge is the read error of a body past its bound.
var errTooLarge = errors.New("response body too large")

// capReader reads at most n bytes of r; reading past them fails with errTooLarge. It keeps
// the underlying read error apart, so that a reset connection (worth a retry) is not taken
// for malformed JSON (not worth one).
type capReader struct {
	r       io.Reader
	n       int64
	readErr error
}

func (c *capReader) Read(p []byte) (int, error) {
	if c.n < 0 {
		return 0, errTooLarge
	}
	if int64(len(p)) > c.n+1 {
		p = p[:c.n+1]
	}
	n, err := c.r.Read(p)
	c.n -= int64(n)
	if c.n < 0 {
		return n, errTooLarge
	}
	if err != nil && err != io.EOF {
		c.readErr = err
	}
	return n, err
}

// decodeStream decodes one JSON document from r into out, quoting bare non-finite tokens
// (as Decode does) on the fly. Trailing data other than white space is an error. length is
// the body's length when known (Content-Length), else -1: it only sizes the read buffer.
func decodeStream(r io.Reader, length int64, out any) error {
	dec := json.NewDecoder(newNonFiniteReader(r, length))
	if err := dec.Decode(out); err != nil {
		if err == io.EOF {
			return errors.New("empty body")
		}
		return err
	}
	if _, err := dec.Token(); err != io.EOF {
		if err == nil {
			return errors.New("trailing data after the JSON document")
		}
		return err
	}
	return nil
}

// nonFiniteReader is QuoteNonFinite as a stream: bare NaN, Infinity, +Infinity, -Infinity
// and -NaN outside strings come out quoted. It writes straight into the caller's buffer.
type nonFiniteReader struct {
	br        *bufio.Reader
	pending   []byte // the rest of an expanded token that did not fit
	pendBuf   [longestNonFinite + 2]byte
	inString  bool
	escape    bool
	prevIdent bool
}

// newNonFiniteReader reads r through a 16 KiB buffer, or one just larger than a shorter
// body of known length (most answers are a few hundred bytes, and a buffer per call was a
// sixth of a benchmark's allocation).
func newNonFiniteReader(r io.Reader, length int64) *nonFiniteReader {
	size := 16 << 10
	if length >= 0 && length < int64(size) {
		size = int(length) + 1 // bufio keeps at least 16 bytes: room for a non-finite token's look-ahead
	}
	return &nonFiniteReader{br: bufio.NewReaderSize(r, size)}
}

const longestNonFinite = len("-Infinity")

func (n *nonFiniteReader) Read(p []byte) (int, error) {
	w := copy(p, n.pending)
	n.pending = n.pending[w:]
	for w < len(p) && len(n.pending) == 0 {
		if w > 0 && n.br.Buffered() == 0 {
			break // return what we have rather than block for more
		}
		if k := n.copyPlain(p[w:]); k > 0 {
			w += k
			continue
		}
		c, err := n.br.ReadByte()
		if err != nil {
			if w > 0 {
				break
			}
			return 0, err
		}
		tok := n.step(c)
		if tok == "" {
			p[w] = c
			w++
			continue
		}
		var exp [longestNonFinite + 2]byte
		e := append(append(append(exp[:0], '"'), tok...), '"')
		k := copy(p[w:], e)
		w += k
		n.pending = append(n.pendBuf[:0], e[k:]...)
	}
	return w, nil
}

// copyPlain copies buffered bytes into p up to the first one that may start a non-finite
// token (the fast path: no per-byte call), tracking the string state as step does.
func (n *nonFiniteReader) copyPlain(p []byte) int {
	buf, _ := n.br.Peek(min(n.br.Buffered(), len(p)))
	i := 0
	for ; i < len(buf); i++ {
		c := buf[i]
		if n.inString {
			n.stringByte(c)
			continue
		}
		if (c == 'N' || c == 'I' || c == '-' || c == '+') && !n.prevIdent {
			break
		}
		if c == '"' {
			n.inString, n.prevIdent = true, false
			continue
		}
		n.prevIdent = isIdentByte(c)
	}
	copy(p, buf[:i])
	n.br.Discard(i)
	return i
}

// stringByte consumes byte c inside a JSON string: an escape, the closing quote, or text.
func (n *nonFiniteReader) stringByte(c byte) {
	switch {
	case n.escape:
		n.escape = false
	case c == '\\':
		n.escape = true
	case c == '"':
		n.inString = false
	}
}

// step consumes one byte c (already read); it returns the non-finite token c starts (its
// other bytes consumed too), or "" when c stands for itself.
func (n *nonFiniteReader) step(c byte) string {
	switch {
	case n.inString:
		n.stringByte(c)
	case c == '"':
		n.inString, n.prevIdent = true, false
	case (c == 'N' || c == 'I' || c == '-' || c == '+') && !n.prevIdent:
		ahead, _ := n.br.Peek(longestNonFinite) // shorter at the end of the body
		for _, t := range [...]string{"NaN", "Infinity", "-Infinity", "+Infinity", "-NaN"} {
			if t[0] != c || len(ahead) < len(t)-1 || string(ahead[:len(t)-1]) != t[1:] {
				continue
			}
			if len(ahead) > len(t)-1 && isIdentByte(ahead[len(t)-1]) {
				continue
			}
			n.br.Discard(len(t) - 1)
			n.prevIdent = false
			return t
		}
		n.prevIdent = isIdentByte(c)
	default:
		n.prevIdent = isIdentByte(c)
	}
	return ""
}

// tooLargeError names the bound a body exceeded.
func tooLargeError(limit int64) error {
	return fmt.Errorf("body larger than %d bytes (the bound of this endpoint)", limit)
}
