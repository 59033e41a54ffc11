package mapper

import (
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
	"unsafe"

	controlStructures "github.com/nikolalohinski/gonja/v2/builtins/control_structures"
	"github.com/nikolalohinski/gonja/v2/exec"
	"github.com/nikolalohinski/gonja/v2/nodes"
	"github.com/nikolalohinski/gonja/v2/tokens"
)

// A value's weight is what printing it (our JSON/text forms, gonja's own
// String(), tojson, join...) would build: strings by their length, lists and
// maps by the weight of their items plus punctuation. A list of 2000
// references to one 1 MB string is small in memory but weighs 2 GB, and gonja
// stringifies values in places we cannot reach (method calls, comparisons,
// some filters). So values a template builds are refused by weight BEFORE
// they exist (repetition, +, append, update...), and every place of ours that
// prints a value weighs it first.
//
// The weight is the size of the value as compact JSON before escaping: never
// more than what our writers produce (so a value that fits is never refused
// for its weight), and at most about 6 times less (\u00XX escapes).
//
// Weighing stops as soon as the limit is passed, so it costs at most
// O(limit) however big or self-similar the value is.

// maxWeightFactor bounds the weight of a container a template may build or
// hand to a filter, as a multiple of the largest string (st.maxValue): an
// order of 1 MiB parsed into maps stays well under it.
const maxWeightFactor = 4

func weightLimit(maxValue int) int { return maxWeightFactor * maxValue }

// weigher walks a value; it gives up (over) once n passes limit.
type weigher struct {
	st    *renderState // may be nil (methods have no render state)
	limit int
	n     int
	nodes int
	err   error
}

func (w *weigher) over() bool { return w.n > w.limit || w.err != nil }

// weigh returns the weight of x, or a number above limit when x weighs more.
func weigh(st *renderState, x any, limit int) (int, error) {
	w := &weigher{st: st, limit: limit}
	w.add(x, 0)
	return w.n, w.err
}

func (w *weigher) add(x any, depth int) {
	if w.over() {
		return
	}
	w.nodes++
	if w.nodes&1023 == 0 && w.st != nil {
		if err := w.st.alive(); err != nil {
			w.err = err
			return
		}
	}
	if depth > maxValueDepth {
		w.n = w.limit + 1 // gonja's String() has no depth limit: refuse what we would refuse to print
		return
	}
	switch t := x.(type) {
	case nil:
		w.n += 4
	case string:
		w.n += len(t) + 2
	case bool:
		w.n += 4
	case int:
		w.n += digits(int64(t))
	case int64:
		w.n += digits(t)
	case float64:
		w.n += len(formatFloat(t))
	case json.Number:
		w.n += len(t)
	case int32, float32, uint, uint64:
		w.n += 1
	case time.Time:
		w.n += 32
	case *exec.Value:
		if t == nil {
			w.n += 4
			return
		}
		w.add(unwrapValue(t), depth+1)
	case []any:
		if len(t) > 16 && w.memoized(unsafe.Pointer(&t[0]), len(t)) {
			return
		}
		start := w.n
		defer w.remember(len(t) > 16, func() unsafe.Pointer { return unsafe.Pointer(&t[0]) }, len(t), start)
		w.n += 2
		for i, e := range t {
			if i > 0 {
				w.n++
			}
			w.add(e, depth+1)
			if w.over() {
				return
			}
		}
	case map[string]any:
		if len(t) > 16 && w.memoized(reflect.ValueOf(t).UnsafePointer(), len(t)) {
			return
		}
		start := w.n
		defer w.remember(len(t) > 16, func() unsafe.Pointer { return reflect.ValueOf(t).UnsafePointer() }, len(t), start)
		w.n++ // '{' + '}' and a comma between entries: len+4 per entry counts one comma too many
		for k, v := range t {
			w.n += len(k) + 4
			w.add(v, depth+1)
			if w.over() {
				return
			}
		}
	case *exec.Dict:
		w.addDict(t, depth)
	case exec.Dict:
		w.addDict(&t, depth)
	case *exec.Pair:
		w.n += 4
		w.add(t.Key, depth+1)
		w.add(t.Value, depth+1)
	case exec.ValuesList:
		w.n += 2
		for i, e := range t {
			if i > 0 {
				w.n++
			}
			w.add(e, depth+1)
			if w.over() {
				return
			}
		}
	default:
		w.addReflect(reflect.ValueOf(x), depth)
	}
}

