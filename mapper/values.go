package mapper

import (
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/nikolalohinski/gonja/v2/exec"
)

const maxValueDepth = 100

// formatValue renders one {{ }} value for its output mode.
//
//   - Safe values (| safe, | tojson, macro output, {% set %} blocks) are written
//     as they are, in every mode.
//   - JSON, outside a string literal: a JSON literal (strings quoted and
//     escaped, numbers, true/false, null for none/undefined, maps and lists as
//     JSON; a NaN or infinite float is an error).
//   - JSON, inside a string literal: the text form below, JSON-escaped, no quotes.
//   - XML: the text form, XML-escaped.
//   - text: the text form: strings as they are, true/false, integers without
//     ".0", floats as Python writes them (2.0, 0.1, 1e+16), none as "",
//     maps/lists as JSON.
func formatValue(v *exec.Value, mode outMode) (string, error) {
	if v.Safe && v.IsString() {
		return v.String(), nil
	}
	switch mode {
	case modeJSONValue:
		b, err := appendJSON(nil, unwrapValue(v), 0)
		return string(b), err
	case modeJSONString:
		s, err := textString(unwrapValue(v))
		if err != nil || !needsJSONEscape(s) {
			return s, err
		}
		return string(appendJSONStringBody(nil, s)), nil
	case modeXML:
		s, err := textString(unwrapValue(v))
		if err != nil {
			return "", err
		}
		return xmlEscape(s), nil
	default:
		return textString(unwrapValue(v))
	}
}

// unwrapValue returns the Go value inside a gonja value (nil for none/undefined).
func unwrapValue(v *exec.Value) any {
	x := rawValue(v)
	if p, ok := sharedList(x); ok {
		return *p // a shared list (lists.go) reads as its items
	}
	return x
}

// rawValue is unwrapValue without reading through a shared list: for code
// that needs the list's identity (lists.go).
func rawValue(v *exec.Value) any {
	if v == nil || v.IsNil() || !v.Val.IsValid() || !v.Val.CanInterface() {
		return nil
	}
	return v.Val.Interface()
}

// textString is the plain-text form of a value (see formatValue).
func textString(x any) (string, error) {
	switch t := x.(type) {
	case nil:
		return "", nil
	case string:
		return t, nil
	case bool:
		if t {
			return "true", nil
		}
		return "false", nil
	case int:
		return strconv.Itoa(t), nil
	case int64:
		return strconv.FormatInt(t, 10), nil
	case float64:
		return formatFloat(t), nil
	case *exec.Value:
		return textString(unwrapValue(t))
	case time.Time:
		return t.Format(time.RFC3339Nano), nil
	case json.Number:
		return t.String(), nil
	case map[string]func() string:
		return "", errSelfPrinted()
	}
	rv := reflect.ValueOf(x)
	switch rv.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return strconv.FormatInt(rv.Int(), 10), nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return strconv.FormatUint(rv.Uint(), 10), nil
	case reflect.Float32, reflect.Float64:
		return formatFloat(rv.Float()), nil
	case reflect.String:
		return rv.String(), nil
	case reflect.Bool:
		return textString(rv.Bool())
	case reflect.Func, reflect.Chan, reflect.UnsafePointer:
		return "", nil
	case reflect.Map, reflect.Slice, reflect.Array, reflect.Struct, reflect.Pointer:
		if s, ok := x.(fmt.Stringer); ok && !isContainer(x) {
			return s.String(), nil
		}
		b, err := appendJSONText(nil, x, 0, true)
		return string(b), err
	}
	return fmt.Sprint(x), nil
}

// errSelfPrinted: gonja's self (the template's blocks, map[string]func()
// string) would print as {} where Jinja2 prints <TemplateReference None>;
// neither is anything a payload wants. self.block() still works.
func errSelfPrinted() error {
	return newTplErr(ErrRuntime, "self (the template's blocks) cannot be printed; call a block as self.name()")
}

// isContainer reports the gonja/Go collection types we print as JSON even when
// they implement fmt.Stringer (exec.Dict's String is Python-like).
func isContainer(x any) bool {
	switch x.(type) {
	case *exec.Dict, exec.Dict, exec.ValuesList, *exec.Pair, *[]any:
		return true
	}
	k := reflect.ValueOf(x).Kind()
	return k == reflect.Map || k == reflect.Slice || k == reflect.Array
}

