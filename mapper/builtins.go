package mapper

import (
	"fmt"
	"math"
	"sort"
	"strings"

	"github.com/nikolalohinski/gonja/v2/builtins"
	"github.com/nikolalohinski/gonja/v2/exec"
	"github.com/nikolalohinski/gonja/v2/parser"
)

// newEnvironment builds the one gonja environment an Engine uses. Every set is
// a private copy, so nothing we add or replace touches gonja's package globals.
func newEnvironment(maxValue int) *exec.Environment {
	filters := exec.NewFilterSet(map[string]exec.FilterFunction{}).Update(builtins.Filters)
	ours := map[string]exec.FilterFunction{
		"tojson":  filterToJSON,
		"join":    filterJoin,
		"replace": filterReplace,
		"string":  filterString,
		"upper":   filterCase(strings.ToUpper),
		"lower":   filterCase(strings.ToLower),
		"date":    filterDate,
		"center":  filterSized(builtins.Filters, "center", 0, "width"),
		"slice":   filterSized(builtins.Filters, "slice", 0, "slices"),
		"batch":   filterSized(builtins.Filters, "batch", 0, "linecount"),
		"indent":  filterIndent(builtins.Filters),
		"format":  filterFormat,
	}
	for name, f := range compatFilters() {
		ours[name] = f
	}
	for name, f := range ours {
		if filters.Exists(name) {
			_ = filters.Replace(name, f)
		} else {
			_ = filters.Register(name, f)
		}
	}
	// Every filter's result is size-checked and charged to the render budget.
	all := map[string]exec.FilterFunction{}
	for _, name := range filterNames(filters) {
		f, _ := filters.Get(name)
		all[name] = checkedFilter(name, f)
	}

	globals := map[string]any{
		"range":     rangeFunc,
		"lookups":   lookupsFunc,
		binopName:   binop,
		literalName: literalGuard, // budget.go
		iterName:    iterGuard,    // budget.go
	}
	for _, name := range []string{"dict", "cycler", "joiner", "namespace", "_", "gettext", "ngettext"} {
		if f, ok := builtins.GlobalFunctions.Get(name); ok {
			if name == "dict" {
				f = dictFunc // compat_filters.go: keeps a mapping's and the keywords' order
			}
			globals[name] = guardGlobal(f) // budget.go: dict/namespace weighed
		}
	}

	methods := builtins.Methods
	methods.Str = strMethods(maxValue)
	methods.List = shareMethods(guardListMethods(sharedListMethods(listMethods(builtins.Methods.List)), maxValue), listMethodNames) // budget.go: growth weighed; lists.go: copy() is a shared list
	methods.Dict = shareMethods(guardDictMethods(dictMethods(builtins.Methods.Dict), maxValue), dictMethodNames)

	controls := exec.NewControlStructureSet(map[string]parser.ControlStructureParser{}).Update(builtins.ControlStructures)
	for name, wrap := range map[string]func(parser.ControlStructureParser) parser.ControlStructureParser{
		"set": setParser, "for": forParser, "call": callParser,
	} {
		if orig, ok := controls.Get(name); ok {
			_ = controls.Replace(name, wrap(orig))
		}
	}
	tests := exec.NewTestSet(map[string]exec.TestFunction{}).Update(builtins.Tests)
	for name, f := range ourTests() {
		_ = tests.Replace(name, f)
	}

	return &exec.Environment{
		Filters:           exec.NewFilterSet(all),
		Tests:             guardTests(tests), // budget.go: every test call checks the deadline
		ControlStructures: controls,
		Context:           exec.NewContext(globals),
		Methods:           methods,
		MethodWriteBack:   methodWriteBack, // reads.go
	}
}