// Weights of big lists and maps are remembered for the render (by address
// and length): the order's items weighed once, not in every loop iteration
// that puts them in a literal. {% set obj.attr %} clears the memo (the one
// way a template changes a map in place).
type memoKey struct {
	p unsafe.Pointer
	n int
}

func (w *weigher) memoized(p unsafe.Pointer, n int) bool {
	if w.st == nil || w.st.weights == nil {
		return false
	}
	if v, ok := w.st.weights[memoKey{p, n}]; ok {
		w.n += v
		return true
	}
	return false
}

func (w *weigher) remember(ok bool, p func() unsafe.Pointer, n, start int) {
	if !ok || w.st == nil || w.over() {
		return
	}
	if w.st.weights == nil {
		w.st.weights = map[memoKey]int{}
	}
	if len(w.st.weights) < 4096 {
		w.st.weights[memoKey{p(), n}] = w.n - start
	}
}

// digits is the length of n written in decimal.
func digits(n int64) int {
	d := 1
	if n < 0 {
		d++
		if n == math.MinInt64 {
			return 20
		}
		n = -n
	}
	for n >= 10 {
		n /= 10
		d++
	}
	return d
}

func (w *weigher) addDict(d *exec.Dict, depth int) {
	if d == nil {
		w.n += 4
		return
	}
	w.n += 2
	for i, p := range d.Pairs {
		if i > 0 {
			w.n++
		}
		w.n++ // ':'
		w.add(p.Key, depth+1)
		w.add(p.Value, depth+1)
		if w.over() {
			return
		}
	}
}

func (w *weigher) addReflect(rv reflect.Value, depth int) {
	switch rv.Kind() {
	case reflect.Invalid:
		w.n += 4
	case reflect.Pointer, reflect.Interface:
		if rv.IsNil() || !rv.Elem().CanInterface() {
			w.n += 4
			return
		}
		w.add(rv.Elem().Interface(), depth+1)
	case reflect.String:
		w.n += rv.Len() + 2
	case reflect.Slice, reflect.Array:
		if rv.Kind() == reflect.Slice && rv.Type().Elem().Kind() == reflect.Uint8 {
			w.n += rv.Len() + 3
			return
		}
		w.n += 2
		for i := 0; i < rv.Len(); i++ {
			if i > 0 {
				w.n++
			}
			if e := rv.Index(i); e.CanInterface() {
				w.add(e.Interface(), depth+1)
			} else {
				w.n += 4
			}
			if w.over() {
				return
			}
		}
	case reflect.Map:
		w.n += 2
		it := rv.MapRange()
		w.n-- // as for map[string]any: one comma fewer than entries
		for it.Next() {
			w.n += 2
			if it.Key().CanInterface() {
				w.add(it.Key().Interface(), depth+1)
			}
			if it.Value().CanInterface() {
				w.add(it.Value().Interface(), depth+1)
			}
			if w.over() {
				return
			}
		}
	case reflect.Struct:
		w.n += 2
		for i := 0; i < rv.NumField(); i++ {
			w.n += 4
			if f := rv.Field(i); f.CanInterface() {
				w.add(f.Interface(), depth+1)
			}
			if w.over() {
				return
			}
		}
	default:
		w.n += 8
	}
}

// alive reports errStopped once the render was abandoned (deadline or the
// caller's context). Long loops of ours call it so that work stops at once.
func (st *renderState) alive() error {
	if st != nil && st.stop.Load() {
		return errStopped
	}
	return nil
}

// checkWeight refuses a value whose printed form would exceed limit.
func (st *renderState) checkWeight(v *exec.Value, limit int, what string) error {
	n, err := weigh(st, unwrapValue(v), limit)
	if err != nil {
		return err
	}
	if n > limit {
		return newTplErr(ErrLimit, "%s would be larger than %d bytes when written out", what, limit)
	}
	return nil
}

// weightOf is the weight of v, capped just above the container limit.
func (st *renderState) weightOf(v *exec.Value) (int, error) {
	return weigh(st, unwrapValue(v), weightLimit(st.maxValue))
}

