package flinkconf

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// OptionError is one bad setting: the option, the key and value it was given as, and what is
// wrong with it (the value does not parse, or it breaks a rule).
type OptionError struct {
	Option Option
	// Key is the key the value was given under: the main key or a fallback key, so that the
	// user finds what they wrote; the main key when the option is not configured.
	Key string
	// Value is the raw value in effect: as configured, else the default.
	Value string
	// Err is Flink's exception for a value that does not parse; nil for a broken rule.
	Err *Exception
	// Rule is the rule the value breaks, or, for a value that does not parse, what a value of
	// its type looks like when the reader's Expect says so.
	Rule string
}

// Message says what is wrong: the rule, else Flink's message with its cause, as Flink's
// Configuration reports it ("Could not parse value 'x' for key 'k'. Cause: ...").
func (e *OptionError) Message() string {
	if e.Rule != "" || e.Err == nil {
		return e.Rule
	}
	msg := e.Err.Message
	if e.Err.Cause != nil {
		msg += " Cause: " + e.Err.Cause.Message
	}
	return msg
}

// Error renders `key: invalid value "v" (message)`.
func (e *OptionError) Error() string {
	return fmt.Sprintf("%s: invalid value %q (%s)", e.Key, e.Value, e.Message())
}

// OptionErrors are all bad settings of one configuration, in the order their options are
// declared.
type OptionErrors []*OptionError

// Error joins the settings' errors with "; ", on one line (decision reasons and events are
// one line each).
func (es OptionErrors) Error() string { return JoinedText(es) }

// Unwrap gives errors.As and errors.Is every setting's error.
func (es OptionErrors) Unwrap() []error { return AsErrors(es) }

// JoinedText is several errors' text on one line, "; " between them: the option parsers' way
// of naming every bad setting at once.
func JoinedText[E error](es []E) string {
	msgs := make([]string, len(es))
	for i, e := range es {
		msgs[i] = e.Error()
	}
	return strings.Join(msgs, "; ")
}

// AsErrors gives a multi-error's Unwrap its elements as errors.
func AsErrors[E error](es []E) []error {
	out := make([]error, len(es))
	for i, e := range es {
		out[i] = e
	}
	return out
}

// Reader reads typed options from a configuration and records every bad setting instead of
// stopping at the first, so that one error names them all. A value that does not parse reads
// as the option's default (the zero value without one), so rules over other options still
// see a sensible value. Errors come in the order the options were first read, which the
// parsers keep to the order the options are declared.
type Reader struct {
	cfg *Config
	// Expect, when set, words a value that does not parse by what its type accepts ("want
	// true or false") instead of Flink's message; types without an entry keep Flink's.
	Expect map[Type]string
	errs   []*OptionError
	order  map[string]int // main key -> position of the option's first read
}

// NewReader returns a reader of cfg; nil reads an empty configuration (every default).
func NewReader(cfg *Config) *Reader {
	if cfg == nil {
		cfg = New()
	}
	return &Reader{cfg: cfg, order: map[string]int{}}
}

// Config returns the configuration read.
func (r *Reader) Config() *Config { return r.cfg }

// seen notes o's position the first time it is read or checked.
func (r *Reader) seen(o Option) {
	if _, ok := r.order[o.Key]; !ok {
		r.order[o.Key] = len(r.order)
	}
}

// record adds a bad setting of o.
func (r *Reader) record(o Option, perr *Exception, rule string) {
	r.seen(o)
	raw, key, found := r.cfg.Lookup(o)
	if !found {
		raw, key = o.Default, o.Key
	}
	if perr != nil && rule == "" {
		rule = r.Expect[o.Type]
	}
	r.errs = append(r.errs, &OptionError{Option: o, Key: key, Value: raw, Err: perr, Rule: rule})
}

// read resolves o through get (one of Config's typed getters); a value that does not parse is
// recorded and replaced by the default.
func read[T any](r *Reader, o Option, get func(*Config, Option) (T, bool, *Exception)) T {
	r.seen(o)
	v, _, perr := get(r.cfg, o)
	if perr == nil {
		return v
	}
	r.record(o, perr, "")
	if o.HasDefault {
		// Defaults are valid by construction (Config's getters panic on a bad default).
		v, _, _ = get(New(), o)
	}
	return v
}

// Bool reads a boolean option.
func (r *Reader) Bool(o Option) bool { return read(r, o, (*Config).Bool) }

// Int reads an int option.
func (r *Reader) Int(o Option) int { return int(read(r, o, (*Config).Int)) }

// Double reads a double option; 0 when neither configured nor defaulted.
func (r *Reader) Double(o Option) float64 { return read(r, o, (*Config).Double) }

// Duration reads a duration option.
func (r *Reader) Duration(o Option) time.Duration { return read(r, o, (*Config).Duration) }

// MemorySize reads a memory-size option in bytes.
func (r *Reader) MemorySize(o Option) int64 { return read(r, o, (*Config).MemorySize) }

// String reads a string option ("" when neither configured nor defaulted); it cannot fail.
func (r *Reader) String(o Option) string {
	r.seen(o)
	v, _ := r.cfg.String(o)
	return v
}

// Invalid records o's value as not parsing, with Flink's exception (for values the caller
// parses itself: enums, lists).
func (r *Reader) Invalid(o Option, e *Exception) { r.record(o, e, "") }

// Check records o's value as breaking rule unless ok. A value already recorded as bad is not
// checked again, so that each bad setting is named once.
func (r *Reader) Check(ok bool, o Option, rule string) {
	if !ok && !r.Failed(o) {
		r.record(o, nil, rule)
	}
}

// Failed reports whether any of opts has been recorded as bad.
func (r *Reader) Failed(opts ...Option) bool {
	for _, e := range r.errs {
		for _, o := range opts {
			if e.Option.Key == o.Key {
				return true
			}
		}
	}
	return false
}

// Errors returns every bad setting, in the order the options were first read (stable for
// several errors of one option).
func (r *Reader) Errors() OptionErrors {
	out := slices.Clone(r.errs)
	slices.SortStableFunc(out, func(a, b *OptionError) int { return r.order[a.Option.Key] - r.order[b.Option.Key] })
	return out
}

// Err returns the bad settings as an OptionErrors, or nil when there is none.
func (r *Reader) Err() error {
	if len(r.errs) == 0 {
		return nil
	}
	return r.Errors()
}