// formatFloat writes a float as Python's repr does, as Jinja2 prints it:
// shortest round-trip digits, ".0" on whole numbers (8 / 2 prints 4.0),
// an exponent from 1e16 up and below 1e-4 (1e+16, 1e-05), and inf, -inf,
// nan. Python's json.dumps writes finite floats the same way, so JSON output
// uses this form too (and refuses the non-finite ones, see appendJSON).
func formatFloat(f float64) string {
	if math.Signbit(f) && !math.IsNaN(f) {
		return "-" + pyFloatRepr(-f)
	}
	return pyFloatRepr(f)
}

// appendJSON encodes x as JSON. Go maps come out with sorted keys; gonja dict
// literals keep the order they were written in. A NaN or infinite float is a
// template error: JSON has no way to write it, and null would hide the fault.
func appendJSON(b []byte, x any, depth int) ([]byte, error) {
	return appendJSONText(b, x, depth, false)
}

// appendJSONText is appendJSON; with text set (a list or mapping printed in
// a text template) a non-finite float is written as Python writes it (inf,
// -inf, nan) instead of failing: the text is not JSON anyway.
func appendJSONText(b []byte, x any, depth int, text bool) ([]byte, error) {
	if depth > maxValueDepth {
		return b, newTplErr(ErrRuntime, "a value is nested more than %d levels deep", maxValueDepth)
	}
	switch t := x.(type) {
	case nil:
		return append(b, "null"...), nil
	case string:
		return appendJSONString(b, t), nil
	case bool:
		return strconv.AppendBool(b, t), nil
	case int:
		return strconv.AppendInt(b, int64(t), 10), nil
	case int64:
		return strconv.AppendInt(b, t, 10), nil
	case float64:
		if (math.IsNaN(t) || math.IsInf(t, 0)) && !text {
			return b, newTplErr(ErrRuntime, "the float %s cannot be written as JSON (JSON has no NaN or infinity)", formatFloat(t))
		}
		return append(b, formatFloat(t)...), nil
	case json.Number:
		if _, err := strconv.ParseFloat(string(t), 64); err != nil {
			return appendJSONString(b, string(t)), nil
		}
		return append(b, t...), nil
	case time.Time:
		return appendJSONString(b, t.Format(time.RFC3339Nano)), nil
	case *exec.Value:
		return appendJSONText(b, unwrapValue(t), depth+1, text)
	case map[string]any:
		keys := make([]string, 0, len(t))
		for k := range t {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		b = append(b, '{')
		for i, k := range keys {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSONString(b, k)
			b = append(b, ':')
			var err error
			if b, err = appendJSONText(b, t[k], depth+1, text); err != nil {
				return b, err
			}
		}
		return append(b, '}'), nil
	case []any:
		b = append(b, '[')
		for i, e := range t {
			if i > 0 {
				b = append(b, ',')
			}
			var err error
			if b, err = appendJSONText(b, e, depth+1, text); err != nil {
				return b, err
			}
		}
		return append(b, ']'), nil
	case *exec.Dict:
		return appendDict(b, t, depth, text)
	case exec.Dict:
		return appendDict(b, &t, depth, text)
	case *exec.Pair:
		return appendJSONText(b, []any{t.Key, t.Value}, depth+1, text)
	case map[string]func() string:
		return b, errSelfPrinted()
	}
	return appendReflectJSON(b, reflect.ValueOf(x), depth, text)
}

func appendDict(b []byte, d *exec.Dict, depth int, text bool) ([]byte, error) {
	b = append(b, '{')
	for i, p := range d.Pairs {
		if i > 0 {
			b = append(b, ',')
		}
		k, err := textString(unwrapValue(p.Key))
		if err != nil {
			return b, err
		}
		b = appendJSONString(b, k)
		b = append(b, ':')
		if b, err = appendJSONText(b, unwrapValue(p.Value), depth+1, text); err != nil {
			return b, err
		}
	}
	return append(b, '}'), nil
}

func appendReflectJSON(b []byte, rv reflect.Value, depth int, text bool) ([]byte, error) {
	switch rv.Kind() {
	case reflect.Invalid:
		return append(b, "null"...), nil
	case reflect.Pointer, reflect.Interface:
		if rv.IsNil() {
			return append(b, "null"...), nil
		}
		if rv.Elem().CanInterface() {
			return appendJSONText(b, rv.Elem().Interface(), depth+1, text)
		}
		return append(b, "null"...), nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return strconv.AppendInt(b, rv.Int(), 10), nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return strconv.AppendUint(b, rv.Uint(), 10), nil
	case reflect.Float32, reflect.Float64:
		return appendJSONText(b, rv.Float(), depth, text)
	case reflect.Bool:
		return strconv.AppendBool(b, rv.Bool()), nil
	case reflect.String:
		return appendJSONString(b, rv.String()), nil
	case reflect.Slice, reflect.Array:
		b = append(b, '[')
		for i := 0; i < rv.Len(); i++ {
			if i > 0 {
				b = append(b, ',')
			}
			e := rv.Index(i)
			var err error
			if e.CanInterface() {
				b, err = appendJSONText(b, e.Interface(), depth+1, text)
			} else {
				b = append(b, "null"...)
			}
			if err != nil {
				return b, err
			}
		}
		return append(b, ']'), nil
	case reflect.Map:
		type kv struct {
			k string
			v reflect.Value
		}
		pairs := make([]kv, 0, rv.Len())
		it := rv.MapRange()
		for it.Next() {
			if !it.Key().CanInterface() {
				continue
			}
			k, err := textString(it.Key().Interface())
			if err != nil {
				return b, err
			}
			pairs = append(pairs, kv{k, it.Value()})
		}
		sort.Slice(pairs, func(i, j int) bool { return pairs[i].k < pairs[j].k })
		b = append(b, '{')
		for i, p := range pairs {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSONString(b, p.k)
			b = append(b, ':')
			var err error
			if p.v.CanInterface() {
				b, err = appendJSONText(b, p.v.Interface(), depth+1, text)
			} else {
				b = append(b, "null"...)
			}
			if err != nil {
				return b, err
			}
		}
		return append(b, '}'), nil
	case reflect.Func, reflect.Chan, reflect.UnsafePointer:
		return append(b, "null"...), nil
	}
	if rv.CanInterface() {
		if s, ok := rv.Interface().(fmt.Stringer); ok {
			return appendJSONString(b, s.String()), nil
		}
	}
	return append(b, "null"...), nil
}

func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	b = appendJSONStringBody(b, s)
	return append(b, '"')
}