// chargeRepeat takes a repetition of unit bytes n times from the budget
// before the result is built; the result must fit in limit.
func (st *renderState) chargeRepeat(unit, n, limit int, what string) error {
	if n <= 0 || unit <= 0 {
		return nil
	}
	if unit > limit/n {
		return newTplErr(ErrLimit, "%s would be larger than %d bytes", what, limit)
	}
	return st.charge(unit * n)
}

// checkArgs weighs a filter's or method's input and arguments before they
// run: gonja's filters and methods stringify their operands freely.
func (st *renderState) checkArgs(name string, in *exec.Value, params *exec.VarArgs) error {
	if st == nil {
		return nil
	}
	limit := weightLimit(st.maxValue)
	if containerFilters[name] {
		return nil
	}
	if in != nil && !in.IsString() {
		if err := st.checkWeight(in, limit, "the value given to "+name); err != nil {
			return err
		}
	}
	if params == nil {
		return nil
	}
	for _, a := range params.Args {
		if a != nil && !a.IsString() {
			if err := st.checkWeight(a, limit, "an argument of "+name); err != nil {
				return err
			}
		}
	}
	for _, a := range params.KwArgs {
		if a != nil && !a.IsString() {
			if err := st.checkWeight(a, limit, "an argument of "+name); err != nil {
				return err
			}
		}
	}
	return nil
}

// containerFilters work on a list or mapping item by item without writing
// it out whole, so their input is not weighed first (items | length in a
// loop stays O(1)); what they return is bounded by postFilter.
var containerFilters = map[string]bool{
	"length": true, "count": true, "first": true, "last": true, "default": true, "d": true, "list": true,
	"map": true, "select": true, "reject": true, "selectattr": true, "rejectattr": true, "sort": true,
	"unique": true, "reverse": true, "batch": true, "slice": true, "groupby": true, "dictsort": true,
	"items": true, "sum": true, "min": true, "max": true, "random": true, "attr": true, "abs": true,
	"round": true, "join": true, // join bounds its result item by item
}

// filterGuards check what a filter will build from its arguments before the
// filter builds it; checkedFilter runs them.
// (format.go's '%' and |format take their sizes from their own budget.)
var filterGuards = map[string]func(st *renderState, in *exec.Value, params *exec.VarArgs) error{}

// preFilter is what checkedFilter runs before a filter: argument weights and
// the filter's own guard.
func (st *renderState) preFilter(name string, in *exec.Value, params *exec.VarArgs) error {
	if st == nil {
		return nil
	}
	if err := st.alive(); err != nil {
		return err
	}
	if in != nil && in.IsError() {
		return in // the input failed: that error, not the filter's complaint about it
	}
	if err := st.checkIteration(name, in); err != nil {
		return err
	}
	if err := st.checkArgs(name, in, params); err != nil {
		return err
	}
	if g, ok := filterGuards[name]; ok && in != nil && !in.IsError() {
		return g(st, in, params)
	}
	return nil
}

// postFilter bounds what a filter returned: strings by size (charged), lists
// and maps by weight (batch's fill_with, map over a big list...).
func (st *renderState) postFilter(name string, out *exec.Value) error {
	if st == nil || out == nil || out.IsError() {
		return nil
	}
	if out.IsString() {
		return st.checkString(len(out.String()))
	}
	if out.IsList() || out.IsDict() {
		n, err := st.weightOf(out)
		if err != nil {
			return err
		}
		if n > weightLimit(st.maxValue) {
			return newTplErr(ErrLimit, "%s: the result would be larger than %d bytes when written out", name, weightLimit(st.maxValue))
		}
		return st.charge(16 * out.Len())
	}
	return nil
}

// ---- string formatting: "{…}".format(args) is sized before it runs (on top
// of format.go's own budget: nested widths are resolved here first)

// checkBraceFormat bounds str.format / format_map before it runs: each
// replacement field costs its width and precision, nested fields ({:{w}})
// resolved from the arguments, plus the weight of its argument.
func checkBraceFormat(name, format string, args []*exec.Value, kwargs map[string]*exec.Value, limit int) error {
	total, err := braceFormatSize(format, args, kwargs, limit, 0)
	if err != nil {
		return err
	}
	if total > limit {
		return newTplErr(ErrLimit, "%s: the formatted text would be larger than %d bytes", name, limit)
	}
	return nil
}