// gonja's FilterSet cannot list its names; these are the ones gonja v2.9.1
// ships plus ours (a test checks the list still matches).
var knownFilters = []string{
	"abs", "attr", "batch", "capitalize", "center", "default", "d", "dictsort", "e", "escape",
	"filesizeformat", "first", "float", "forceescape", "format", "groupby", "indent", "int", "join",
	"items", "last", "length", "count", "list", "lower", "map", "max", "min", "pprint", "random",
	"rejectattr", "reject", "replace", "reverse", "round", "safe", "selectattr", "select", "slice",
	"sort", "string", "striptags", "sum", "title", "tojson", "trim", "truncate", "unique", "upper",
	"urlencode", "urlize", "wordcount", "wordwrap", "xmlattr", "date",
}

func filterNames(fs *exec.FilterSet) []string {
	var out []string
	for _, n := range knownFilters {
		if fs.Exists(n) {
			out = append(out, n)
		}
	}
	return out
}

func renderStateOf(e *exec.Evaluator) *renderState {
	if e == nil || e.Environment == nil || e.Environment.Context == nil {
		return nil
	}
	return stateOfContext(e.Environment.Context)
}

func errValue(err error) *exec.Value { return exec.AsValue(err) }

// checkedFilter bounds a filter before it runs (argument weights, its own
// guard) and after (result size and weight); see budget.go.
func checkedFilter(name string, f exec.FilterFunction) exec.FilterFunction {
	return func(e *exec.Evaluator, in *exec.Value, params *exec.VarArgs) *exec.Value {
		st := renderStateOf(e)
		if err := st.preFilter(name, in, params); err != nil {
			return errValue(err)
		}
		out := f(e, in, params)
		if err := st.postFilter(name, out); err != nil {
			return errValue(err)
		}
		return shareResult(out) // lists.go
	}
}

func argOrKw(params *exec.VarArgs, i int, name string) (*exec.Value, bool) {
	if v, ok := params.KwArgs[name]; ok {
		return v, true
	}
	if i < len(params.Args) {
		return params.Args[i], true
	}
	return nil, false
}

func textOf(v *exec.Value) string {
	s, _ := textString(unwrapValue(v))
	return s
}

// filterToJSON is Jinja2's tojson (see pyJSON): the result is safe, written
// as it is in every format.
func filterToJSON(e *exec.Evaluator, in *exec.Value, params *exec.VarArgs) *exec.Value {
	if in.IsError() {
		return in
	}
	indent := -1
	if ind, ok := argOrKw(params, 0, "indent"); ok && !ind.IsNil() {
		indent = ind.Integer()
		if indent < 0 || indent > 16 {
			return errValue(newTplErr(ErrRuntime, "tojson: indent must be between 0 and 16"))
		}
	}
	j := &pyJSON{indent: indent, limit: math.MaxInt}
	st := renderStateOf(e)
	if st != nil {
		j.limit = st.maxValue
	}
	if err := j.value(unwrapValue(in), 0); err != nil {
		return errValue(err)
	}
	if st != nil {
		if err := st.charge(len(j.b)); err != nil {
			return errValue(err)
		}
	}
	return exec.AsSafeValue(string(j.b))
}

// attrOf resolves "a.b.0" style attribute paths as Jinja's attribute= does.
func attrOf(v *exec.Value, path string) *exec.Value {
	for _, part := range strings.Split(path, ".") {
		if v == nil || v.IsNil() {
			return exec.AsValue(nil)
		}
		next, ok := v.GetItem(part)
		if !ok {
			next, ok = v.GetAttribute(part)
		}
		if !ok || next.IsError() {
			return exec.AsValue(nil)
		}
		v = next
	}
	return v
}

