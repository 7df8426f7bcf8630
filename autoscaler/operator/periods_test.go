package operator

import (
	"testing"
	"time"
)

// The operator's CalendarUtilsTest, in UTC.
func TestExcludedPeriodsValidation(t *testing.T) {
	cases := []struct {
		items []string
		valid bool
	}{
		{[]string{"09:13:17-08:15:18"}, false},
		{[]string{"09:13:17-25:15:18"}, false},
		{[]string{"09:13:17-11:15:18", "18:01:20-16:00:00"}, false},
		{[]string{"09:13:17-11:15:18 && 12:01:20-16:00:00"}, false},
		{[]string{"09:13:17-11:15:18", "14:01:20-16:00:00"}, true},
		{[]string{"* * * ? * 2,5555"}, false},
		{[]string{"* * * ? * 2,5 && 18:01:20-16:00:00"}, false},
		{[]string{"* * * ? * 2,5 && * * 11-13 * * ?"}, false},
		{[]string{"* * * ? * 2,5 && 14:01:20-16:00:00"}, true},
		{[]string{"9:30:30-10:50:20 && * * * ? * 2,5"}, true},
		{[]string{""}, false},
	}
	for _, c := range cases {
		_, err := parseExcludedPeriods(c.items)
		if (err == nil) != c.valid {
			t.Errorf("%q: valid=%v (%v)", c.items, err == nil, err)
		}
	}
}

func TestExcludedPeriodsEvaluation(t *testing.T) {
	// 2023-12-14 is a Thursday.
	at := time.Date(2023, 12, 14, 14, 1, 30, 0, time.UTC)
	cases := []struct {
		items []string
		t     time.Time
		want  bool
	}{
		{[]string{"09:13:17-11:15:18", "14:01:20-16:00:00"}, at, true},
		{[]string{"09:13:17-11:15:18", "14:01:20-16:00:00"}, at.Add(-20 * time.Second), false},
		{[]string{"09:13:17-11:15:18", "14:01:20-16:00:00"}, at.Add(-4 * time.Hour), true},
		{[]string{"* * 14-16 * * ?"}, at, true},
		{[]string{"* * 14-16 * * ?"}, at.Add(-100 * time.Second), false},
		{[]string{"* * * ? * 2,5 && 14:01:20-16:00:00"}, at, true},
		{[]string{"* * * ? * 2,5 && 14:01:20-16:00:00"}, at.AddDate(0, 0, -1), false},
		{[]string{"* * * ? * 2,5 && 14:01:20-16:00:00"}, at.AddDate(0, 0, -3), true},
		// Daily ranges are inclusive at both ends, to the millisecond.
		{[]string{"14:01:20-14:01:30"}, at, true},
		{[]string{"14:01:20-14:01:30"}, at.Add(time.Millisecond), false},
		{[]string{"14:01:20:500-14:01:30"}, at.Add(-9500 * time.Millisecond), true},
		{[]string{"14:01:20:500-14:01:30"}, at.Add(-9501 * time.Millisecond), false},
	}
	for _, c := range cases {
		if got := inExcludedPeriods(c.items, c.t, time.UTC); got != c.want {
			t.Errorf("%q at %s: %v, want %v", c.items, c.t, got, c.want)
		}
	}
	// The same instant is outside the range in another zone.
	tokyo, err := time.LoadLocation("Asia/Tokyo")
	if err != nil {
		t.Skip("no tz database")
	}
	if inExcludedPeriods([]string{"14:00-15:00"}, at, tokyo) {
		t.Error("14:01 UTC is 23:01 in Tokyo")
	}
}

