package mapper

import (
	"strconv"
	"strings"
	"time"

	"github.com/nikolalohinski/gonja/v2/exec"
)

// filterDate formats a timestamp: {{ created | date("%Y-%m-%d") }}.
//
// Input: an RFC 3339 string (also "2006-01-02T15:04:05" read as UTC and a bare
// "2006-01-02"), a time.Time, or Unix seconds. None/undefined gives "".
// Format: strftime when it contains '%' (%Y %m %d %H %M %S %f %y %b %B %a %A
// %j %p %I %z %Z %e %u %w %G %V %s %F %T %D %R %%, and "%-d"-style unpadded
// numbers); otherwise a Go layout such as "02.01.2006". Default "%Y-%m-%d".
// tz="Europe/Copenhagen" (or "UTC") converts before formatting; without it the
// timestamp's own offset is kept.
func filterDate(_ *exec.Evaluator, in *exec.Value, params *exec.VarArgs) *exec.Value {
	if in.IsError() {
		return in
	}
	layout := "%Y-%m-%d"
	if v, ok := argOrKw(params, 0, "format"); ok && !v.IsNil() {
		layout = textOf(v)
	}
	x := unwrapValue(in)
	if x == nil {
		return exec.AsValue("")
	}
	t, ok := toTime(x)
	if !ok {
		s, _ := textString(x)
		return errValue(newTplErr(ErrRuntime, "date: %s is not an RFC 3339 timestamp", quoteClip(s)))
	}
	if v, ok := argOrKw(params, 1, "tz"); ok && !v.IsNil() {
		loc, err := time.LoadLocation(textOf(v))
		if err != nil {
			return errValue(newTplErr(ErrRuntime, "date: unknown time zone %s", quoteClip(textOf(v))))
		}
		t = t.In(loc)
	}
	if strings.Contains(layout, "%") {
		return exec.AsValue(strftime(t, layout))
	}
	return exec.AsValue(t.Format(layout))
}

func toTime(x any) (time.Time, bool) {
	switch t := x.(type) {
	case time.Time:
		return t, true
	case string:
		s := strings.TrimSpace(t)
		for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999", "2006-01-02 15:04:05Z07:00", "2006-01-02"} {
			if p, err := time.Parse(layout, s); err == nil {
				return p, true
			}
		}
	case int:
		return time.Unix(int64(t), 0).UTC(), true
	case int64:
		return time.Unix(t, 0).UTC(), true
	case float64:
		return time.Unix(0, int64(t*1e9)).UTC(), true
	}
	return time.Time{}, false
}

func strftime(t time.Time, f string) string {
	var b strings.Builder
	for i := 0; i < len(f); i++ {
		if f[i] != '%' || i+1 >= len(f) {
			b.WriteByte(f[i])
			continue
		}
		i++
		pad := true
		if f[i] == '-' && i+1 < len(f) {
			pad = false
			i++
		}
		num := func(n, width int) {
			s := strconv.Itoa(n)
			if pad {
				for l := len(s); l < width; l++ {
					b.WriteByte('0')
				}
			}
			b.WriteString(s)
		}
		switch f[i] {
		case 'Y':
			num(t.Year(), 4)
		case 'y':
			num(t.Year()%100, 2)
		case 'm':
			num(int(t.Month()), 2)
		case 'd':
			num(t.Day(), 2)
		case 'e':
			s := strconv.Itoa(t.Day())
			if pad && len(s) < 2 {
				b.WriteByte(' ')
			}
			b.WriteString(s)
		case 'H':
			num(t.Hour(), 2)
		case 'I':
			h := t.Hour() % 12
			if h == 0 {
				h = 12
			}
			num(h, 2)
		case 'M':
			num(t.Minute(), 2)
		case 'S':
			num(t.Second(), 2)
		case 'f':
			num(t.Nanosecond()/1000, 6)
		case 'j':
			num(t.YearDay(), 3)
		case 'p':
			if t.Hour() < 12 {
				b.WriteString("AM")
			} else {
				b.WriteString("PM")
			}
		case 'b', 'h':
			b.WriteString(t.Month().String()[:3])
		case 'B':
			b.WriteString(t.Month().String())
		case 'a':
			b.WriteString(t.Weekday().String()[:3])
		case 'A':
			b.WriteString(t.Weekday().String())
		case 'u':
			wd := int(t.Weekday())
			if wd == 0 {
				wd = 7
			}
			num(wd, 1)
		case 'w':
			num(int(t.Weekday()), 1)
		case 'G':
			y, _ := t.ISOWeek()
			num(y, 4)
		case 'V':
			_, w := t.ISOWeek()
			num(w, 2)
		case 'z':
			b.WriteString(t.Format("-0700"))
		case 'Z':
			b.WriteString(t.Format("MST"))
		case 's':
			b.WriteString(strconv.FormatInt(t.Unix(), 10))
		case 'F':
			b.WriteString(t.Format("2006-01-02"))
		case 'T':
			b.WriteString(t.Format("15:04:05"))
		case 'R':
			b.WriteString(t.Format("15:04"))
		case 'D':
			b.WriteString(t.Format("01/02/06"))
		case '%':
			b.WriteByte('%')
		default:
			b.WriteByte('%')
			if !pad {
				b.WriteByte('-')
			}
			b.WriteByte(f[i])
		}
	}
	return b.String()
}