func filterJoin(e *exec.Evaluator, in *exec.Value, params *exec.VarArgs) *exec.Value {
	if in.IsError() {
		return in
	}
	sep := ""
	if d, ok := argOrKw(params, 0, "d"); ok {
		sep = textOf(d)
	}
	attr := ""
	if a, ok := argOrKw(params, 1, "attribute"); ok && !a.IsNil() {
		attr = textOf(a)
	}
	if in.IsNil() {
		return exec.AsValue("")
	}
	if in.IsString() {
		in = exec.AsValue(strings.Split(in.String(), ""))
	}
	if !in.IsList() {
		return errValue(newTplErr(ErrRuntime, "join: the value is not a list"))
	}
	limit := math.MaxInt
	if st := renderStateOf(e); st != nil {
		limit = st.maxValue
	}
	var b strings.Builder
	var err error
	in.Iterate(func(idx, _ int, item, _ *exec.Value) bool {
		if attr != "" {
			item = attrOf(item, attr)
		}
		s := textOf(item)
		if b.Len()+len(sep)+len(s) > limit {
			err = newTplErr(ErrLimit, "join: the result is larger than %d bytes", limit)
			return false
		}
		if idx > 0 {
			b.WriteString(sep)
		}
		b.WriteString(s)
		return true
	}, func() {})
	if err != nil {
		return errValue(err)
	}
	return exec.AsValue(b.String())
}

func filterReplace(e *exec.Evaluator, in *exec.Value, params *exec.VarArgs) *exec.Value {
	if in.IsError() {
		return in
	}
	oldV, ok1 := argOrKw(params, 0, "old")
	newV, ok2 := argOrKw(params, 1, "new")
	if !ok1 || !ok2 {
		return errValue(newTplErr(ErrRuntime, "replace needs two arguments: replace(old, new)"))
	}
	s, old, repl := textOf(in), textOf(oldV), textOf(newV)
	n := -1
	if c, ok := argOrKw(params, 2, "count"); ok && !c.IsNil() {
		n = c.Integer()
	}
	count := strings.Count(s, old)
	if n >= 0 && n < count {
		count = n
	}
	if st := renderStateOf(e); st != nil {
		size := len(s) + count*(len(repl)-len(old))
		if count > 0 && len(repl) > len(old) && (size > st.maxValue || count > st.maxValue) {
			return errValue(newTplErr(ErrLimit, "replace: the result is larger than %d bytes", st.maxValue))
		}
	}
	return exec.AsValue(strings.Replace(s, old, repl, n))
}

// filterString is the text form of a value; a list or mapping whose text
// would exceed the string limit is refused before its text is built.
func filterString(e *exec.Evaluator, in *exec.Value, _ *exec.VarArgs) *exec.Value {
	if in.IsError() {
		return in
	}
	if st := renderStateOf(e); st != nil && (in.IsList() || in.IsDict()) {
		if n := textSizeAtLeast(unwrapValue(in), st.maxValue, 0); n > st.maxValue {
			return errValue(newTplErr(ErrLimit, "string: the text of this value is larger than %d bytes", st.maxValue))
		}
	}
	return exec.AsValue(textOf(in))
}

func filterCase(f func(string) string) exec.FilterFunction {
	return func(_ *exec.Evaluator, in *exec.Value, _ *exec.VarArgs) *exec.Value {
		if in.IsError() {
			return in
		}
		return exec.AsValue(f(textOf(in)))
	}
}

// filterSized refuses a size argument that would make gonja allocate without
// bound before any other check could run.
func filterSized(set *exec.FilterSet, name string, arg int, kw string) exec.FilterFunction {
	orig, _ := set.Get(name)
	return func(e *exec.Evaluator, in *exec.Value, params *exec.VarArgs) *exec.Value {
		if v, ok := argOrKw(params, arg, kw); ok {
			if n := v.Integer(); n > maxListItems || n < -maxListItems {
				return errValue(newTplErr(ErrLimit, "%s: %s %d is over the limit of %d", name, kw, n, maxListItems))
			}
		}
		return orig(e, in, params)
	}
}

func filterIndent(set *exec.FilterSet) exec.FilterFunction {
	orig, _ := set.Get("indent")
	return func(e *exec.Evaluator, in *exec.Value, params *exec.VarArgs) *exec.Value {
		width := 4
		if v, ok := argOrKw(params, 0, "width"); ok {
			if v.IsString() {
				width = len(v.String())
			} else {
				width = v.Integer()
			}
		}
		if st := renderStateOf(e); st != nil && width > 0 {
			lines := strings.Count(in.String(), "\n") + 1
			if width > st.maxValue || lines*width > st.maxValue-len(in.String()) {
				return errValue(newTplErr(ErrLimit, "indent: the result is larger than %d bytes", st.maxValue))
			}
		}
		return orig(e, in, params)
	}
}

