package mapper

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"io"
	"math"
	"mime"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

const maxInputDepth = 64

// ParseInput parses a JSON or XML request body (decided by contentType: application/json, */*+json -> JSON; application/xml, text/xml, */*+xml -> XML; empty/unknown: sniff first non-space byte '{' '[' vs '<').
// JSON: numbers that are integers become int64, others float64 (use json.Decoder.UseNumber); max nesting depth 64 -> InputError.
// XML the common way: the root element is the one top-level key; child elements become keys; repeated elements become lists; attributes "@name"; text beside attributes or children "#text"; leaf element with only text -> string. DOCTYPE / ENTITY declarations refused (InputError); depth limit 64. Invalid UTF-8 refused.
// Returns the parsed value (map[string]any for objects) and the detected Format.
//
// Details: integers beyond int64 become float64. XML text is trimmed of
// surrounding white space; an empty element is ""; element and attribute names
// are used without their namespace prefix and xmlns declarations are dropped.
func ParseInput(contentType string, body []byte) (any, Format, error) {
	return parseInput(contentType, body, false)
}

// ParseInputOrdered is ParseInput with objects (JSON objects, XML elements
// with attributes or children) as *Object, which keep the body's key order:
// a template iterating one sees the keys as the body wrote them, as Jinja2
// would. Use it for template data (IntakeContext, render input); AsMap and
// PlainValue give plain maps where code reads the body itself.
func ParseInputOrdered(contentType string, body []byte) (any, Format, error) {
	return parseInput(contentType, body, true)
}

func parseInput(contentType string, body []byte, ordered bool) (any, Format, error) {
	body = bytes.TrimPrefix(body, []byte("\xEF\xBB\xBF")) // a UTF-8 BOM is harmless, drop it
	if !utf8.Valid(body) {
		off := invalidUTF8(body)
		return nil, "", inputErrorAt(body, off, "the body is not valid UTF-8")
	}
	format := formatFromContentType(contentType)
	if format == "" {
		trimmed := bytes.TrimLeft(body, " \t\r\n")
		switch {
		case len(trimmed) == 0:
			return nil, "", &InputError{Message: "the body is empty"}
		case trimmed[0] == '{' || trimmed[0] == '[':
			format = FormatJSON
		case trimmed[0] == '<':
			format = FormatXML
		default:
			return nil, "", inputErrorAt(body, len(body)-len(trimmed), "the body is neither JSON nor XML")
		}
	}
	var v any
	var err error
	if format == FormatJSON {
		v, err = parseJSON(body, ordered)
	} else {
		v, err = parseXML(body, ordered)
	}
	if err != nil {
		return nil, "", err
	}
	return v, format, nil
}

func formatFromContentType(ct string) Format {
	if ct == "" {
		return ""
	}
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		mt = strings.ToLower(strings.TrimSpace(strings.SplitN(ct, ";", 2)[0]))
	}
	switch {
	case mt == "application/json" || strings.HasSuffix(mt, "+json"):
		return FormatJSON
	case mt == "application/xml" || mt == "text/xml" || strings.HasSuffix(mt, "+xml"):
		return FormatXML
	}
	return ""
}

func invalidUTF8(b []byte) int {
	for i := 0; i < len(b); {
		r, size := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && size == 1 {
			return i
		}
		i += size
	}
	return len(b)
}

func inputErrorAt(body []byte, off int, msg string) *InputError {
	line, col := lineCol(string(body), off)
	return &InputError{Message: msg, Line: line, Column: col, Offset: int64(off)}
}

func parseJSON(body []byte, ordered bool) (any, error) {
	if len(bytes.TrimSpace(body)) == 0 {
		return nil, &InputError{Message: "the body is empty"}
	}
	if off := jsonTooDeep(body); off >= 0 {
		return nil, inputErrorAt(body, off, "the JSON is nested more than 64 levels deep")
	}
	// Syntax first, with json.Unmarshal's precise offsets.
	var raw json.RawMessage
	if err := json.Unmarshal(body, &raw); err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			off := int(se.Offset) - 1
			if strings.HasPrefix(se.Error(), "unexpected end") {
				off = len(body)
			}
			return nil, inputErrorAt(body, off, jsonHint(se.Error()))
		}
		return nil, &InputError{Message: "the body is not valid JSON"}
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if ordered {
		v, err := decodeOrdered(dec)
		if err != nil {
			return nil, &InputError{Message: "the body is not valid JSON"}
		}
		return v, nil
	}
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, &InputError{Message: "the body is not valid JSON"}
	}
	return convertNumbers(v), nil
}

