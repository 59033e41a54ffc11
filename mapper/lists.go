package mapper

import (
	"reflect"
	"unsafe"

	"github.com/nikolalohinski/gonja/v2/exec"
)

// Lists are shared, as in Jinja2: after {% set b = a %}, b.append(x)
// changes a too, and so does l.append(x) in a macro called with add(a). Go
// slices are values (an append makes a new one), so every list a render
// holds, from its data, a literal, a filter, an operator or a method, is a
// *[]any: gonja reads it as a list through the pointer (index, iterate,
// filter, test), and append changes the one slice all names share.
//
// A list is shared from where it is built; a slice of one ([:], | list,
// copy(), +) is a new list, as in Python.

// sharedList returns p when v is one of our shared lists.
func sharedList(v any) (*[]any, bool) {
	p, ok := v.(*[]any)
	return p, ok && p != nil
}

// shareValue makes the plain slices in x (a list a filter, operator or
// method just built, and plain lists inside it) shared lists; what is
// already shared stays the same list. The slices are copied: a filter may
// return its input's backing array, which an append must not write into.
func shareValue(x any, depth int) any {
	if depth > maxValueDepth {
		return x
	}
	switch t := x.(type) {
	case nil, string, int, int64, float64, bool, *[]any, *exec.Dict:
		return x
	case *exec.Value:
		if t == nil || !t.Val.IsValid() || !t.Val.CanInterface() {
			return x
		}
		inner := t.Val.Interface()
		out := shareValue(inner, depth+1)
		if sameRef(out, inner) {
			return x
		}
		return &exec.Value{Val: reflect.ValueOf(out), Safe: t.Safe}
	case []any:
		l := make([]any, len(t))
		for i, e := range t {
			l[i] = shareValue(e, depth+1)
		}
		return &l
	case exec.ValuesList:
		l := make([]any, len(t))
		for i, e := range t {
			l[i] = shareValue(e, depth+1)
		}
		return &l
	}
	rv := reflect.ValueOf(x)
	// Unnamed slices only: a named one (groupby's groups) has methods.
	if rv.Kind() == reflect.Slice && rv.Type().Name() == "" && rv.Type().Elem().Kind() != reflect.Uint8 {
		l := make([]any, rv.Len())
		for i := range l {
			if e := rv.Index(i); e.CanInterface() {
				l[i] = shareValue(e.Interface(), depth+1)
			}
		}
		return &l
	}
	return x
}

// sameRef: shareValue changed nothing (scalars compare equal, shared lists
// by pointer).
func sameRef(a, b any) bool {
	ra, rb := reflect.ValueOf(a), reflect.ValueOf(b)
	if ra.Kind() != rb.Kind() {
		return false
	}
	switch ra.Kind() {
	case reflect.Pointer, reflect.Map, reflect.Slice, reflect.Func, reflect.Chan:
		return ra.Pointer() == rb.Pointer() && (ra.Kind() != reflect.Slice || ra.Len() == rb.Len())
	}
	return true // scalars and structs: shareValue returns them as they are
}

// shareResult is shareValue for a filter's, operator's or method's result.
func shareResult(v *exec.Value) *exec.Value {
	if v == nil || v.IsError() || !v.IsList() {
		return v
	}
	x := rawValue(v)
	if _, ok := sharedList(x); ok {
		return v
	}
	out := shareValue(x, 0)
	return &exec.Value{Val: reflect.ValueOf(out), Safe: v.Safe}
}

// listMethodNames are the list methods mapper offers (methods.go).
var listMethodNames = []string{"append", "reverse", "copy", "count", "index"}

// dictMethodNames are the dict methods mapper offers (compat_filters.go).
var dictMethodNames = []string{"keys", "values", "items", "get", "pop", "setdefault", "update", "copy", "clear", "popitem"}

// shareMethods makes the lists methods return (split, copy, keys, ...) shared.
func shareMethods[T any](set *exec.MethodSet[T], names []string) *exec.MethodSet[T] {
	out := map[string]exec.Method[T]{}
	for _, name := range names {
		m, ok := set.Get(name)
		if !ok {
			continue
		}
		out[name] = func(self T, sv *exec.Value, args *exec.VarArgs) (any, error) {
			r, err := m(self, sv, args)
			if err != nil || r == nil {
				return r, err
			}
			return shareValue(r, 0), nil
		}
	}
	return exec.NewMethodSet(out)
}