const hexDigits = "0123456789abcdef"

// needsJSONEscape is the fast path of appendJSONStringBody: most values are
// plain text that can be written as they are.
func needsJSONEscape(s string) bool {
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c < 0x20 || c == '"' || c == '\\' {
				return true
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if (r == utf8.RuneError && size == 1) || r == '\u2028' || r == '\u2029' {
			return true
		}
		i += size
	}
	return false
}

// appendJSONStringBody escapes s for use between JSON double quotes. HTML
// characters are left alone: the output is a payload, not a web page.
func appendJSONStringBody(b []byte, s string) []byte {
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			// legal JSON, but they break receivers that embed the payload in JavaScript
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	return append(b, s[start:]...)
}

// xmlEscape escapes text for element content and attribute values alike, and
// replaces characters XML 1.0 forbids so the output stays well-formed.
func xmlEscape(s string) string {
	clean := true
	for _, r := range s {
		if r == '&' || r == '<' || r == '>' || r == '"' || r == '\'' || !isXMLChar(r) {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 16)
	for i, r := range s {
		switch {
		case r == '&':
			b.WriteString("&amp;")
		case r == '<':
			b.WriteString("&lt;")
		case r == '>':
			b.WriteString("&gt;")
		case r == '"':
			b.WriteString("&quot;")
		case r == '\'':
			b.WriteString("&apos;")
		case r == utf8.RuneError:
			if _, size := utf8.DecodeRuneInString(s[i:]); size == 1 {
				b.WriteRune('\uFFFD')
			} else {
				b.WriteRune(r)
			}
		case !isXMLChar(r):
			b.WriteRune('\uFFFD')
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

func isXMLChar(r rune) bool {
	return r == 0x09 || r == 0x0A || r == 0x0D ||
		(r >= 0x20 && r <= 0xD7FF) || (r >= 0xE000 && r <= 0xFFFD) || (r >= 0x10000 && r <= 0x10FFFF)
}