// decodeOrdered reads one JSON value token by token (the syntax and depth
// are checked already), objects as *Object in the body's key order.
func decodeOrdered(dec *json.Decoder) (any, error) {
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	switch t := tok.(type) {
	case json.Delim:
		switch t {
		case '{':
			o := newObject(8)
			for dec.More() {
				kt, err := dec.Token()
				if err != nil {
					return nil, err
				}
				k, ok := kt.(string)
				if !ok {
					return nil, errors.New("object key is not a string")
				}
				v, err := decodeOrdered(dec)
				if err != nil {
					return nil, err
				}
				o.set(k, v)
			}
			_, err := dec.Token() // '}'
			return o, err
		case '[':
			l := []any{}
			for dec.More() {
				v, err := decodeOrdered(dec)
				if err != nil {
					return nil, err
				}
				l = append(l, v)
			}
			_, err := dec.Token() // ']'
			return l, err
		}
		return nil, errors.New("unexpected delimiter")
	case json.Number:
		return numberValue(t), nil
	}
	return tok, nil // string, bool, nil
}

// jsonTooDeep returns the offset where nesting exceeds maxInputDepth, or -1.
func jsonTooDeep(b []byte) int {
	depth := 0
	in, esc := false, false
	for i, c := range b {
		switch {
		case in:
			if esc {
				esc = false
			} else if c == '\\' {
				esc = true
			} else if c == '"' {
				in = false
			}
		case c == '"':
			in = true
		case c == '{' || c == '[':
			depth++
			if depth > maxInputDepth {
				return i
			}
		case c == '}' || c == ']':
			depth--
		}
	}
	return -1
}

func convertNumbers(v any) any {
	switch t := v.(type) {
	case map[string]any:
		for k, e := range t {
			t[k] = convertNumbers(e)
		}
		return t
	case []any:
		for i, e := range t {
			t[i] = convertNumbers(e)
		}
		return t
	case json.Number:
		return numberValue(t)
	}
	return v
}

// numberValue: integers become int64, others float64.
func numberValue(t json.Number) any {
	s := string(t)
	if !strings.ContainsAny(s, ".eE") {
		if n, err := strconv.ParseInt(s, 10, 64); err == nil {
			return n
		}
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsInf(f, 0) {
		return s // out of float range: keep the digits rather than lose them
	}
	return f
}

// xmlNode is an element being built.
type xmlNode struct {
	name     string
	attrs    map[string]any
	children map[string]any
	order    []string // attribute keys as written, then children by first appearance
	text     strings.Builder
}

func (n *xmlNode) add(name string, v any) {
	if n.children == nil {
		n.children = map[string]any{}
	}
	if old, ok := n.children[name]; ok {
		if l, isList := old.([]any); isList {
			n.children[name] = append(l, v)
		} else {
			n.children[name] = []any{old, v}
		}
		return
	}
	n.children[name] = v
	n.order = append(n.order, name)
}

func (n *xmlNode) value(ordered bool) any {
	text := strings.TrimSpace(n.text.String())
	if n.attrs == nil && n.children == nil {
		return text
	}
	if ordered {
		o := newObject(len(n.order) + 1)
		for _, k := range n.order {
			if v, ok := n.attrs[k]; ok {
				o.set(k, v)
			} else {
				o.set(k, n.children[k])
			}
		}
		if text != "" {
			o.set("#text", text)
		}
		return o
	}
	m := make(map[string]any, len(n.attrs)+len(n.children)+1)
	for k, v := range n.attrs {
		m[k] = v
	}
	for k, v := range n.children {
		m[k] = v
	}
	if text != "" {
		m["#text"] = text
	}
	return m
}

func parseXML(body []byte, ordered bool) (any, error) {
	d := xml.NewDecoder(bytes.NewReader(body))
	d.Strict = true
	var stack []*xmlNode
	var root map[string]any
	errAt := func(msg string) *InputError {
		off := int(d.InputOffset())
		return inputErrorAt(body, off, msg)
	}
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			var se *xml.SyntaxError
			msg := "the body is not well-formed XML"
			switch {
			case errors.As(err, &se):
				msg += ": " + se.Msg
			case strings.Contains(err.Error(), "CharsetReader"):
				msg = "only UTF-8 encoded XML is accepted"
			}
			return nil, errAt(msg)
		}
		switch t := tok.(type) {
		case xml.Directive:
			return nil, errAt("DOCTYPE and ENTITY declarations are not accepted")
		case xml.StartElement:
			if len(stack) == 0 && root != nil {
				return nil, errAt("the XML has more than one root element")
			}
			if len(stack) >= maxInputDepth {
				return nil, errAt("the XML is nested more than 64 levels deep")
			}
			n := &xmlNode{name: t.Name.Local}
			for _, a := range t.Attr {
				if a.Name.Space == "xmlns" || a.Name.Local == "xmlns" {
					continue
				}
				if n.attrs == nil {
					n.attrs = map[string]any{}
				}
				if _, dup := n.attrs["@"+a.Name.Local]; !dup {
					n.order = append(n.order, "@"+a.Name.Local)
				}
				n.attrs["@"+a.Name.Local] = a.Value
			}
			stack = append(stack, n)
		case xml.EndElement:
			n := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			if len(stack) == 0 {
				root = map[string]any{n.name: n.value(ordered)}
			} else {
				stack[len(stack)-1].add(n.name, n.value(ordered))
			}
		case xml.CharData:
			if len(stack) == 0 {
				if len(bytes.TrimSpace(t)) > 0 {
					return nil, errAt("text outside the root element")
				}
				continue
			}
			stack[len(stack)-1].text.Write(t)
		}
	}
	if root == nil {
		return nil, &InputError{Message: "the XML has no root element"}
	}
	if ordered {
		o := newObject(1)
		for k, v := range root {
			o.set(k, v)
		}
		return o, nil
	}
	return root, nil
}