func TestQuartzCron(t *testing.T) {
	d := func(y int, m time.Month, day, h, min, s int) time.Time {
		return time.Date(y, m, day, h, min, s, 0, time.UTC)
	}
	cases := []struct {
		expr string
		t    time.Time
		want bool
	}{
		{"0 0 12 * * ?", d(2026, 3, 4, 12, 0, 0), true},
		{"0 0 12 * * ?", d(2026, 3, 4, 12, 0, 1), false},
		{"0 15 10 ? * MON-FRI", d(2026, 7, 3, 10, 15, 0), true},  // Friday
		{"0 15 10 ? * MON-FRI", d(2026, 7, 4, 10, 15, 0), false}, // Saturday
		{"0 15 10 ? * mon-fri", d(2026, 7, 3, 10, 15, 0), true},  // case-insensitive
		{"*/15 * * * * ?", d(2026, 1, 1, 0, 0, 45), true},
		{"*/15 * * * * ?", d(2026, 1, 1, 0, 0, 44), false},
		{"5/20 * * * * ?", d(2026, 1, 1, 0, 0, 25), true},
		{"0 0 22-2 * * ?", d(2026, 1, 1, 1, 0, 0), true}, // wrapping range
		{"0 0 22-2 * * ?", d(2026, 1, 1, 3, 0, 0), false},
		{"0 0 0 L * ?", d(2024, 2, 29, 0, 0, 0), true},
		{"0 0 0 L * ?", d(2023, 2, 28, 0, 0, 0), true},
		{"0 0 0 L * ?", d(2024, 2, 28, 0, 0, 0), false},
		{"0 0 0 L-3 * ?", d(2026, 1, 28, 0, 0, 0), true},
		{"0 0 0 LW * ?", d(2026, 5, 29, 0, 0, 0), true},  // May 31 2026 is a Sunday
		{"0 0 0 15W * ?", d(2026, 8, 14, 0, 0, 0), true}, // Aug 15 2026 is a Saturday
		{"0 0 0 15W * ?", d(2026, 8, 15, 0, 0, 0), false},
		{"0 0 0 1W * ?", d(2026, 8, 3, 0, 0, 0), true},  // Aug 1 2026 is a Saturday: Monday the 3rd
		{"0 0 0 ? * 6L", d(2026, 7, 31, 0, 0, 0), true}, // last Friday of July 2026
		{"0 0 0 ? * 6L", d(2026, 7, 24, 0, 0, 0), false},
		{"0 0 0 ? * FRI#3", d(2026, 7, 17, 0, 0, 0), true},
		{"0 0 0 ? * 6#3", d(2026, 7, 10, 0, 0, 0), false},
		{"0 0 0 ? * L", d(2026, 7, 4, 0, 0, 0), true}, // L alone is Saturday
		{"0 0 0 ? JAN-MAR,NOV *", d(2026, 2, 2, 0, 0, 0), true},
		{"0 0 0 ? JAN-MAR,NOV *", d(2026, 4, 6, 0, 0, 0), false},
		{"0 0 0 1 1 ? 2027", d(2026, 1, 1, 0, 0, 0), false},
		{"0 0 0 1 1 ? 2026-2030", d(2026, 1, 1, 0, 0, 0), true},
		{"0 0 9-17 ? * 2-6", d(2026, 7, 1, 16, 0, 0), true},
	}
	for _, c := range cases {
		ce, err := parseCron(c.expr)
		if err != nil {
			t.Errorf("%q: %v", c.expr, err)
			continue
		}
		if got := ce.matches(c.t); got != c.want {
			t.Errorf("%q at %s: %v, want %v", c.expr, c.t.Format(time.RFC1123), got, c.want)
		}
	}
	invalid := []string{
		"* * * * * *",       // both day fields specified
		"* * * ? * ?",       // neither
		"60 * * * * ?",      // out of range
		"* * 24 * * ?",      // out of range
		"* * * ? * 8",       // day of week out of range
		"* * * 32 * ?",      // day of month out of range
		"* * * ? 13 *",      // month out of range
		"* * * *",           // too few fields
		"* * * * * ? * *",   // too many fields
		"0 0 0 ? * MON,L",   // L with other days
		"0 0 0 L-31 * ?",    // offset > 30
		"0 0 0 ? * FOO",     // unknown day
		"0 0 0 ? * 6#6",     // nth > 5
		"0 0 0 ? * 1#1,2#2", // several nth
		"*/61 * * * * ?",    // increment > 59
		"0 0 0 5L * ?",      // L after a day of month
		"0 0 0 ? * 5W",      // W in day of week
		"0 0 0 ? * 5-",      // dangling range
		"0 0 0 ? * X",
	}
	for _, expr := range invalid {
		if _, err := parseCron(expr); err == nil {
			t.Errorf("%q must be invalid", expr)
		}
	}
}

func FuzzExcludedPeriod(f *testing.F) {
	for _, s := range []string{"09:00-10:00", "* * 9-17 ? * MON-FRI", "0 0 0 L-3W * ?", "0 0 0 ? * 6#3 && 01:00:00:500-02:00",
		"0/5 14,18,3-39,52 * ? JAN,MAR,SEP MON-FRI 2002-2010", "* * * ? * 2,5555", "1-2/3 * * 4W * ?"} {
		f.Add(s, int64(1750000000))
	}
	f.Fuzz(func(t *testing.T, expr string, unix int64) {
		p, err := ParseExcludedPeriod(expr)
		if err != nil {
			return
		}
		at := time.Unix(unix%(1<<33), 0)
		first := p.Contains(at, time.UTC)
		if p.Contains(at, time.UTC) != first {
			t.Fatal("not deterministic")
		}
	})
}
