package flinkconf

import (
	"math/big"
	"time"
)

// DurationUnitsHelp lists the unit labels Flink's TimeUtils accepts, in Flink's words.
const DurationUnitsHelp = "DAYS: (d | day | days), HOURS: (h | hour | hours), MINUTES: (min | m | minute | minutes), " +
	"SECONDS: (s | sec | secs | second | seconds), MILLISECONDS: (ms | milli | millis | millisecond | milliseconds), " +
	"MICROSECONDS: (µs | micro | micros | microsecond | microseconds), NANOSECONDS: (ns | nano | nanos | nanosecond | nanoseconds)"

var durationUnits = map[string]time.Duration{
	"d": 24 * time.Hour, "day": 24 * time.Hour, "days": 24 * time.Hour,
	"h": time.Hour, "hour": time.Hour, "hours": time.Hour,
	"min": time.Minute, "m": time.Minute, "minute": time.Minute, "minutes": time.Minute,
	"s": time.Second, "sec": time.Second, "secs": time.Second, "second": time.Second, "seconds": time.Second,
	"ms": time.Millisecond, "milli": time.Millisecond, "millis": time.Millisecond,
	"millisecond": time.Millisecond, "milliseconds": time.Millisecond,
	"µs": time.Microsecond, "micro": time.Microsecond, "micros": time.Microsecond,
	"microsecond": time.Microsecond, "microseconds": time.Microsecond,
	"ns": time.Nanosecond, "nano": time.Nanosecond, "nanos": time.Nanosecond,
	"nanosecond": time.Nanosecond, "nanoseconds": time.Nanosecond,
}

// ParseDuration parses text as Flink's TimeUtils.parseDuration: leading digits, then an
// optional unit label; a bare number is milliseconds ("30 s", "5min", "1d", "500").
func ParseDuration(text string) (time.Duration, *Exception) {
	number, label, perr := splitNumberUnit(text)
	if perr != nil {
		return 0, perr
	}
	unit := time.Millisecond
	if label != "" {
		u, ok := durationUnits[label]
		if !ok {
			return 0, IllegalArgument("Time interval unit label '"+label+"' does not match any of the recognized units: "+DurationUnitsHelp, nil)
		}
		unit = u
	}
	v, ok := new(big.Int).SetString(number, 10)
	if !ok {
		return 0, IllegalArgument("The value '"+number+"' cannot be represented as an integer number.", nil)
	}
	v.Mul(v, big.NewInt(int64(unit)))
	if !v.IsInt64() {
		return 0, IllegalArgument("The value '"+number+"' cannot be represented as java.time.Duration (numeric overflow).", nil)
	}
	return time.Duration(v.Int64()), nil
}

// MustDuration parses a duration known to be valid; it panics otherwise.
func MustDuration(text string) time.Duration {
	d, err := ParseDuration(text)
	if err != nil {
		panic(err)
	}
	return d
}

// FormatDuration renders d with the largest unit that divides it exactly, in Flink's style
// ("5 min", "30 s", "1 h", "250 ms").
func FormatDuration(d time.Duration) string {
	if d == 0 {
		return "0 ms"
	}
	units := []struct {
		d    time.Duration
		name string
	}{{24 * time.Hour, "d"}, {time.Hour, "h"}, {time.Minute, "min"}, {time.Second, "s"}, {time.Millisecond, "ms"}, {time.Microsecond, "µs"}}
	for _, u := range units {
		if d%u.d == 0 {
			return itoa64(int64(d/u.d)) + " " + u.name
		}
	}
	return itoa64(int64(d)) + " ns"
}

func itoa64(v int64) string { return big.NewInt(v).String() }
