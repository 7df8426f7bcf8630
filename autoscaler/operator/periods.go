package operator

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/flinktune/flinktune/flinkconf"
)

// Excluded periods (job.autoscaler.excluded.periods): each list item is a Quartz cron
// expression, a daily time range "HH:mm[:ss[:SSS]]-HH:mm[:ss[:SSS]]", or one of each joined with
// "&&" (both must hold). Inside a period decisions are reported but not applied. The operator
// evaluates them in the JVM's default time zone; flinktune uses Options.Location.

// ExcludedPeriod is one parsed item of excluded.periods.
type ExcludedPeriod struct {
	Expr  string
	parts []periodPart
}

type periodPart struct {
	daily *dailyRange
	cron  *cronExpr
}

// ParseExcludedPeriod parses and validates one item as the operator's CalendarUtils does.
func ParseExcludedPeriod(expr string) (*ExcludedPeriod, error) {
	key := OptExcludedPeriods.Key
	subs := javaSplit(expr, "&&")
	if len(subs) > 2 {
		return nil, &OptionError{Key: key, Message: fmt.Sprintf("Invalid value %s in the autoscaler config %s", expr, key)}
	}
	p := &ExcludedPeriod{Expr: expr}
	hasDaily, hasCron := false, false
	for _, sub := range subs {
		sub = strings.TrimSpace(sub)
		d, derr := parseDaily(sub)
		c, cerr := parseCron(sub)
		if derr != nil && cerr != nil {
			return nil, &OptionError{Key: key, Message: fmt.Sprintf("Invalid value %s in the autoscaler config %s, the value is neither a valid daily expression nor a valid cron expression", expr, key)}
		}
		// At evaluation the operator tries the daily form first.
		if derr == nil {
			hasDaily = true
			p.parts = append(p.parts, periodPart{daily: d})
		} else {
			p.parts = append(p.parts, periodPart{cron: c})
		}
		if cerr == nil {
			hasCron = true
		}
	}
	if len(subs) == 2 && (!hasDaily || !hasCron) {
		return nil, &OptionError{Key: key, Message: fmt.Sprintf("Invalid value %s in the autoscaler config %s, the value can not be configured as dailyExpression && dailyExpression or cronExpression && cronExpression", expr, key)}
	}
	return p, nil
}

// Contains reports whether t lies in the period, evaluated in loc.
func (p *ExcludedPeriod) Contains(t time.Time, loc *time.Location) bool {
	if loc == nil {
		loc = time.UTC
	}
	t = t.In(loc)
	for _, part := range p.parts {
		if part.daily != nil {
			if !part.daily.contains(t) {
				return false
			}
		} else if !part.cron.matches(t) {
			return false
		}
	}
	return true
}