func braceFormatSize(format string, args []*exec.Value, kwargs map[string]*exec.Value, limit, depth int) (int, error) {
	total := 0
	auto := 0
	lookup := func(field string) *exec.Value {
		field = strings.TrimSpace(field)
		if k := strings.IndexAny(field, ".["); k >= 0 {
			field = field[:k]
		}
		if field == "" {
			if auto < len(args) {
				a := args[auto]
				auto++
				return a
			}
			auto++
			return nil
		}
		if n, err := strconv.Atoi(field); err == nil {
			if n >= 0 && n < len(args) {
				return args[n]
			}
			return nil
		}
		return kwargs[field]
	}
	for i := 0; i < len(format); i++ {
		if total > limit {
			return total, nil
		}
		c := format[i]
		if c != '{' {
			total++
			continue
		}
		if i+1 < len(format) && format[i+1] == '{' {
			i++
			total++
			continue
		}
		// find the matching close brace, allowing one level of nesting
		j, level := i+1, 1
		for ; j < len(format) && level > 0; j++ {
			switch format[j] {
			case '{':
				level++
			case '}':
				level--
			}
		}
		field := format[i+1 : j-1]
		if level > 0 {
			field = format[i+1:]
		}
		i = j - 1
		spec := ""
		name := field
		if k := strings.IndexAny(field, ":!"); k >= 0 {
			name = field[:k]
			spec = field[k:]
			if strings.HasPrefix(spec, "!") {
				if m := strings.IndexByte(spec, ':'); m >= 0 {
					spec = spec[m:]
				} else {
					spec = ""
				}
			}
			spec = strings.TrimPrefix(spec, ":")
		}
		arg := lookup(name)
		item := 8
		if arg != nil {
			n, err := weigh(nil, unwrapValue(arg), limit)
			if err != nil {
				return 0, err
			}
			item = n
		}
		// resolve nested fields in the spec ("{:>{w}}") to their values
		if strings.Contains(spec, "{") && depth == 0 {
			var b strings.Builder
			for k := 0; k < len(spec); k++ {
				if spec[k] != '{' {
					b.WriteByte(spec[k])
					continue
				}
				e := strings.IndexByte(spec[k:], '}')
				if e < 0 {
					break
				}
				if v := lookup(spec[k+1 : k+e]); v != nil {
					b.WriteString(textOf(v))
				}
				k += e
			}
			spec = b.String()
		}
		width, prec := specNumbers(spec, limit)
		total += maxInt(width, item) + prec
	}
	return total, nil
}

// specNumbers reads the width and precision of a format spec
// ([[fill]align][sign][#][0][width][,_][.precision][type]).
func specNumbers(spec string, limit int) (width, prec int) {
	i := 0
	if utf8.RuneCountInString(spec) >= 2 {
		_, size := utf8.DecodeRuneInString(spec)
		if size < len(spec) && strings.IndexByte("<>=^", spec[size]) >= 0 {
			i = size + 1
		}
	}
	if i == 0 && len(spec) > 0 && strings.IndexByte("<>=^", spec[0]) >= 0 {
		i = 1
	}
	for i < len(spec) && strings.IndexByte("+- #0", spec[i]) >= 0 {
		i++
	}
	num := func() int {
		n := 0
		for i < len(spec) && spec[i] >= '0' && spec[i] <= '9' {
			if n <= limit {
				n = n*10 + int(spec[i]-'0')
			}
			i++
		}
		return n
	}
	width = num()
	for i < len(spec) && (spec[i] == ',' || spec[i] == '_') {
		i++
	}
	if i < len(spec) && spec[i] == '.' {
		i++
		prec = num()
	}
	return width, prec
}

func maxInt(a, b int) int {
	if a > b {
		return a
	}
	return b
}

// ---- list and dict methods: growth is charged by weight before it happens