// rangeFunc is Python's range() with a length cap; gonja's own streams through
// a goroutine that leaks when a loop stops early.
func rangeFunc(e *exec.Evaluator, params *exec.VarArgs) *exec.Value {
	var a [3]int
	n := len(params.Args)
	if n < 1 || n > 3 || len(params.KwArgs) > 0 {
		return errValue(newTplErr(ErrRuntime, "range expects range([start, ]stop[, step]) with integers"))
	}
	for i, v := range params.Args {
		if !v.IsInteger() {
			return errValue(newTplErr(ErrRuntime, "range expects integers"))
		}
		a[i] = v.Integer()
	}
	start, stop, step := 0, a[0], 1
	if n >= 2 {
		start, stop = a[0], a[1]
	}
	if n == 3 {
		step = a[2]
	}
	if step == 0 {
		return errValue(newTplErr(ErrRuntime, "range step cannot be zero"))
	}
	count := 0.0
	if step > 0 && stop > start {
		count = math.Ceil((float64(stop) - float64(start)) / float64(step))
	} else if step < 0 && stop < start {
		count = math.Ceil((float64(start) - float64(stop)) / -float64(step))
	}
	if count > maxRangeItems {
		return errValue(newTplErr(ErrLimit, "range of %.0f items is over the limit of %d", count, maxRangeItems))
	}
	if st := renderStateOf(e); st != nil {
		// Iterating the range is the only reason to build it: count its items
		// as steps now, so nested big ranges hit the step limit early.
		st.steps += int(count)
		if err := st.step(); err != nil {
			return errValue(err)
		}
		if err := st.charge(8 * int(count)); err != nil {
			return errValue(err)
		}
	}
	out := make([]int, 0, int(count))
	for i := start; (step > 0 && i < stop) || (step < 0 && i > stop); i += step {
		out = append(out, i)
	}
	return exec.AsValue(out)
}

// lookupsFunc implements lookups({"<lookup name>": value, ...}, strict=False, default="").
// The first pair whose table has a row for its value wins. When none maps:
// strict raises an ErrLookup naming the lookups and values; otherwise the first
// table Default that is set is returned, else the default argument.
func lookupsFunc(e *exec.Evaluator, params *exec.VarArgs) *exec.Value {
	st := renderStateOf(e)
	var tables Lookups
	if st != nil {
		tables = st.lookups
	}
	if len(params.Args) < 1 || len(params.Args) > 3 {
		return errValue(newTplErr(ErrRuntime, `lookups expects lookups({"<lookup name>": value}, strict=False, default="")`))
	}
	strict := false
	if v, ok := argOrKw(params, 1, "strict"); ok {
		strict = v.IsTrue()
	}
	def := ""
	if v, ok := argOrKw(params, 2, "default"); ok {
		def = textOf(v)
	}
	for k := range params.KwArgs {
		if k != "strict" && k != "default" {
			return errValue(newTplErr(ErrRuntime, "lookups has no argument named %q", k))
		}
	}
	pairs, err := orderedPairs(params.Args[0])
	if err != nil {
		return errValue(err)
	}
	if len(pairs) == 0 {
		return errValue(newTplErr(ErrRuntime, `lookups needs at least one {"<lookup name>": value} pair`))
	}
	for _, p := range pairs {
		if _, ok := tables[p.name]; !ok {
			return errValue(newTplErr(ErrLookup, "there is no lookup named %q for this customer", p.name))
		}
	}
	for _, p := range pairs {
		if v, ok := tables[p.name].Rows[p.value]; ok {
			return exec.AsValue(v)
		}
	}
	if strict {
		parts := make([]string, len(pairs))
		for i, p := range pairs {
			parts[i] = fmt.Sprintf("lookup %q has no entry for %q", p.name, clip(p.value, 80))
		}
		return errValue(newTplErr(ErrLookup, "%s", strings.Join(parts, "; ")))
	}
	for _, p := range pairs {
		if d := tables[p.name].Default; d != "" {
			return exec.AsValue(d)
		}
	}
	return exec.AsValue(def)
}

