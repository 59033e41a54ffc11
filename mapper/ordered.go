package mapper

import (
	"reflect"

	"github.com/nikolalohinski/gonja/v2/exec"
)

// Object is a JSON object or XML element parsed by ParseInputOrdered: its
// keys in the order the body wrote them, so that a template iterating a
// mapping from the order body sees what Jinja2 would ({% for k, v in
// address.items() %} in document order). Read it with Get, Keys and Len, or
// take a plain map with Map or PlainValue; a render reads it as a mapping.
type Object struct {
	keys []string
	vals map[string]any
}

func newObject(n int) *Object {
	return &Object{keys: make([]string, 0, n), vals: make(map[string]any, n)}
}

// set adds a key at the end, or replaces the value of a repeated key where
// it first stood (as Python's json module and JavaScript do).
func (o *Object) set(k string, v any) {
	if _, ok := o.vals[k]; !ok {
		o.keys = append(o.keys, k)
	}
	o.vals[k] = v
}

// Get returns the value under k.
func (o *Object) Get(k string) (any, bool) {
	v, ok := o.vals[k]
	return v, ok
}

// Keys returns the keys in the body's order (do not change the slice).
func (o *Object) Keys() []string { return o.keys }

// Len is the number of keys.
func (o *Object) Len() int { return len(o.keys) }

// Map returns the keys and values as a plain map (values as they are: nested
// objects stay *Object).
func (o *Object) Map() map[string]any {
	m := make(map[string]any, len(o.keys))
	for k, v := range o.vals {
		m[k] = v
	}
	return m
}

// AsMap returns v as a plain map when it is an object: a map[string]any as
// it is, an *Object by Map. For code that reads a parsed body either way.
func AsMap(v any) (map[string]any, bool) {
	switch t := v.(type) {
	case map[string]any:
		return t, true
	case *Object:
		return t.Map(), true
	}
	return nil, false
}

// PlainValue returns v with every *Object in it replaced by a plain
// map[string]any (what ParseInput returns), copying only what it must.
func PlainValue(v any) any {
	out, _ := convertObjects(v, func(o *Object, conv func(any) any) any {
		m := make(map[string]any, len(o.keys))
		for k, e := range o.vals {
			m[k] = conv(e)
		}
		return m
	}, 0)
	return out
}

// convertObjects rebuilds v with each *Object replaced by what obj makes of
// it (obj converts the values with the conv it is given); lists and maps
// are copied only where they hold an Object. changed: v itself was rebuilt.
func convertObjects(v any, obj func(*Object, func(any) any) any, depth int) (any, bool) {
	if depth > maxValueDepth {
		return v, false
	}
	conv := func(e any) any {
		out, _ := convertObjects(e, obj, depth+1)
		return out
	}
	switch t := v.(type) {
	case *Object:
		return obj(t, conv), true
	case []any:
		var out []any
		for i, e := range t {
			c, changed := convertObjects(e, obj, depth+1)
			if out == nil {
				if !changed {
					continue
				}
				out = make([]any, len(t))
				copy(out, t[:i])
			}
			out[i] = c
		}
		if out != nil {
			return out, true
		}
	case map[string]any:
		var out map[string]any
		for k, e := range t {
			c, changed := convertObjects(e, obj, depth+1)
			if !changed {
				continue
			}
			if out == nil {
				out = make(map[string]any, len(t))
				for k2, e2 := range t {
					out[k2] = e2
				}
			}
			out[k] = c
		}
		if out != nil {
			return out, true
		}
	}
	return v, false
}

// dictMemo keeps one gonja dict per Object, and one shared list per list,
// within a render.
type dictMemo struct {
	dicts map[*Object]*exec.Dict
	lists map[listKey]*[]any
}

type listKey struct {
	p *any
	n int
}

func newDictMemo() *dictMemo {
	return &dictMemo{dicts: map[*Object]*exec.Dict{}}
}

// templateValue turns the *Object values in a render's data into gonja
// dicts (*exec.Dict), which iterate in insertion order like dict literals
// and which every filter, method, test and the sandbox already know, and its
// lists into shared lists (*[]any, lists.go), so that a list the template
// receives is one list under every name (set b = items; b.append(x) shows
// in items, as in Jinja2). Each render gets its own dicts and lists, so a
// template that changes one (d.update(), l.append()) changes neither the
// parsed body nor another render's view of it; plain maps are copied only
// where they hold something converted. The memo keeps one dict per Object
// and one list per list, so body.customer and customer stay the same value.
func templateValue(v any, memo *dictMemo) any {
	out, _ := memo.convert(v, 0)
	return out
}

func (memo *dictMemo) convert(v any, depth int) (any, bool) {
	if depth > maxValueDepth {
		return v, false
	}
	switch t := v.(type) {
	case *Object:
		if d, ok := memo.dicts[t]; ok {
			return d, true
		}
		d := &exec.Dict{Pairs: make([]*exec.Pair, len(t.keys))}
		memo.dicts[t] = d
		pairs := make([]exec.Pair, len(t.keys)) // one allocation for all pairs
		vals := make([]exec.Value, 2*len(t.keys))
		for i, k := range t.keys {
			e, _ := memo.convert(t.vals[k], depth+1)
			vals[2*i] = exec.Value{Val: reflect.ValueOf(k)}
			vals[2*i+1] = exec.Value{Val: reflect.ValueOf(e)} // parsed values are plain Go values: what ToValue would make, without its allocation
			pairs[i] = exec.Pair{Key: &vals[2*i], Value: &vals[2*i+1]}
			d.Pairs[i] = &pairs[i]
		}
		return d, true
	case []any:
		var key listKey
		if len(t) > 0 {
			key = listKey{&t[0], len(t)}
			if l, ok := memo.lists[key]; ok {
				return l, true
			}
		}
		l := make([]any, len(t))
		for i, e := range t {
			l[i], _ = memo.convert(e, depth+1)
		}
		if len(t) > 0 {
			if memo.lists == nil {
				memo.lists = map[listKey]*[]any{}
			}
			memo.lists[key] = &l
		}
		return &l, true
	case map[string]any:
		var out map[string]any
		for k, e := range t {
			c, changed := memo.convert(e, depth+1)
			if !changed {
				continue
			}
			if out == nil {
				out = make(map[string]any, len(t))
				for k2, e2 := range t {
					out[k2] = e2
				}
			}
			out[k] = c
		}
		if out != nil {
			return out, true
		}
	}
	return v, false
}