// guardListMethods wraps gonja's list methods: append and friends may not
// grow a list past the container weight limit. Methods get no render state,
// so the limit is the engine's.
func guardListMethods(set *exec.MethodSet[[]any], maxValue int) *exec.MethodSet[[]any] {
	limit := weightLimit(maxValue)
	out := map[string]exec.Method[[]any]{}
	for _, name := range []string{"append", "reverse", "copy", "extend", "insert", "pop", "remove", "index", "count", "clear", "sort"} {
		orig, ok := set.Get(name)
		if !ok {
			continue
		}
		name := name
		out[name] = func(self []any, sv *exec.Value, args *exec.VarArgs) (any, error) {
			switch name {
			case "append", "extend", "insert":
				n, err := weighGrowth(self, args, false, limit)
				if err != nil {
					return nil, err
				}
				if n > limit || len(self) >= maxListItems {
					return nil, newTplErr(ErrLimit, "%s: the list would be larger than %d bytes (or %d items) when written out", name, limit, maxListItems)
				}
				if err := refuseCycle(name, sv, args, false); err != nil {
					return nil, err
				}
			}
			return orig(self, sv, args)
		}
	}
	return exec.NewMethodSet(out)
}

// weighGrowth is what a container weighs once a growing method added its
// arguments (and, with kw, its keyword arguments and their names).
func weighGrowth(self any, args *exec.VarArgs, kw bool, limit int) (int, error) {
	n, err := weigh(nil, self, limit)
	if err != nil {
		return 0, err
	}
	for _, a := range args.Args {
		m, err := weigh(nil, unwrapValue(a), limit)
		if err != nil {
			return 0, err
		}
		n += m
	}
	if kw {
		for k, a := range args.KwArgs {
			m, err := weigh(nil, unwrapValue(a), limit)
			if err != nil {
				return 0, err
			}
			n += m + len(k)
		}
	}
	return n, nil
}

// refuseCycle refuses a method call that would make the container hold
// itself (checked in the arguments, and with kw in the keyword arguments).
func refuseCycle(name string, sv *exec.Value, args *exec.VarArgs, kw bool) error {
	target := containerAddress(sv)
	if target == nil {
		return nil
	}
	for _, a := range args.Args {
		if reaches(rawValue(a), target, 0) {
			return errCycle(name)
		}
	}
	if kw {
		for _, a := range args.KwArgs {
			if reaches(rawValue(a), target, 0) {
				return errCycle(name)
			}
		}
	}
	return nil
}

// guardDictMethods does the same for update and setdefault.
func guardDictMethods(set *exec.MethodSet[map[string]any], maxValue int) *exec.MethodSet[map[string]any] {
	limit := weightLimit(maxValue)
	out := map[string]exec.Method[map[string]any]{}
	for _, name := range []string{"keys", "values", "items", "get", "pop", "setdefault", "update", "copy", "clear", "popitem"} {
		orig, ok := set.Get(name)
		if !ok {
			continue
		}
		name := name
		out[name] = func(self map[string]any, sv *exec.Value, args *exec.VarArgs) (any, error) {
			switch name {
			case "update", "setdefault":
				n, err := weighGrowth(self, args, true, limit)
				if err != nil {
					return nil, err
				}
				if n > limit {
					return nil, newTplErr(ErrLimit, "%s: the mapping would be larger than %d bytes when written out", name, limit)
				}
				if err := refuseCycle(name, sv, args, true); err != nil {
					return nil, err
				}
			}
			return orig(self, sv, args)
		}
	}
	return exec.NewMethodSet(out)
}

// ---- literals: [..], (..) and {..} are weighed when they are built

// literalName is the global the rewriter routes list, tuple and dict
// literals through (see wrapLiteral); no template can spell it.
const literalName = "\x00literal"

// literalGuard receives a freshly built literal. gonja keeps an element that
// failed to evaluate as an error value inside the list ([1/0] would print
// null): that error is the result instead. And a literal may not weigh more
// than the container limit: [a, a, a, a] of a 4 MB list is 16 MB to print,
// and nesting such literals grows exponentially with the template's length.
func literalGuard(e *exec.Evaluator, params *exec.VarArgs) *exec.Value {
	if len(params.Args) != 1 {
		return errValue(newTplErr(ErrRuntime, "internal error: bad literal"))
	}
	v := params.Args[0]
	if vl, ok := unwrapValue(v).(exec.ValuesList); ok {
		for _, item := range vl {
			if item != nil && item.IsError() {
				return item
			}
		}
	}
	if st := renderStateOf(e); st != nil {
		if err := st.checkWeight(v, weightLimit(st.maxValue), "the list or mapping"); err != nil {
			return errValue(err)
		}
	}
	return shareResult(v) // lists.go: a list literal is a shared list
}