// sharedListMethods are append, reverse and copy on a shared list (gonja's
// rebuild the slice, which only works on a slice value). Other lists (a
// range, a list a Go caller put in the data) keep gonja's.
func sharedListMethods(base *exec.MethodSet[[]any]) *exec.MethodSet[[]any] {
	set := map[string]exec.Method[[]any]{}
	for _, name := range []string{"append", "reverse", "copy", "count", "index"} {
		orig, ok := base.Get(name)
		if !ok {
			continue
		}
		name := name
		set[name] = func(self []any, sv *exec.Value, args *exec.VarArgs) (any, error) {
			p, shared := sharedList(rawValue(sv))
			if !shared {
				return orig(self, sv, args)
			}
			switch name {
			case "append":
				if len(args.Args) != 1 || len(args.KwArgs) > 0 {
					return nil, newTplErr(ErrRuntime, "append() takes exactly one argument (%d given)", len(args.Args)+len(args.KwArgs))
				}
				*p = append(*p, stored(args.Args[0]))
				return nil, nil
			case "reverse":
				if len(args.Args) > 0 || len(args.KwArgs) > 0 {
					return nil, newTplErr(ErrRuntime, "reverse() takes no arguments")
				}
				l := *p
				for i, j := 0, len(l)-1; i < j; i, j = i+1, j-1 {
					l[i], l[j] = l[j], l[i]
				}
				return nil, nil
			case "copy":
				if len(args.Args) > 0 || len(args.KwArgs) > 0 {
					return nil, newTplErr(ErrRuntime, "copy() takes no arguments")
				}
				l := append([]any(nil), *p...)
				return &l, nil
			}
			return orig(self, sv, args)
		}
	}
	return exec.NewMethodSet(set)
}

// reaches reports whether x holds the container at target (a shared list's
// or a dict's address): putting x into that container would make it hold
// itself, which gonja's comparisons and conversions would follow forever.
// x has been weighed first, so the walk is bounded.
func reaches(x any, target unsafe.Pointer, depth int) bool {
	if depth > maxValueDepth {
		return true
	}
	switch t := x.(type) {
	case nil, string, int, int64, float64, bool:
		return false
	case *exec.Value:
		return t != nil && reaches(rawValue(t), target, depth+1)
	case *[]any:
		if unsafe.Pointer(t) == target {
			return true
		}
		return t != nil && reaches(*t, target, depth+1)
	case []any:
		for _, e := range t {
			if reaches(e, target, depth+1) {
				return true
			}
		}
		return false
	case exec.ValuesList:
		for _, e := range t {
			if reaches(e, target, depth+1) {
				return true
			}
		}
		return false
	case *exec.Dict:
		if unsafe.Pointer(t) == target {
			return true
		}
		if t == nil {
			return false
		}
		for _, p := range t.Pairs {
			if reaches(p.Value, target, depth+1) {
				return true
			}
		}
		return false
	case map[string]any:
		if reflect.ValueOf(t).UnsafePointer() == target {
			return true
		}
		for _, e := range t {
			if reaches(e, target, depth+1) {
				return true
			}
		}
		return false
	}
	rv := reflect.ValueOf(x)
	switch rv.Kind() {
	case reflect.Pointer, reflect.Interface:
		if rv.Kind() == reflect.Pointer && rv.UnsafePointer() == target {
			return true
		}
		return !rv.IsNil() && rv.Elem().CanInterface() && reaches(rv.Elem().Interface(), target, depth+1)
	case reflect.Slice, reflect.Array:
		for i := 0; i < rv.Len(); i++ {
			if e := rv.Index(i); e.CanInterface() && reaches(e.Interface(), target, depth+1) {
				return true
			}
		}
	case reflect.Map:
		if rv.UnsafePointer() == target {
			return true
		}
		it := rv.MapRange()
		for it.Next() {
			if it.Value().CanInterface() && reaches(it.Value().Interface(), target, depth+1) {
				return true
			}
		}
	}
	return false
}

// containerAddress is the identity of a shared list or dict value (nil for
// anything else).
func containerAddress(v *exec.Value) unsafe.Pointer {
	switch t := rawValue(v).(type) {
	case *[]any:
		return unsafe.Pointer(t)
	case *exec.Dict:
		return unsafe.Pointer(t)
	case map[string]any:
		return reflect.ValueOf(t).UnsafePointer()
	}
	return nil
}

func errCycle(name string) error {
	return newTplErr(ErrRuntime, "%s: a list or mapping cannot hold itself", name)
}

// stored is what a list keeps of an appended value: the value itself, or
// a copy of gonja's wrapper when it carries the safe mark (gonja may
// overwrite a *Value it holds).
func stored(v *exec.Value) any {
	if v == nil {
		return nil
	}
	if v.Safe {
		c := *v
		return &c
	}
	return rawValue(v)
}
