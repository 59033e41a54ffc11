package mapper

import (
	"math"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"unicode/utf16"

	"github.com/nikolalohinski/gonja/v2/exec"
)

// pyJSON writes what Jinja2's tojson writes: json.dumps(x, sort_keys=True)
// (", " and ": " separators, or "," and newlines with indent; non-ASCII as
// \uXXXX) with <, >, & and ' escaped as \u003c \u003e \u0026 \u0027. The
// output grows under a byte limit, so a huge value is refused before more
// than limit bytes are built.
type pyJSON struct {
	b      []byte
	indent int // < 0: one line
	limit  int
}

func (j *pyJSON) full() error {
	if len(j.b) > j.limit {
		return newTplErr(ErrLimit, "tojson: the result is larger than %d bytes", j.limit)
	}
	return nil
}

func (j *pyJSON) newline(level int) {
	if j.indent >= 0 {
		j.b = append(j.b, '\n')
		j.b = append(j.b, strings.Repeat(" ", j.indent*level)...)
	}
}

func (j *pyJSON) sep(level int) {
	if j.indent >= 0 {
		j.b = append(j.b, ',')
		j.newline(level)
	} else {
		j.b = append(j.b, ", "...)
	}
}

func (j *pyJSON) value(x any, level int) error {
	if level > maxValueDepth {
		return newTplErr(ErrRuntime, "a value is nested more than %d levels deep", maxValueDepth)
	}
	if err := j.full(); err != nil {
		return err
	}
	switch t := x.(type) {
	case nil:
		j.b = append(j.b, "null"...)
	case *exec.Value:
		return j.value(unwrapValue(t), level)
	case *[]any: // a shared list (lists.go)
		return j.value(*t, level)
	case string:
		j.str(t)
	case bool:
		j.b = strconv.AppendBool(j.b, t)
	case float64:
		j.float(t)
	case float32:
		j.float(float64(t))
	case *exec.Dict:
		pairs := make([][2]any, 0, len(t.Pairs))
		for _, p := range t.Pairs {
			k, err := textString(unwrapValue(p.Key))
			if err != nil {
				return err
			}
			pairs = append(pairs, [2]any{k, unwrapValue(p.Value)})
		}
		return j.object(pairs, level)
	case exec.Dict:
		return j.value(&t, level)
	case *exec.Pair:
		return j.value([]any{t.Key, t.Value}, level)
	default:
		rv := reflect.ValueOf(x)
		switch rv.Kind() {
		case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
			j.b = strconv.AppendInt(j.b, rv.Int(), 10)
		case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
			j.b = strconv.AppendUint(j.b, rv.Uint(), 10)
		case reflect.Slice, reflect.Array:
			if rv.Len() == 0 {
				j.b = append(j.b, "[]"...)
				return nil
			}
			j.b = append(j.b, '[')
			j.newline(level + 1)
			for i := 0; i < rv.Len(); i++ {
				if i > 0 {
					j.sep(level + 1)
				}
				if err := j.value(rv.Index(i).Interface(), level+1); err != nil {
					return err
				}
			}
			j.newline(level)
			j.b = append(j.b, ']')
		case reflect.Map:
			pairs := make([][2]any, 0, rv.Len())
			it := rv.MapRange()
			for it.Next() {
				k, err := textString(it.Key().Interface())
				if err != nil {
					return err
				}
				pairs = append(pairs, [2]any{k, it.Value().Interface()})
			}
			return j.object(pairs, level)
		default:
			s, err := textString(x)
			if err != nil {
				return err
			}
			j.str(s)
		}
	}
	return j.full()
}

func (j *pyJSON) object(pairs [][2]any, level int) error {
	if len(pairs) == 0 {
		j.b = append(j.b, "{}"...)
		return nil
	}
	sort.SliceStable(pairs, func(a, b int) bool { return pairs[a][0].(string) < pairs[b][0].(string) })
	j.b = append(j.b, '{')
	j.newline(level + 1)
	for i, p := range pairs {
		if i > 0 {
			j.sep(level + 1)
		}
		j.str(p[0].(string))
		j.b = append(j.b, ": "...)
		if err := j.value(p[1], level+1); err != nil {
			return err
		}
	}
	j.newline(level)
	j.b = append(j.b, '}')
	return nil
}

func (j *pyJSON) float(f float64) {
	switch {
	case math.IsNaN(f):
		j.b = append(j.b, "NaN"...)
	case math.IsInf(f, 1):
		j.b = append(j.b, "Infinity"...)
	case math.IsInf(f, -1):
		j.b = append(j.b, "-Infinity"...)
	default:
		if math.Signbit(f) {
			j.b = append(j.b, '-')
		}
		j.b = append(j.b, pyFloatRepr(math.Abs(f))...)
	}
}

func (j *pyJSON) str(s string) {
	const hex = "0123456789abcdef"
	u := func(r rune) {
		j.b = append(j.b, '\\', 'u', hex[r>>12&15], hex[r>>8&15], hex[r>>4&15], hex[r&15])
	}
	j.b = append(j.b, '"')
	for _, r := range s {
		switch {
		case r == '"':
			j.b = append(j.b, '\\', '"')
		case r == '\\':
			j.b = append(j.b, '\\', '\\')
		case r == '\n':
			j.b = append(j.b, '\\', 'n')
		case r == '\r':
			j.b = append(j.b, '\\', 'r')
		case r == '\t':
			j.b = append(j.b, '\\', 't')
		case r == '\b':
			j.b = append(j.b, '\\', 'b')
		case r == '\f':
			j.b = append(j.b, '\\', 'f')
		case r < 0x20 || r == '<' || r == '>' || r == '&' || r == '\'' || (r >= 0x7f && r <= 0xffff):
			u(r)
		case r > 0xffff:
			a, b := utf16.EncodeRune(r)
			u(a)
			u(b)
		default:
			j.b = append(j.b, byte(r))
		}
	}
	j.b = append(j.b, '"')
}

// textSizeAtLeast is a lower bound of the JSON text size of x, computed
// without building it; it stops counting once past limit.
func textSizeAtLeast(x any, limit, depth int) int {
	if depth > maxValueDepth {
		return 0
	}
	switch t := x.(type) {
	case nil:
		return 4
	case string:
		return len(t) + 2
	case *exec.Value:
		return textSizeAtLeast(unwrapValue(t), limit, depth+1)
	case *[]any:
		return textSizeAtLeast(*t, limit, depth+1)
	case *exec.Dict:
		n := 2
		for _, p := range t.Pairs {
			n += textSizeAtLeast(unwrapValue(p.Key), limit, depth+1) + textSizeAtLeast(unwrapValue(p.Value), limit, depth+1) + 2
			if n > limit {
				return n
			}
		}
		return n
	}
	rv := reflect.ValueOf(x)
	switch rv.Kind() {
	case reflect.Slice, reflect.Array:
		n := 2
		for i := 0; i < rv.Len(); i++ {
			n += textSizeAtLeast(rv.Index(i).Interface(), limit, depth+1) + 1
			if n > limit {
				return n
			}
		}
		return n
	case reflect.Map:
		n := 2
		it := rv.MapRange()
		for it.Next() {
			n += textSizeAtLeast(it.Key().Interface(), limit, depth+1) + textSizeAtLeast(it.Value().Interface(), limit, depth+1) + 2
			if n > limit {
				return n
			}
		}
		return n
	}
	return 1
}