// wrapLiteral replaces a list, tuple or dict literal held in slot (an
// interface-typed field, slice element or map value of the parsed tree) by a
// call literalGuard(literal). It walks the literal first, so nested literals
// are wrapped too, and reports whether it replaced anything. set targets
// (rw.target > 0) are left alone: they are names, not values.
func (rw *rewriter) wrapLiteral(slot reflect.Value, set func(reflect.Value)) (done bool) {
	if rw.target > 0 || slot.Kind() != reflect.Interface || slot.IsNil() || !slot.Elem().CanInterface() && !slot.CanAddr() {
		return false
	}
	defer func() {
		if recover() != nil { // a slot reflect cannot write: the literal stays as it is (already walked)
			done = true
		}
	}()
	var loc *tokens.Token
	switch n := accessible(slot).Elem().Interface().(type) {
	case *nodes.List:
		loc = n.Location
	case *nodes.Tuple:
		loc = n.Location
	case *nodes.Dict:
		loc = n.Token
	default:
		return false
	}
	lit := accessible(slot).Elem()
	rw.walk(lit)
	tok := *tokenOr(loc)
	tok.Type, tok.Val = tokens.Name, literalName
	call := &nodes.Call{Location: loc, Func: &nodes.Name{Name: &tok},
		Args: []nodes.Expression{lit.Interface().(nodes.Expression)}, Kwargs: map[string]nodes.Expression{}}
	cv := reflect.ValueOf(call)
	if !cv.Type().Implements(slot.Type()) {
		return false
	}
	set(cv)
	return true
}

// isAssignTarget names the fields of gonja's nodes that hold what a tag
// assigns to rather than a value.
func isAssignTarget(field string) bool {
	switch field {
	case "target", "Target", "targets", "Targets":
		return true
	}
	return false
}

// guardGlobal bounds dict(...) and namespace(...): their keyword arguments
// together may not weigh more than the container limit.
func guardGlobal(f any) any {
	check := func(e *exec.Evaluator, params *exec.VarArgs) error {
		st := renderStateOf(e)
		if st == nil {
			return nil
		}
		limit := weightLimit(st.maxValue)
		total := 0
		for _, group := range [][]*exec.Value{params.Args, mapValues(params.KwArgs)} {
			for _, a := range group {
				n, err := weigh(st, unwrapValue(a), limit-total)
				if err != nil {
					return err
				}
				total += n
				if total > limit {
					return newTplErr(ErrLimit, "the mapping would be larger than %d bytes when written out", limit)
				}
			}
		}
		// A list literal written as a keyword argument (namespace(items=[]))
		// is not rewritten to literalGuard (a map value has no slot to
		// write): share it here, so it is one list under every name.
		for k, a := range params.KwArgs {
			params.KwArgs[k] = shareResult(a)
		}
		for i, a := range params.Args {
			params.Args[i] = shareResult(a)
		}
		return nil
	}
	switch fn := f.(type) {
	case func(*exec.Evaluator, *exec.VarArgs) *exec.Value:
		return func(e *exec.Evaluator, params *exec.VarArgs) *exec.Value {
			if err := check(e, params); err != nil {
				return errValue(err)
			}
			return fn(e, params)
		}
	case func(*exec.Evaluator, *exec.VarArgs) map[string]any:
		return func(e *exec.Evaluator, params *exec.VarArgs) *exec.Value {
			if err := check(e, params); err != nil {
				return errValue(err)
			}
			return exec.AsValue(fn(e, params))
		}
	}
	return f
}

func mapValues(m map[string]*exec.Value) []*exec.Value {
	out := make([]*exec.Value, 0, len(m))
	for _, v := range m {
		out = append(out, v)
	}
	return out
}

// heavyAssignment is the weight from which {% set obj.attr = value %} weighs
// the whole object afterwards: cheap for counters and flags, and a template
// of 256 KiB fans out at most some 15 000 such tags of up to this size
// (15 MB) unchecked.
const heavyAssignment = 1 << 10