func parseExcludedPeriods(items []string) ([]*ExcludedPeriod, error) {
	out := make([]*ExcludedPeriod, 0, len(items))
	for _, it := range items {
		p, err := ParseExcludedPeriod(it)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, nil
}

// inExcludedPeriods is CalendarUtils.inExcludedPeriods (items were validated by ParseOptions;
// an invalid item counts as not excluded).
func inExcludedPeriods(items []string, t time.Time, loc *time.Location) bool {
	for _, it := range items {
		p, err := ParseExcludedPeriod(it)
		if err == nil && p.Contains(t, loc) {
			return true
		}
	}
	return false
}

// javaSplit is String#split with a literal separator: trailing empty strings are removed.
func javaSplit(s, sep string) []string {
	parts := strings.Split(s, sep)
	if len(parts) == 1 {
		return parts
	}
	for len(parts) > 0 && parts[len(parts)-1] == "" {
		parts = parts[:len(parts)-1]
	}
	return parts
}

// dailyRange is Quartz's DailyCalendar with invertTimeRange: the inclusive time-of-day range.
type dailyRange struct{ startMs, endMs int64 }

func parseDaily(s string) (*dailyRange, error) {
	ends := javaSplit(s, "-")
	if len(ends) != 2 {
		return nil, fmt.Errorf("not a daily range")
	}
	start, err := parseTimeOfDay(ends[0])
	if err != nil {
		return nil, err
	}
	end, err := parseTimeOfDay(ends[1])
	if err != nil {
		return nil, err
	}
	if start >= end {
		return nil, fmt.Errorf("Invalid time range: %s", s)
	}
	return &dailyRange{start, end}, nil
}

// parseTimeOfDay parses "HH:mm[:ss[:SSS]]" as DailyCalendar: empty fields are skipped (a
// StringTokenizer), numbers follow Integer.parseInt.
func parseTimeOfDay(s string) (int64, error) {
	var fields []string
	for _, f := range strings.Split(s, ":") {
		if f != "" {
			fields = append(fields, f)
		}
	}
	if len(fields) < 2 || len(fields) > 4 {
		return 0, fmt.Errorf("Invalid time string '%s'", s)
	}
	limits := []int32{23, 59, 59, 999}
	var v [4]int32
	for i, f := range fields {
		n, err := flinkconf.ParseJavaInt(f)
		if err != nil {
			return 0, err
		}
		if n < 0 || n > limits[i] {
			return 0, fmt.Errorf("Invalid time value %d in '%s'", n, s)
		}
		v[i] = n
	}
	return ((int64(v[0])*60+int64(v[1]))*60+int64(v[2]))*1000 + int64(v[3]), nil
}

func (d *dailyRange) contains(t time.Time) bool {
	ms := int64(((t.Hour()*60+t.Minute())*60+t.Second())*1000 + t.Nanosecond()/1e6)
	return ms >= d.startMs && ms <= d.endMs
}

// Quartz CronExpression fields and markers.
const (
	cronSecond = iota
	cronMinute
	cronHour
	cronDayOfMonth
	cronMonth
	cronDayOfWeek
	cronYear

	cronAllSpec        = 99 // '*'
	cronNoSpec         = 98 // '?'
	cronMaxLastOffset  = 30
	cronLastOffsetBase = 32                                     // "L-30"
	cronLastDay        = cronLastOffsetBase + cronMaxLastOffset // "L"
	cronMaxYear        = 2199
)

var cronMonths = map[string]int{"JAN": 0, "FEB": 1, "MAR": 2, "APR": 3, "MAY": 4, "JUN": 5, "JUL": 6, "AUG": 7, "SEP": 8, "OCT": 9, "NOV": 10, "DEC": 11}
var cronDays = map[string]int{"SUN": 1, "MON": 2, "TUE": 3, "WED": 4, "THU": 5, "FRI": 6, "SAT": 7}

// cronExpr is a parsed Quartz cron expression (seconds minutes hours day-of-month month
// day-of-week [year]).
type cronExpr struct {
	sets            [7]map[int]bool
	nearestWeekdays map[int]bool
	lastDayOfWeek   bool
	nthDayOfWeek    int
}

type cronErr struct{ msg string }

// parseCron follows Quartz's CronExpression parser, including its tolerance of trailing
// characters; any malformed input (which makes Quartz throw) is an error.
func parseCron(expr string) (ce *cronExpr, err error) {
	ce = &cronExpr{nearestWeekdays: map[int]bool{}}
	for i := range ce.sets {
		ce.sets[i] = map[int]bool{}
	}
	defer func() {
		if r := recover(); r != nil {
			ce = nil
			if e, ok := r.(cronErr); ok {
				err = fmt.Errorf("%s", e.msg)
			} else {
				err = fmt.Errorf("Illegal cron expression format (%v)", r)
			}
		}
	}()
	expr = strings.ToUpper(expr)
	tokens := strings.FieldsFunc(expr, func(r rune) bool { return r == ' ' || r == '\t' })
	if len(tokens) > 7 {
		panic(cronErr{"Invalid expression has too many terms: " + expr})
	}
	on := cronSecond
	for _, tok := range tokens {
		if on == cronDayOfWeek && strings.Contains(tok, "L") && len(tok) > 1 && strings.Contains(tok, ",") {
			panic(cronErr{"Support for specifying 'L' with other days of the week is not implemented"})
		}
		if on == cronDayOfWeek && strings.Count(tok, "#") > 1 {
			panic(cronErr{"Support for specifying multiple \"nth\" days is not implemented."})
		}
		for _, v := range strings.Split(tok, ",") {
			if v != "" {
				ce.store(v, on)
			}
		}
		on++
	}
	if on <= cronDayOfWeek {
		panic(cronErr{"Unexpected end of expression."})
	}
	if on <= cronYear {
		ce.store("*", cronYear)
	}
	domSpec := !ce.sets[cronDayOfMonth][cronNoSpec]
	dowSpec := !ce.sets[cronDayOfWeek][cronNoSpec]
	if domSpec == dowSpec {
		panic(cronErr{"Support for specifying both a day-of-week AND a day-of-month parameter is not implemented."})
	}
	return ce, nil
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func digit(c byte) int {
	if !isDigit(c) {
		panic(cronErr{"Illegal cron expression format (java.lang.NumberFormatException: For input string: \"" + string(c) + "\")"})
	}
	return int(c - '0')
}

func cronAtoi(s string) int {
	n, err := flinkconf.ParseJavaInt(s)
	if err != nil {
		panic(cronErr{"Illegal cron expression format (" + err.Error() + ")"})
	}
	return int(n)
}

// value reads the digits from s[i] on, appended to v; it returns the number and the position
// after it (Quartz's getValue, including its position quirk at the end of the string).
func cronValue(v int, s string, i int) (int, int) {
	c := s[i]
	b := strconv.Itoa(v)
	for isDigit(c) {
		b += string(c)
		i++
		if i >= len(s) {
			break
		}
		c = s[i]
	}
	pos := i
	if i >= len(s) {
		pos = i + 1
	}
	return cronAtoi(b), pos
}

var lastDayOffset = func(s string) bool {
	// "^L-[0-9]*[W]?" as a whole-string match
	if !strings.HasPrefix(s, "L-") {
		return false
	}
	r := strings.TrimRight(s[2:], "0123456789")
	return r == "" || r == "W"
}

// store parses one comma-separated item of a cron field into the field's set (Quartz's
// storeExpressionVals): a name (month or day of week), '?', '*' or '/', 'L', or a number
// with what follows it (checkNext). It returns the position after the item. Each form is its
// own step, with Quartz's checks and messages in Quartz's order; parseCron turns their
// panics into the error.
func (ce *cronExpr) store(s string, typ int) int {
	i := 0
	for i < len(s) && (s[i] == ' ' || s[i] == '\t') {
		i++
	}
	if i >= len(s) {
		return i
	}
	c := s[i]
	if c >= 'A' && c <= 'Z' && s != "L" && s != "LW" && !lastDayOffset(s) {
		return ce.storeName(s, i, typ)
	}
	switch {
	case c == '?':
		return ce.storeNoSpec(s, i, typ)
	case c == '*' || c == '/':
		return ce.storeAll(s, i, typ)
	case c == 'L':
		return ce.storeLast(s, i, typ)
	case isDigit(c):
		val := int(c - '0')
		i++
		if i >= len(s) {
			ce.add(val, -1, -1, typ)
			return i
		}
		if isDigit(s[i]) {
			val, i = cronValue(val, s, i)
		}
		return ce.checkNext(i, s, val, typ)
	default:
		panic(cronErr{"Unexpected character: " + string(c)})
	}
}

// storeName stores a month or day-of-week name at s[i], alone or as a range of names; a day
// may carry '#' (the nth day of the month) or 'L' (the last one). Names are valid only in
// those two fields.
func (ce *cronExpr) storeName(s string, i, typ int) int {
	sub := s[i : i+3]
	sval, eval := -1, -1
	switch typ {
	case cronMonth:
		sval = monthNumber(sub) + 1
		if sval <= 0 {
			panic(cronErr{"Invalid Month value: '" + sub + "'"})
		}
		if len(s) > i+3 && s[i+3] == '-' {
			i += 4
			sub = s[i : i+3]
			eval = monthNumber(sub) + 1
			if eval <= 0 {
				panic(cronErr{"Invalid Month value: '" + sub + "'"})
			}
		}
	case cronDayOfWeek:
		sval = dayNumber(sub)
		if sval < 0 {
			panic(cronErr{"Invalid Day-of-Week value: '" + sub + "'"})
		}
		if len(s) > i+3 {
			eval, i = ce.dayNameSuffix(s, i)
		}
	default:
		panic(cronErr{"Illegal characters for this position: '" + sub + "'"})
	}
	incr := 0
	if eval != -1 {
		incr = 1
	}
	ce.add(sval, eval, incr, typ)
	return i + 3
}

// dayNameSuffix reads what follows the day-of-week name at s[i]: '-' and the range's end
// day (returned, else -1), '#' and the nth occurrence, or 'L'. It returns the position of
// the last name read, as Quartz advances it.
func (ce *cronExpr) dayNameSuffix(s string, i int) (int, int) {
	eval := -1
	switch s[i+3] {
	case '-':
		i += 4
		sub := s[i : i+3]
		eval = dayNumber(sub)
		if eval < 0 {
			panic(cronErr{"Invalid Day-of-Week value: '" + sub + "'"})
		}
	case '#':
		i += 4
		n, err := flinkconf.ParseJavaInt(s[i:])
		if err != nil || n < 1 || n > 5 {
			panic(cronErr{"A numeric value between 1 and 5 must follow the '#' option"})
		}
		ce.nthDayOfWeek = int(n)
	case 'L':
		ce.lastDayOfWeek = true
		i++
	}
	return eval, i
}

// storeNoSpec stores '?' at s[i], valid in one of the two day fields only.
func (ce *cronExpr) storeNoSpec(s string, i, typ int) int {
	i++
	if i+1 < len(s) && s[i] != ' ' && s[i+1] != '\t' {
		panic(cronErr{"Illegal character after '?': " + string(s[i])})
	}
	if typ != cronDayOfWeek && typ != cronDayOfMonth {
		panic(cronErr{"'?' can only be specified for Day-of-Month or Day-of-Week."})
	}
	if typ == cronDayOfWeek && ce.maxOf(cronDayOfMonth) == cronNoSpec {
		panic(cronErr{"'?' can only be specified for Day-of-Month -OR- Day-of-Week."})
	}
	ce.add(cronNoSpec, -1, 0, typ)
	return i
}

// storeAll stores '*' at s[i], alone or with an increment ("*/5"), or an increment alone
// ("/5", from the field's first value).
func (ce *cronExpr) storeAll(s string, i, typ int) int {
	c := s[i]
	incr := 0
	if c == '*' && i+1 >= len(s) {
		ce.add(cronAllSpec, -1, incr, typ)
		return i + 1
	} else if c == '/' && (i+1 >= len(s) || s[i+1] == ' ' || s[i+1] == '\t') {
		panic(cronErr{"'/' must be followed by an integer."})
	} else if c == '*' {
		i++
	}
	c = s[i]
	if c == '/' {
		i++
		if i >= len(s) {
			panic(cronErr{"Unexpected end of string."})
		}
		incr = cronAtoi(s[i:]) // Quartz's getNumericValue reads to the end
		i++
		if incr > 10 {
			i++
		}
		checkIncrement(incr, typ)
	} else {
		incr = 1
	}
	ce.add(cronAllSpec, -1, incr, typ)
	return i
}

// storeLast stores 'L' at s[i]: Saturday in the day-of-week field; in the day-of-month field
// the last day, optionally offset ("L-3") and moved to the nearest weekday ("LW").
func (ce *cronExpr) storeLast(s string, i, typ int) int {
	i++
	if typ == cronDayOfWeek {
		ce.add(7, 7, 0, typ)
	}
	if typ != cronDayOfMonth {
		return i
	}
	dom := cronLastDay
	nearest := false
	if len(s) > i {
		if s[i] == '-' {
			off, pos := cronValue(0, s, i+1)
			if off > cronMaxLastOffset {
				panic(cronErr{"Offset from last day must be <= 30"})
			}
			dom -= off
			i = pos
		}
		if len(s) > i && s[i] == 'W' {
			nearest = true
			i++
		}
	}
	if nearest {
		ce.nearestWeekdays[dom] = true
	} else {
		ce.sets[cronDayOfMonth][dom] = true
	}
	return i
}

// checkNext stores the number val, read before s[pos], with what follows it (Quartz's
// checkNext): nothing, 'L' (the last such day of week), 'W' (the nearest weekday), '#' (the
// nth day of week), a range or an increment.
func (ce *cronExpr) checkNext(pos int, s string, val, typ int) int {
	end := -1
	i := pos
	if i >= len(s) {
		ce.add(val, end, -1, typ)
		return i
	}
	c := s[pos]
	switch c {
	case 'L':
		if typ != cronDayOfWeek {
			panic(cronErr{fmt.Sprintf("'L' option is not valid here. (pos=%d)", i)})
		}
		if val < 1 || val > 7 {
			panic(cronErr{"Day-of-Week values must be between 1 and 7"})
		}
		ce.lastDayOfWeek = true
		ce.sets[typ][val] = true
		return i + 1
	case 'W':
		if typ != cronDayOfMonth {
			panic(cronErr{fmt.Sprintf("'W' option is not valid here. (pos=%d)", i)})
		}
		if val > 31 {
			panic(cronErr{"The 'W' option does not make sense with values larger than 31 (max number of days in a month)"})
		}
		ce.nearestWeekdays[val] = true
		return i + 1
	case '#':
		if typ != cronDayOfWeek {
			panic(cronErr{fmt.Sprintf("'#' option is not valid here. (pos=%d)", i)})
		}
		i++
		n, err := flinkconf.ParseJavaInt(s[i:])
		if err != nil || n < 1 || n > 5 {
			panic(cronErr{"A numeric value between 1 and 5 must follow the '#' option"})
		}
		ce.nthDayOfWeek = int(n)
		ce.sets[typ][val] = true
		return i + 1
	case '-':
		return ce.storeRange(s, i, val, typ)
	case '/':
		return ce.storeStep(s, i, val, typ)
	}
	ce.add(val, end, 0, typ)
	return i + 1
}

// storeRange stores the range from val whose '-' is at s[i], with its increment when a '/'
// follows ("1-5/2"). Unlike after a single value, the increment is not checked against the
// field's limit here, as in Quartz.
func (ce *cronExpr) storeRange(s string, i, val, typ int) int {
	i++
	v := digit(s[i])
	end := v
	i++
	if i >= len(s) {
		ce.add(val, end, 1, typ)
		return i
	}
	if isDigit(s[i]) {
		end, i = cronValue(v, s, i)
	}
	if i < len(s) && s[i] == '/' {
		i++
		v2 := digit(s[i])
		i++
		if i >= len(s) {
			ce.add(val, end, v2, typ)
			return i
		}
		if isDigit(s[i]) {
			v3, p := cronValue(v2, s, i)
			ce.add(val, end, v3, typ)
			return p
		}
		ce.add(val, end, v2, typ)
		return i
	}
	ce.add(val, end, 1, typ)
	return i
}

// storeStep stores val with the increment whose '/' is at s[i] ("0/15": from val to the
// field's last value).
func (ce *cronExpr) storeStep(s string, i, val, typ int) int {
	if i+1 >= len(s) || s[i+1] == ' ' || s[i+1] == '\t' {
		panic(cronErr{"'/' must be followed by an integer."})
	}
	i++
	v2 := digit(s[i])
	i++
	if i >= len(s) {
		checkIncrement(v2, typ)
		ce.add(val, -1, v2, typ)
		return i
	}
	if isDigit(s[i]) {
		v3, p := cronValue(v2, s, i)
		checkIncrement(v3, typ)
		ce.add(val, -1, v3, typ)
		return p
	}
	panic(cronErr{"Unexpected character '" + string(s[i]) + "' after '/'"})
}

var cronIncrementLimit = map[int]int{cronSecond: 59, cronMinute: 59, cronHour: 23, cronDayOfMonth: 31, cronDayOfWeek: 7, cronMonth: 12}

func checkIncrement(incr, typ int) {
	if l, ok := cronIncrementLimit[typ]; ok && incr > l {
		panic(cronErr{fmt.Sprintf("Increment > %d : %d", l+1, incr)})
	}
}

func monthNumber(s string) int {
	if v, ok := cronMonths[s]; ok {
		return v
	}
	return -1
}

func dayNumber(s string) int {
	if v, ok := cronDays[s]; ok {
		return v
	}
	return -1
}

func (ce *cronExpr) maxOf(typ int) int {
	m := -1
	for k := range ce.sets[typ] {
		m = max(m, k)
	}
	return m
}

var cronBounds = map[int][2]int{cronSecond: {0, 59}, cronMinute: {0, 59}, cronHour: {0, 23},
	cronDayOfMonth: {1, 31}, cronMonth: {1, 12}, cronDayOfWeek: {1, 7}, cronYear: {1970, cronMaxYear}}

func (ce *cronExpr) add(val, end, incr, typ int) {
	set := ce.sets[typ]
	bad := false
	switch typ {
	case cronSecond, cronMinute:
		bad = (val < 0 || val > 59 || end > 59) && val != cronAllSpec
	case cronHour:
		bad = (val < 0 || val > 23 || end > 23) && val != cronAllSpec
	case cronDayOfMonth:
		bad = (val < 1 || val > 31 || end > 31) && val != cronAllSpec && val != cronNoSpec
	case cronMonth:
		bad = (val < 1 || val > 12 || end > 12) && val != cronAllSpec
	case cronDayOfWeek:
		bad = (val == 0 || val > 7 || end > 7) && val != cronAllSpec && val != cronNoSpec
	}
	if bad {
		panic(cronErr{"cron value out of range"})
	}
	if (incr == 0 || incr == -1) && val != cronAllSpec {
		if val != -1 {
			set[val] = true
		} else {
			set[cronNoSpec] = true
		}
		return
	}
	start, stop := val, end
	if val == cronAllSpec && incr <= 0 {
		incr = 1
		set[cronAllSpec] = true
	}
	b := cronBounds[typ]
	lo, hi := b[0], b[1]
	if stop == -1 {
		stop = hi
	}
	if start == -1 || start == cronAllSpec {
		start = lo
	}
	if typ == cronYear {
		// Quartz gives up beyond year 2999; bounding the loop keeps absurd ranges cheap.
		stop = min(stop, 2999)
	}
	wrap := -1
	if stop < start && typ != cronYear {
		switch typ {
		case cronSecond, cronMinute:
			wrap = 60
		case cronHour:
			wrap = 24
		case cronMonth:
			wrap = 12
		case cronDayOfWeek:
			wrap = 7
		case cronDayOfMonth:
			wrap = 31
		}
		stop += wrap
	} else if stop < start && end != -1 && end < val {
		panic(cronErr{"Start year must be less than stop year"})
	}
	for i := start; i <= stop; i += incr {
		if wrap == -1 {
			set[i] = true
			continue
		}
		i2 := i % wrap
		if i2 == 0 && (typ == cronMonth || typ == cronDayOfWeek || typ == cronDayOfMonth) {
			i2 = wrap
		}
		set[i2] = true
	}
}

func lastDayOfMonth(t time.Time) int {
	return time.Date(t.Year(), t.Month()+1, 0, 0, 0, 0, 0, t.Location()).Day()
}

// nearestWeekday is the weekday Quartz's W picks for day d of t's month.
func nearestWeekday(t time.Time, d int) int {
	ldom := lastDayOfMonth(t)
	wd := time.Date(t.Year(), t.Month(), d, 0, 0, 0, 0, t.Location()).Weekday()
	switch {
	case wd == time.Saturday && d == 1:
		return d + 2
	case wd == time.Saturday:
		return d - 1
	case wd == time.Sunday && d == ldom:
		return d - 2
	case wd == time.Sunday:
		return d + 1
	}
	return d
}

// matches is CronExpression#isSatisfiedBy, decided field by field (milliseconds ignored).
func (ce *cronExpr) matches(t time.Time) bool {
	if !ce.sets[cronSecond][t.Second()] || !ce.sets[cronMinute][t.Minute()] ||
		!ce.sets[cronHour][t.Hour()] || !ce.sets[cronMonth][int(t.Month())] {
		return false
	}
	if !ce.sets[cronYear][cronAllSpec] && !ce.sets[cronYear][t.Year()] || t.Year() < 1970 {
		return false
	}
	day := t.Day()
	ldom := lastDayOfMonth(t)
	if !ce.sets[cronDayOfMonth][cronNoSpec] {
		dom := ce.sets[cronDayOfMonth]
		if day <= 31 && dom[day] {
			return true
		}
		for m := cronLastOffsetBase; m <= cronLastDay; m++ {
			if dom[m] && ldom-(cronLastDay-m) == day {
				return true
			}
		}
		for w := range ce.nearestWeekdays {
			target := w
			if w >= cronLastOffsetBase {
				target = ldom - (cronLastDay - w)
			}
			if target >= 1 && target <= ldom && nearestWeekday(t, target) == day {
				return true
			}
		}
		return false
	}
	dow := int(t.Weekday()) + 1
	first := 99
	for d := range ce.sets[cronDayOfWeek] {
		if d >= 1 && d <= 7 && d < first {
			first = d
		}
	}
	switch {
	case ce.lastDayOfWeek:
		return dow == first && day+7 > ldom
	case ce.nthDayOfWeek != 0:
		return dow == first && (day-1)/7+1 == ce.nthDayOfWeek
	}
	return ce.sets[cronDayOfWeek][dow]
}
