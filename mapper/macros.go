package mapper

import (
	"reflect"

	"github.com/nikolalohinski/gonja/v2/nodes"
	"github.com/nikolalohinski/gonja/v2/tokens"
)

// jinja2Fixups adjusts a parsed template where gonja's parser builds a tree
// Jinja2 would not: see methodCallParents, testPaths and implicitMacroArgs.
func jinja2Fixups(t *nodes.Template) {
	methodCallParents(reflect.ValueOf(t), map[uintptr]bool{}, 0)
	testPaths(reflect.ValueOf(t), map[uintptr]bool{}, 0) // undefined.go
	implicitMacroArgs(t)
}

// methodCallParents repairs method calls on a parenthesized expression,
// ('a' ~ b).upper(): gonja's parser reads the attribute inside the
// parentheses and leaves the call without the object the method belongs
// to, so the call failed ("is not callable").
func methodCallParents(v reflect.Value, seen map[uintptr]bool, depth int) {
	if depth > 8*maxTreeDepth { // ~ maxTreeDepth nodes (a node is a few reflect levels): the rewriter refuses deeper trees
		return
	}
	switch v.Kind() {
	case reflect.Interface:
		if !v.IsNil() {
			methodCallParents(v.Elem(), seen, depth+1)
		}
	case reflect.Pointer:
		if v.IsNil() || v.Type().Elem() == typeToken || seen[v.Pointer()] {
			return
		}
		seen[v.Pointer()] = true
		if c, ok := accessible(v).Interface().(*nodes.Call); ok && c.Parent == nil {
			if g, ok := c.Func.(*nodes.GetAttribute); ok && g.Node != nil {
				c.Parent = g.Node
			}
		}
		if v.Elem().Kind() == reflect.Struct {
			methodCallParents(v.Elem(), seen, depth+1)
		}
	case reflect.Struct:
		for i := 0; i < v.NumField(); i++ {
			methodCallParents(v.Field(i), seen, depth+1)
		}
	case reflect.Slice, reflect.Array:
		for i := 0; i < v.Len(); i++ {
			methodCallParents(v.Index(i), seen, depth+1)
		}
	case reflect.Map:
		it := v.MapRange()
		for it.Next() {
			methodCallParents(it.Value(), seen, depth+1)
		}
	}
}

// implicitMacroArgs gives a macro Jinja2's implicit `varargs` and `kwargs`:
// a macro whose body reads them accepts extra positional or keyword
// arguments, without declaring *args or **kwargs (gonja refused the call).
func implicitMacroArgs(t *nodes.Template) {
	for _, m := range t.Macros {
		if m == nil || m.Wrapper == nil {
			continue
		}
		uses := map[string]bool{}
		findNames(reflect.ValueOf(m.Wrapper), uses, map[uintptr]bool{}, 0)
		if m.VarArgsName == "" && uses["varargs"] {
			m.VarArgsName = "varargs"
		}
		if m.KwArgsName == "" && uses["kwargs"] {
			m.KwArgsName = "kwargs"
		}
	}
}

// findNames collects the variable names read anywhere under v.
func findNames(v reflect.Value, out map[string]bool, seen map[uintptr]bool, depth int) {
	if depth > 8*maxTreeDepth { // ~ maxTreeDepth nodes (a node is a few reflect levels): the rewriter refuses deeper trees
		return
	}
	switch v.Kind() {
	case reflect.Interface:
		if !v.IsNil() {
			findNames(v.Elem(), out, seen, depth+1)
		}
	case reflect.Pointer:
		if v.IsNil() || v.Type().Elem() == typeToken || seen[v.Pointer()] {
			return
		}
		seen[v.Pointer()] = true
		if n, ok := accessible(v).Interface().(*nodes.Name); ok {
			if n.Name != nil && n.Name.Type == tokens.Name {
				out[n.Name.Val] = true
			}
			return
		}
		if v.Elem().Kind() == reflect.Struct {
			findNames(v.Elem(), out, seen, depth+1)
		}
	case reflect.Struct:
		for i := 0; i < v.NumField(); i++ {
			findNames(v.Field(i), out, seen, depth+1)
		}
	case reflect.Slice, reflect.Array:
		for i := 0; i < v.Len(); i++ {
			findNames(v.Index(i), out, seen, depth+1)
		}
	case reflect.Map:
		it := v.MapRange()
		for it.Next() {
			findNames(it.Value(), out, seen, depth+1)
		}
	}
}