// afterSet bounds objects that grow by {% set ns.attr = value %}: once a
// heavy value was stored, the object (namespace, dict) it went into is weighed.
func (st *renderState) afterSet(r *exec.Renderer, cs any) error {
	rv := reflect.ValueOf(cs)
	if rv.Kind() != reflect.Pointer || rv.Elem().Kind() != reflect.Struct {
		return nil
	}
	f := rv.Elem().FieldByName("target")
	if !f.IsValid() || f.Kind() != reflect.Interface || f.IsNil() {
		return nil
	}
	ga, ok := accessible(f).Interface().(*nodes.GetAttribute)
	if !ok {
		return nil
	}
	v := r.Eval(ga)
	if v == nil || v.IsError() {
		return nil
	}
	if n, err := weigh(st, unwrapValue(v), heavyAssignment); err != nil || n <= heavyAssignment {
		return err
	}
	// A map changed in place: remembered weights may be stale (light
	// assignments change them by less than heavyAssignment each).
	st.weights = nil
	obj := r.Eval(ga.Node)
	if obj == nil || obj.IsError() {
		return nil
	}
	return st.checkWeight(obj, weightLimit(st.maxValue), "the namespace or mapping")
}

// ---- compile: gonja's parser is superlinear in the nesting of block tags
// (25 000 unclosed {% if %} take seconds and go on after compileBounded
// gave up), so the lexer pass refuses deep nesting before the parser runs.

// maxTagNesting is how deep block tags may nest; the rewriter would refuse
// deeper trees (maxTreeDepth) anyway, after the parser paid for them.
const maxTagNesting = 100

var blockOpeners = map[string]bool{"if": true, "for": true, "macro": true, "call": true, "filter": true,
	"with": true, "block": true, "autoescape": true, "raw": true}

// tagNesting counts open block tags while scanTokens walks the tokens.
type tagNesting struct {
	depth int
	open  bool // the previous token was {%
}

func (n *tagNesting) see(t *tokens.Token) *lexError {
	wasOpen := n.open
	n.open = t.Type == tokens.BlockBegin
	if !wasOpen || t.Type != tokens.Name {
		return nil
	}
	switch {
	case strings.HasPrefix(t.Val, "end") && blockOpeners[t.Val[3:]]: // not endset: set is not counted
		if n.depth > 0 {
			n.depth--
		}
	case blockOpeners[t.Val]:
		n.depth++
		if n.depth > maxTagNesting {
			return &lexError{msg: fmt.Sprintf("tags are nested more than %d deep (missing {%% end… %%}?)", maxTagNesting), pos: t.Pos}
		}
	}
	return nil
}

// ---- iteration: refused before gonja expands the iterable

// iterName is the global the rewriter routes every {% for %} iterable
// through (see guardFor).
const iterName = "\x00iter"

// itemCount is how many items iterating v yields, without building them.
func itemCount(v *exec.Value) int {
	switch x := unwrapValue(v).(type) {
	case nil:
		return 0
	case string:
		return utf8.RuneCountInString(x)
	case *exec.Dict:
		return len(x.Pairs)
	case *[]any:
		return len(*x)
	}
	rv := reflect.ValueOf(unwrapValue(v))
	switch rv.Kind() {
	case reflect.Slice, reflect.Array, reflect.Map:
		return rv.Len()
	case reflect.String:
		return utf8.RuneCountInString(rv.String())
	}
	return 0
}

// iterGuard receives a loop's iterable: gonja turns it into one value per
// item before the first iteration (a 1 MB string is a million values, some
// 200 MB), so a loop that could not finish within the step limit is refused
// before it starts.
func iterGuard(e *exec.Evaluator, params *exec.VarArgs) *exec.Value {
	if len(params.Args) != 1 {
		return errValue(newTplErr(ErrRuntime, "internal error: bad loop"))
	}
	v := params.Args[0]
	if st := renderStateOf(e); st != nil {
		if err := st.alive(); err != nil {
			return errValue(err)
		}
		n := itemCount(v)
		if n > maxListItems {
			return errValue(newTplErr(ErrLimit, "the loop would run %d times, over the limit of %d", n, maxListItems))
		}
		if st.steps+n > maxSteps {
			return errValue(newTplErr(ErrLimit, "the loop would run %d times; after the %d steps already run, that passes the limit of %d steps (loops too long?)", n, st.steps, maxSteps))
		}
	}
	return v
}

