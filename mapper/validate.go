package mapper

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"io"
	"strings"
)

// validateJSON checks the rendered output is one well-formed JSON value with no
// duplicate keys in any object (legal JSON, but in a rendered payload always a
// template bug, e.g. a loop writing the same keys twice).
func validateJSON(out []byte) *Error {
	text := string(out)
	if len(bytes.TrimSpace(out)) == 0 {
		return newPosError(ErrOutput, whereOutput, "the output is empty, expected a JSON value", text, 0)
	}
	if !json.Valid(out) {
		var raw json.RawMessage
		err := json.Unmarshal(out, &raw) // second pass only for the error's offset
		var se *json.SyntaxError
		if err == nil || !errors.As(err, &se) {
			return &Error{Kind: ErrOutput, Where: whereOutput, Message: "the output is not valid JSON"}
		}
		off := int(se.Offset) - 1 // Offset counts the offending byte itself
		msg := jsonHint(se.Error())
		if strings.HasPrefix(se.Error(), "unexpected end") {
			off = len(out)
		}
		return newPosError(ErrOutput, whereOutput, msg, text, off)
	}
	if off, key, dup := duplicateKey(out); dup {
		return newPosError(ErrOutput, whereOutput, "duplicate key "+quoteClip(key)+" in one JSON object", text, off)
	}
	return nil
}

func jsonHint(goMsg string) string {
	hints := []struct{ needle, hint string }{
		{"after object key:value pair", "missing comma (or '}') after an object member"},
		{"after array element", "missing comma (or ']') after an array element"},
		{"looking for beginning of object key string", "expected a quoted key (trailing comma?)"},
		{"after object key", "expected ':' after an object key"},
		{"after top-level value", "unexpected text after the end of the JSON value"},
		{"in string literal", "control character inside a string (unescaped newline or tab?)"},
		{"looking for beginning of value", "expected a JSON value"},
		{"unexpected end", "the JSON ends too early (missing '}' or ']'?)"},
	}
	for _, h := range hints {
		if strings.Contains(goMsg, h.needle) {
			if h.needle == "unexpected end" {
				return h.hint
			}
			return h.hint + ": " + goMsg
		}
	}
	return goMsg
}

// duplicateKey scans already-valid JSON and reports the first key repeated
// within one object, at the offset of its opening quote.
func duplicateKey(b []byte) (int, string, bool) {
	type frame struct {
		obj   bool
		small [][]byte // keys as slices of b: no copies for the usual small objects
		big   map[string]struct{}
	}
	var stack []frame
	expectKey := false
	for i := 0; i < len(b); i++ {
		switch b[i] {
		case '{':
			stack = append(stack, frame{obj: true})
			expectKey = true
		case '[':
			stack = append(stack, frame{})
			expectKey = false
		case '}', ']':
			stack = stack[:len(stack)-1]
			expectKey = false
		case ',':
			expectKey = len(stack) > 0 && stack[len(stack)-1].obj
		case '"':
			start := i
			esc, escaped := false, false
			for i++; i < len(b); i++ {
				if esc {
					esc = false
				} else if b[i] == '\\' {
					esc, escaped = true, true
				} else if b[i] == '"' {
					break
				}
			}
			if !expectKey {
				continue
			}
			expectKey = false
			key := b[start+1 : i]
			if escaped {
				var k string
				if json.Unmarshal(b[start:i+1], &k) == nil {
					key = []byte(k)
				}
			}
			f := &stack[len(stack)-1]
			if f.big != nil {
				if _, ok := f.big[string(key)]; ok {
					return start, string(key), true
				}
				f.big[string(key)] = struct{}{}
				continue
			}
			for _, k := range f.small {
				if bytes.Equal(k, key) {
					return start, string(key), true
				}
			}
			f.small = append(f.small, key)
			if len(f.small) > 32 {
				f.big = make(map[string]struct{}, 64)
				for _, k := range f.small {
					f.big[string(k)] = struct{}{}
				}
				f.small = nil
			}
		}
	}
	return 0, "", false
}

// validateXML checks the output is a well-formed XML document with exactly one
// root element.
func validateXML(out []byte) *Error {
	text := string(out)
	d := xml.NewDecoder(bytes.NewReader(out))
	d.Strict = true
	depth, roots := 0, 0
	for {
		before := int(d.InputOffset())
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			msg := "the output is not well-formed XML"
			var se *xml.SyntaxError
			if errors.As(err, &se) {
				msg += ": " + se.Msg
			}
			off := int(d.InputOffset())
			switch {
			case strings.Contains(msg, "closed by") || strings.Contains(msg, "unexpected end element"):
				off = skipSpace(out, before) // point at the wrong end tag, not past it
			case off > 0 && !strings.Contains(msg, "unexpected EOF"):
				off-- // the decoder has consumed the offending byte
			}
			return newPosError(ErrOutput, whereOutput, msg, text, off)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if depth == 0 {
				roots++
				if roots > 1 {
					return newPosError(ErrOutput, whereOutput, "the output has more than one root element", text, skipSpace(out, before))
				}
			}
			depth++
		case xml.EndElement:
			depth--
		case xml.CharData:
			if depth == 0 && len(bytes.TrimSpace(t)) > 0 {
				return newPosError(ErrOutput, whereOutput, "text outside the root element", text, skipSpace(out, before))
			}
		}
	}
	if roots == 0 {
		return newPosError(ErrOutput, whereOutput, "the output has no root element", text, 0)
	}
	return nil
}

func skipSpace(b []byte, off int) int {
	for off < len(b) && (b[off] == ' ' || b[off] == '\t' || b[off] == '\n' || b[off] == '\r') {
		off++
	}
	return off
}