type namedValue struct{ name, value string }

// orderedPairs reads a mapping argument; dict literals keep their written order.
func orderedPairs(v *exec.Value) ([]namedValue, error) {
	switch m := unwrapValue(v).(type) {
	case *exec.Dict:
		out := make([]namedValue, 0, len(m.Pairs))
		for _, p := range m.Pairs {
			out = append(out, namedValue{textOf(p.Key), textOf(p.Value)})
		}
		return out, nil
	case map[string]any:
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		out := make([]namedValue, 0, len(keys))
		for _, k := range keys {
			s, _ := textString(m[k])
			out = append(out, namedValue{k, s})
		}
		return out, nil
	}
	return nil, newTplErr(ErrRuntime, `lookups expects a mapping like {"<lookup name>": value}`)
}

// strMethods copies gonja's string methods, guarding the ones whose
// arguments decide how much they allocate, and capping every result.
func strMethods(maxValue int) *exec.MethodSet[string] {
	names := []string{
		"capitalize", "capwords", "casefold", "center", "count", "encode", "endswith", "expandtabs",
		"find", "format", "format_map", "isalnum", "isalpha", "isascii", "isdecimal", "isdigit",
		"islower", "isnumeric", "isprintable", "isspace", "istitle", "isupper", "join", "ljust",
		"lower", "lstrip", "partition", "removeprefix", "removesuffix", "replace", "rfind", "rjust",
		"rpartition", "rsplit", "rstrip", "split", "splitlines", "startswith", "strip", "swapcase",
		"title", "upper", "zfill",
	}
	tooBig := func(name string) error {
		return newTplErr(ErrLimit, "%s: the result would be larger than %d bytes", name, maxValue)
	}
	set := map[string]exec.Method[string]{}
	ours := pyStrMethods(maxValue)
	for _, name := range names {
		orig, ok := ours[name]
		if !ok {
			orig, ok = builtins.Methods.Str.Get(name)
		}
		if !ok {
			continue
		}
		set[name] = func(self string, sv *exec.Value, args *exec.VarArgs) (any, error) {
			switch name {
			case "center", "ljust", "rjust", "zfill":
				if w, ok := argOrKw(args, 0, "width"); ok && w.Integer() > maxValue {
					return nil, tooBig(name)
				}
			case "expandtabs":
				for _, a := range args.Args {
					if a.Integer() > 64 {
						return nil, tooBig(name)
					}
				}
			case "replace":
				if len(args.Args) >= 2 {
					old, repl := textOf(args.Args[0]), textOf(args.Args[1])
					n := strings.Count(self, old)
					if len(repl) > len(old) && (n > maxValue || len(self)+n*(len(repl)-len(old)) > maxValue) {
						return nil, tooBig(name)
					}
				}
			case "join":
				if len(args.Args) == 1 && args.Args[0].IsList() {
					total := 0
					args.Args[0].Iterate(func(_, _ int, item, _ *exec.Value) bool {
						total += len(self) + len(textOf(item))
						return total <= maxValue
					}, func() {})
					if total > maxValue {
						return nil, tooBig(name)
					}
				}
			case "split", "rsplit", "splitlines":
				if err := checkSplit(name, self, args); err != nil {
					return nil, err
				}
			case "format", "format_map":
				if err := checkBraceFormat(name, self, args.Args, args.KwArgs, maxValue); err != nil {
					return nil, err
				}
			}
			out, err := orig(self, sv, args)
			if s, ok := out.(string); ok && len(s) > maxValue {
				return nil, tooBig(name)
			}
			if err == nil && out != nil {
				out = shareValue(out, 0) // lists.go: split's list is shared
			}
			return out, err
		}
	}
	return exec.NewMethodSet(set)
}