type CustomerInfo struct{ ID, Name, ReferenceID string }

// dropHeaders never reach a template: they carry credentials.
var dropHeaders = map[string]bool{
	"x-api-key": true, "authorization": true, "cookie": true, "proxy-authorization": true,
}

// IntakeContext builds the intake/cancel template context (DESIGN.md,
// "Templates"): the parsed body's top-level keys directly (when it is an
// object), and ours: "body" (the whole body), "headers" (lower-case names;
// x-api-key, authorization, cookie dropped; repeats joined with ", "),
// "customer" {id, name, referenceId} and "now" (RFC 3339 UTC).
//
// The body's keys always win: ours are visible under their plain names only
// where the body has no such key, and always under "orderintake."
// (orderintake.customer.id, orderintake.headers, orderintake.now,
// orderintake.body). "orderintake" itself is ours; a body key of that name
// stays reachable as orderintake.body.orderintake. The names the body shadows
// are remembered in the context (under a key no template can spell), so that
// Render can warn where a template reads one of them.
func IntakeContext(body any, headers map[string][]string, c CustomerInfo, now time.Time) map[string]any {
	h := make(map[string]any, len(headers))
	for name, vals := range headers {
		l := strings.ToLower(name)
		if dropHeaders[l] {
			continue
		}
		joined := strings.Join(vals, ", ")
		if prev, ok := h[l].(string); ok && prev != "" {
			joined = prev + ", " + joined
		}
		h[l] = joined
	}
	ours := map[string]any{
		"body":     body,
		"headers":  h,
		"customer": map[string]any{"id": c.ID, "name": c.Name, "referenceId": c.ReferenceID},
		"now":      now.UTC().Format(time.RFC3339),
	}
	ctx := make(map[string]any, len(ours)+2)
	var shadowed []string
	switch m := body.(type) {
	case map[string]any:
		for k, v := range m {
			ctx[k] = v
		}
	case *Object:
		for k, v := range m.vals {
			ctx[k] = v
		}
	}
	for k, v := range ours {
		if _, taken := ctx[k]; taken {
			shadowed = append(shadowed, k)
			continue
		}
		ctx[k] = v
	}
	if _, taken := ctx[ourNamespace]; taken {
		shadowed = append(shadowed, ourNamespace)
	}
	ctx[ourNamespace] = ours
	if len(shadowed) > 0 {
		sort.Strings(shadowed)
		ctx[shadowedKey] = shadowed
	}
	return ctx
}

// ourNamespace is where the intake context's own names are always reachable.
const ourNamespace = "orderintake"