// guardFor routes a {% for %}'s iterable through iterGuard.
func (rw *rewriter) guardFor(x any) {
	fc, ok := x.(*controlStructures.ForControlStructure)
	if !ok || fc.ObjectEvaluator == nil {
		return
	}
	loc := safePosition(fc.ObjectEvaluator)
	tok := *tokenOr(loc)
	tok.Type, tok.Val = tokens.Name, iterName
	fc.ObjectEvaluator = &nodes.Call{Location: loc, Func: &nodes.Name{Name: &tok},
		Args: []nodes.Expression{fc.ObjectEvaluator}, Kwargs: map[string]nodes.Expression{}}
}

// iteratingFilters build one value per item of their input: a string is
// split into characters first. Inputs with more items than a list may have
// are refused before that.
var iteratingFilters = map[string]bool{
	"list": true, "batch": true, "slice": true, "map": true, "select": true, "reject": true,
	"selectattr": true, "rejectattr": true, "sort": true, "unique": true, "groupby": true,
	"dictsort": true, "items": true, "sum": true, "min": true, "max": true, "join": true, "reverse": true,
}

func (st *renderState) checkIteration(name string, in *exec.Value) error {
	if !iteratingFilters[name] || in == nil {
		return nil
	}
	if n := itemCount(in); n > maxListItems {
		return newTplErr(ErrLimit, "%s: the value has %d items, over the limit of %d", name, n, maxListItems)
	}
	return nil
}

// checkSplit refuses str.split / rsplit / splitlines that would return more
// items than a list may have.
func checkSplit(name, self string, args *exec.VarArgs) error {
	n := 0
	switch name {
	case "splitlines":
		n = strings.Count(self, "\n") + strings.Count(self, "\r")
	default:
		sep := ""
		if len(args.Args) > 0 && args.Args[0].IsString() {
			sep = args.Args[0].String()
		}
		if sep == "" {
			n = len(strings.Fields(self)) // split() on whitespace; Fields is what it costs anyway
			if n <= maxListItems {
				return nil
			}
		} else {
			n = strings.Count(self, sep)
		}
	}
	if n > maxListItems {
		return newTplErr(ErrLimit, "%s: the result would have %d items, over the limit of %d", name, n, maxListItems)
	}
	return nil
}

// ---- tests: select/reject/selectattr call a test per item, and some tests
// (in) scan a list: every test call checks that the render is still wanted,
// so range(100000) | select("in", big_list) stops at the deadline instead of
// running on for minutes behind the answer.

// gonjaTests are the tests gonja v2.9.1 ships (TestSet cannot list them).
var gonjaTests = []string{"boolean", "callable", "defined", "divisibleby", "eq", "equalto", "escaped", "even",
	"false", "filter", "float", "ge", "gt", "greaterthan", "in", "integer", "iterable", "le", "lower", "lt",
	"lessthan", "mapping", "ne", "none", "number", "odd", "sameas", "sequence", "string", "test", "true",
	"undefined", "upper"}

type evalTest = func(*exec.Evaluator, *exec.Value, *exec.VarArgs) (bool, error)
type ctxTest = func(*exec.Context, *exec.Value, *exec.VarArgs) (bool, error)

// guardTests copies set with every known test wrapped in a liveness check.
func guardTests(set *exec.TestSet) *exec.TestSet {
	out := map[string]exec.TestFunction{}
	for _, name := range gonjaTests {
		f, ok := set.Get(name)
		if !ok {
			continue
		}
		var call evalTest
		switch fn := f.(type) {
		case evalTest:
			call = fn
		case ctxTest:
			call = func(e *exec.Evaluator, in *exec.Value, p *exec.VarArgs) (bool, error) {
				return fn(e.Environment.Context, in, p)
			}
		default:
			out[name] = f
			continue
		}
		out[name] = func(e *exec.Evaluator, in *exec.Value, p *exec.VarArgs) (bool, error) {
			if err := renderStateOf(e).alive(); err != nil {
				return false, err
			}
			return call(e, in, p)
		}
	}
	return exec.NewTestSet(map[string]exec.TestFunction{}).Update(set).Update(exec.NewTestSet(out))
}
