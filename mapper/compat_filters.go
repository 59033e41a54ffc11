package mapper

import (
	"html"
	"math"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/nikolalohinski/gonja/v2/builtins"
	"github.com/nikolalohinski/gonja/v2/exec"
)

// Filters and tests whose gonja versions answer differently from Jinja2's
// (each found by the differential test, testdata/jinja2_corpus.json).

func compatFilters() map[string]exec.FilterFunction {
	return map[string]exec.FilterFunction{
		"reverse":   filterReverse,
		"urlencode": filterURLEncode,
		"wordwrap":  filterWordwrap,
		"round":     filterRound,
		"sum":       filterSum,
		"max":       filterMinMax(true),
		"min":       filterMinMax(false),
		"items":     filterItems,
		"center":    filterCenter,
		"dictsort":  filterDictSort,
		"default":   filterDefault,
		"striptags": filterStriptags,
		"wordcount": filterWordcount,
		"int":       filterIntCompat(builtinFilter("int")),
		"length":    filterLengthCompat(builtinFilter("length")),
		"count":     filterLengthCompat(builtinFilter("count")),
		"d":         filterDefault,
		"select":    filterItemTest(builtinFilter("select")),
		"reject":    filterItemTest(builtinFilter("reject")),
	}
}

// dictFunc is Python's dict(mapping_or_pairs=(), **kwargs) as a dict that
// keeps its order: the mapping's (or the pairs') first, then the keyword
// arguments as written (kwargOrder). gonja's ignored the mapping and
// ordered the keywords at random.
func dictFunc(_ *exec.Evaluator, params *exec.VarArgs) *exec.Value {
	d := exec.NewDict()
	set := func(k, v *exec.Value) {
		for _, p := range d.Pairs {
			if p.Key.EqualValueTo(k) {
				p.Value = v
				return
			}
		}
		d.Pairs = append(d.Pairs, &exec.Pair{Key: k, Value: v})
	}
	if len(params.Args) > 1 {
		return errValue(newTplErr(ErrRuntime, "dict expects at most 1 positional argument, got %d", len(params.Args)))
	}
	if len(params.Args) == 1 {
		src := params.Args[0]
		switch {
		case src.IsDict():
			for _, p := range dictPairs(src) {
				set(p[0], p[1])
			}
		case src.IsList():
			for _, item := range listItems(src) {
				kv := listItems(item)
				if !item.IsList() || len(kv) != 2 {
					return errValue(newTplErr(ErrRuntime, "dict: each item must be a pair (key, value)"))
				}
				set(kv[0], kv[1])
			}
		default:
			return errValue(newTplErr(ErrRuntime, "dict: a %s is not a mapping", typeName(src)))
		}
	}
	var names []string
	if o, ok := params.KwArgs[orderKwarg]; ok {
		for _, n := range listItems(o) {
			names = append(names, n.String())
		}
	} else {
		for k := range params.KwArgs {
			names = append(names, k)
		}
		sort.Strings(names)
	}
	for _, k := range names {
		if v, ok := params.KwArgs[k]; ok {
			set(exec.AsValue(k), v)
		}
	}
	return exec.AsValue(d)
}

// filterItemTest runs select/reject telling the defined/undefined tests that
// they test items of a list: an item is defined, none included (gonja has
// no undefined value to put in a list), as in Jinja2.
func filterItemTest(orig exec.FilterFunction) exec.FilterFunction {
	return func(e *exec.Evaluator, in *exec.Value, params *exec.VarArgs) *exec.Value {
		if len(params.Args) > 0 && params.Args[0].IsString() {
			switch params.Args[0].String() {
			case "defined", "undefined":
				kw := make(map[string]*exec.Value, len(params.KwArgs)+1)
				for k, v := range params.KwArgs {
					kw[k] = v
				}
				kw[itemKwarg] = exec.AsValue(true)
				params = &exec.VarArgs{Args: params.Args, KwArgs: kw}
			}
		}
		return orig(e, in, params)
	}
}

func builtinFilter(name string) exec.FilterFunction {
	f, _ := builtins.Filters.Get(name)
	return f
}

func ourTests() map[string]exec.TestFunction {
	tests := undefinedTests()
	for name, f := range map[string]exec.TestFunction{
		// Jinja2: anything with a length and items: strings, lists, mappings.
		"sequence": func(_ *exec.Context, in *exec.Value, _ *exec.VarArgs) (bool, error) {
			return in.IsString() || in.IsList() || in.IsDict(), nil
		},
	} {
		tests[name] = f
	}
	return tests
}

// filterReverse reverses a string or a list. gonja's sorted the list
// descending instead.
func filterReverse(_ *exec.Evaluator, in *exec.Value, _ *exec.VarArgs) *exec.Value {
	if in.IsError() {
		return in
	}
	if in.IsString() {
		r := []rune(in.String())
		for i, j := 0, len(r)-1; i < j; i, j = i+1, j-1 {
			r[i], r[j] = r[j], r[i]
		}
		return exec.AsValue(string(r))
	}
	if !in.IsList() && !in.IsDict() {
		return errValue(newTplErr(ErrRuntime, "reverse: a %s cannot be reversed", typeName(in)))
	}
	items := listItems(in)
	out := make([]any, len(items))
	for i, v := range items {
		out[len(items)-1-i] = v.Interface()
	}
	return exec.AsValue(out)
}

// urlQuote is Python's urllib.parse.quote: letters, digits and "_.-~" stay,
// plus the safe set; every other byte is %XX; with plus, spaces become "+".
func urlQuote(s, safe string, plus bool) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', strings.IndexByte("_.-~", c) >= 0,
			strings.IndexByte(safe, c) >= 0:
			b.WriteByte(c)
		case plus && c == ' ':
			b.WriteByte('+')
		default:
			b.WriteByte('%')
			b.WriteByte(hex[c>>4])
			b.WriteByte(hex[c&15])
		}
	}
	return b.String()
}

// filterURLEncode is Jinja2's urlencode: a string is quoted keeping "/"; a
// mapping or a list of pairs becomes a query string (k=v&..., spaces as "+").
func filterURLEncode(e *exec.Evaluator, in *exec.Value, _ *exec.VarArgs) *exec.Value {
	if in.IsError() {
		return in
	}
	limit := math.MaxInt
	if st := renderStateOf(e); st != nil {
		limit = st.maxValue
	}
	if !in.IsDict() && !in.IsList() {
		s := textOf(in)
		if 3*len(s) > limit { // the largest the quoted text can be
			return errValue(newTplErr(ErrLimit, "urlencode: the result would be larger than %d bytes", limit))
		}
		return exec.AsValue(urlQuote(s, "/", false))
	}
	var parts []string
	size := 0
	var err error
	add := func(k, v *exec.Value) bool {
		p := urlQuote(textOf(k), "", true) + "=" + urlQuote(textOf(v), "", true)
		size += len(p) + 1
		if size > limit {
			err = newTplErr(ErrLimit, "urlencode: the result would be larger than %d bytes", limit)
			return false
		}
		parts = append(parts, p)
		return true
	}
	if in.IsDict() {
		for _, p := range dictPairs(in) {
			if !add(p[0], p[1]) {
				break
			}
		}
	} else {
		in.Iterate(func(_, _ int, item, _ *exec.Value) bool {
			if !item.IsList() || item.Len() != 2 {
				err = newTplErr(ErrRuntime, "urlencode: a list must hold (key, value) pairs")
				return false
			}
			return add(item.Index(0), item.Index(1))
		}, func() {})
	}
	if err != nil {
		return errValue(err)
	}
	return exec.AsValue(strings.Join(parts, "&"))
}

// dictPairs lists a mapping's pairs: dict literals in written order, other
// mappings by key.
func dictPairs(v *exec.Value) [][2]*exec.Value {
	var out [][2]*exec.Value
	if d, ok := unwrapValue(v).(*exec.Dict); ok {
		for _, p := range d.Pairs {
			out = append(out, [2]*exec.Value{p.Key, p.Value})
		}
		return out
	}
	v.Iterate(func(_, _ int, k, val *exec.Value) bool {
		out = append(out, [2]*exec.Value{k, val})
		return true
	}, func() {})
	return out
}

// filterItems is Jinja2's items: the (key, value) pairs of a mapping.
func filterItems(_ *exec.Evaluator, in *exec.Value, _ *exec.VarArgs) *exec.Value {
	if in.IsError() {
		return in
	}
	if in.IsNil() {
		return exec.AsValue([]any{})
	}
	if !in.IsDict() {
		return errValue(newTplErr(ErrRuntime, "items: the value is not a mapping"))
	}
	pairs := dictPairs(in)
	out := make([]any, len(pairs))
	for i, p := range pairs {
		out[i] = []any{p[0].Interface(), p[1].Interface()}
	}
	return exec.AsValue(out)
}

// filterWordwrap is Jinja2's wordwrap(width=79, break_long_words=True,
// wrapstring="\n"): each line of the text is wrapped at white space, words
// longer than width are cut. The result's size is known from the input
// before it is built (each break adds one wrapstring).
func filterWordwrap(e *exec.Evaluator, in *exec.Value, params *exec.VarArgs) *exec.Value {
	if in.IsError() {
		return in
	}
	width, breakLong, wrap := 79, true, "\n"
	if v, ok := argOrKw(params, 0, "width"); ok {
		width = v.Integer()
	}
	if v, ok := argOrKw(params, 1, "break_long_words"); ok {
		breakLong = v.IsTrue()
	}
	if v, ok := argOrKw(params, 2, "wrapstring"); ok && !v.IsNil() {
		wrap = textOf(v)
	}
	if width <= 0 {
		return errValue(newTplErr(ErrRuntime, "wordwrap: invalid width %d (must be > 0)", width))
	}
	s := textOf(in)
	if st := renderStateOf(e); st != nil {
		// at most one break per input character
		if est := len(s) + utf8.RuneCountInString(s)/width*len(wrap) + strings.Count(s, "\n")*len(wrap); est > st.maxValue {
			return errValue(newTplErr(ErrLimit, "wordwrap: the result would be larger than %d bytes", st.maxValue))
		} else if err := st.charge(est); err != nil {
			return errValue(err)
		}
	}
	var out []string
	for _, line := range splitLines(s) {
		out = append(out, wrapLine(line, width, breakLong)...)
	}
	return exec.AsValue(strings.Join(out, wrap))
}

// splitLines is Python's str.splitlines() for the common line breaks.
func splitLines(s string) []string {
	s = strings.ReplaceAll(s, "\r\n", "\n")
	s = strings.ReplaceAll(s, "\r", "\n")
	lines := strings.Split(s, "\n")
	if len(lines) > 0 && lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
	}
	return lines
}

// wrapLine is textwrap.wrap for one line (no hyphen splitting).
func wrapLine(line string, width int, breakLong bool) []string {
	var lines []string
	var cur []rune
	for _, w := range strings.FieldsFunc(line, unicode.IsSpace) {
		word := []rune(w)
		for {
			space := 0
			if len(cur) > 0 {
				space = 1
			}
			if len(cur)+space+len(word) <= width {
				if space == 1 {
					cur = append(cur, ' ')
				}
				cur = append(cur, word...)
				break
			}
			if len(word) > width && breakLong {
				room := width - len(cur) - space
				if room <= 0 {
					lines = append(lines, string(cur))
					cur = nil
					continue
				}
				if space == 1 {
					cur = append(cur, ' ')
				}
				cur = append(cur, word[:room]...)
				word = word[room:]
				lines = append(lines, string(cur))
				cur = nil
				continue
			}
			if len(cur) > 0 {
				lines = append(lines, string(cur))
				cur = nil
				continue
			}
			cur = append(cur, word...) // a long word on its own line
			break
		}
	}
	if len(cur) > 0 {
		lines = append(lines, string(cur))
	}
	return lines
}

// filterRound is Jinja2's round(precision=0, method='common'): 'common'
// rounds half to even on the exact binary value, as Python's round does.
func filterRound(_ *exec.Evaluator, in *exec.Value, params *exec.VarArgs) *exec.Value {
	if in.IsError() {
		return in
	}
	prec := 0
	if v, ok := argOrKw(params, 0, "precision"); ok {
		prec = v.Integer()
	}
	method := "common"
	if v, ok := argOrKw(params, 1, "method"); ok {
		method = textOf(v)
	}
	if !isNum(in) {
		return errValue(newTplErr(ErrRuntime, "round: a %s is not a number", typeName(in)))
	}
	if prec < -300 || prec > 300 {
		return errValue(newTplErr(ErrRuntime, "round: precision %d is out of range", prec))
	}
	x := floatOf(in)
	switch method {
	case "common":
		if in.IsInteger() { // Python's round keeps an int an int: round(1250, -2) is 1200
			return exec.AsValue(roundIntHalfEven(intOf(in), prec))
		}
		if prec >= 0 {
			r, _ := strconv.ParseFloat(strconv.FormatFloat(x, 'f', prec, 64), 64)
			return exec.AsValue(r)
		}
		p := math.Pow(10, float64(-prec))
		return exec.AsValue(math.RoundToEven(x/p) * p)
	case "floor", "ceil":
		p := math.Pow(10, float64(prec))
		f := math.Floor
		if method == "ceil" {
			f = math.Ceil
		}
		return exec.AsValue(f(x*p) / p)
	}
	return errValue(newTplErr(ErrRuntime, "round: method must be 'common', 'ceil' or 'floor'"))
}

// roundIntHalfEven is Python's round(n, prec) for an int n.
func roundIntHalfEven(n int64, prec int) int64 {
	if prec >= 0 {
		return n
	}
	if prec < -18 {
		return 0 // 10**19 is beyond int64: every int64 rounds to 0
	}
	p := int64(1)
	for i := 0; i < -prec; i++ {
		p *= 10
	}
	q, r := n/p, n%p
	if r < 0 { // floor division, as Python
		q, r = q-1, r+p
	}
	if 2*uint64(r) > uint64(p) || (2*uint64(r) == uint64(p) && q%2 != 0) {
		q++
	}
	return q * p
}

// filterSum is Jinja2's sum(attribute=None, start=0): Python's sum, so ints
// add up to an int and any float makes a float (15.0, not 15); a value that
// is not a number is an error, as in Python.
func filterSum(_ *exec.Evaluator, in *exec.Value, params *exec.VarArgs) *exec.Value {
	if in.IsError() {
		return in
	}
	attr := ""
	if a, ok := argOrKw(params, 0, "attribute"); ok && !a.IsNil() {
		attr = textOf(a)
	}
	var isum int64
	var fsum float64
	isFloat := false
	add := func(v *exec.Value) error {
		switch {
		case v.IsFloat():
			if !isFloat {
				isFloat, fsum = true, float64(isum)
			}
			fsum += v.Float()
		case v.IsInteger() || v.IsBool():
			if isFloat {
				fsum += float64(intOf(v))
			} else {
				isum += intOf(v)
			}
		default:
			return newTplErr(ErrRuntime, "sum: cannot add a %s to a number", typeName(v))
		}
		return nil
	}
	if s, ok := argOrKw(params, 1, "start"); ok {
		if err := add(s); err != nil {
			return errValue(err)
		}
	}
	if !in.IsList() && !in.IsDict() {
		return errValue(newTplErr(ErrRuntime, "sum: a %s is not a list", typeName(in)))
	}
	var err error
	in.Iterate(func(_, _ int, item, _ *exec.Value) bool {
		if attr != "" {
			item = attrOf(item, attr)
		}
		err = add(item)
		return err == nil
	}, func() {})
	if err != nil {
		return errValue(err)
	}
	if isFloat {
		return exec.AsValue(fsum)
	}
	return exec.AsValue(isum)
}

// filterMinMax is Jinja2's max/min(case_sensitive=False, attribute=None).
func filterMinMax(isMax bool) exec.FilterFunction {
	return func(_ *exec.Evaluator, in *exec.Value, params *exec.VarArgs) *exec.Value {
		if in.IsError() {
			return in
		}
		caseSensitive := false
		if v, ok := argOrKw(params, 0, "case_sensitive"); ok {
			caseSensitive = v.IsTrue()
		}
		attr := ""
		if v, ok := argOrKw(params, 1, "attribute"); ok && !v.IsNil() {
			attr = textOf(v)
		}
		var items []*exec.Value
		if in.IsString() {
			for _, r := range in.String() {
				items = append(items, exec.AsValue(string(r)))
			}
		} else if in.IsList() || in.IsDict() {
			items = listItems(in)
		} else {
			return errValue(newTplErr(ErrRuntime, "max/min: a %s is not a sequence", typeName(in)))
		}
		if len(items) == 0 {
			return exec.AsValue(nil)
		}
		key := func(v *exec.Value) *exec.Value {
			if attr != "" {
				v = attrOf(v, attr)
			}
			if !caseSensitive && v.IsString() {
				return exec.AsValue(strings.ToLower(v.String()))
			}
			return v
		}
		best, bestKey := items[0], key(items[0])
		for _, it := range items[1:] {
			k := key(it)
			c, err := compareValues(k, bestKey)
			if err != nil {
				return errValue(err)
			}
			if (isMax && c > 0) || (!isMax && c < 0) {
				best, bestKey = it, k
			}
		}
		return best
	}
}

// compareValues orders numbers with numbers and strings with strings, as
// Python does; anything else cannot be ordered.
func compareValues(a, b *exec.Value) (int, error) {
	switch {
	case isNum(a) && isNum(b):
		if !a.IsFloat() && !b.IsFloat() {
			x, y := intOf(a), intOf(b)
			return cmpOrder(x < y, x > y), nil
		}
		x, y := floatOf(a), floatOf(b)
		return cmpOrder(x < y, x > y), nil
	case a.IsString() && b.IsString():
		return strings.Compare(a.String(), b.String()), nil
	}
	return 0, newTplErr(ErrRuntime, "cannot compare a %s with a %s", typeName(a), typeName(b))
}

func cmpOrder(less, more bool) int {
	switch {
	case less:
		return -1
	case more:
		return 1
	}
	return 0
}

// filterCenter is Jinja2's center(width=80), with Python's padding.
func filterCenter(e *exec.Evaluator, in *exec.Value, params *exec.VarArgs) *exec.Value {
	if in.IsError() {
		return in
	}
	width := 80
	if v, ok := argOrKw(params, 0, "width"); ok {
		width = v.Integer()
	}
	limit := math.MaxInt
	if st := renderStateOf(e); st != nil {
		limit = st.maxValue
	}
	center := pyStrMethods(limit)["center"]
	out, err := center(textOf(in), in, &exec.VarArgs{Args: []*exec.Value{exec.AsValue(width)}, KwArgs: map[string]*exec.Value{}})
	if err != nil {
		return errValue(err)
	}
	return exec.AsValue(out)
}

// filterDictSort is Jinja2's dictsort(case_sensitive=False, by='key',
// reverse=False) for every mapping, dict literals included (gonja's
// answered an empty list for those).
func filterDictSort(_ *exec.Evaluator, in *exec.Value, params *exec.VarArgs) *exec.Value {
	if in.IsError() {
		return in
	}
	caseSensitive, by, reverse := false, "key", false
	if v, ok := argOrKw(params, 0, "case_sensitive"); ok {
		caseSensitive = v.IsTrue()
	}
	if v, ok := argOrKw(params, 1, "by"); ok {
		by = textOf(v)
	}
	if v, ok := argOrKw(params, 2, "reverse"); ok {
		reverse = v.IsTrue()
	}
	if by != "key" && by != "value" {
		return errValue(newTplErr(ErrRuntime, "dictsort: by must be 'key' or 'value'"))
	}
	if !in.IsDict() {
		return errValue(newTplErr(ErrRuntime, "dictsort: the value is not a mapping"))
	}
	pairs := dictPairs(in)
	pos := 0
	if by == "value" {
		pos = 1
	}
	key := func(v *exec.Value) *exec.Value {
		if !caseSensitive && v.IsString() {
			return exec.AsValue(strings.ToLower(v.String()))
		}
		return v
	}
	var err error
	sort.SliceStable(pairs, func(a, b int) bool {
		c, e := compareValues(key(pairs[a][pos]), key(pairs[b][pos]))
		if e != nil && err == nil {
			err = e
		}
		if reverse {
			return c > 0
		}
		return c < 0
	})
	if err != nil {
		return errValue(err)
	}
	out := make([]any, len(pairs))
	for i, p := range pairs {
		out[i] = []any{p[0].Interface(), p[1].Interface()}
	}
	return exec.AsValue(out)
}

// dictMethods gives keys/values/items in a dict literal's written order
// (gonja sorted them) and makes update change a dict literal in place.
func dictMethods(base *exec.MethodSet[map[string]any]) *exec.MethodSet[map[string]any] {
	set := map[string]exec.Method[map[string]any]{}
	for _, name := range []string{"keys", "values", "items", "get", "pop", "setdefault", "update", "copy", "clear"} {
		if m, ok := base.Get(name); ok {
			set[name] = m
		}
	}
	view := func(pick func(k, v *exec.Value) any) exec.Method[map[string]any] {
		return func(_ map[string]any, self *exec.Value, args *exec.VarArgs) (any, error) {
			if len(args.Args) > 0 || len(args.KwArgs) > 0 {
				return nil, newTplErr(ErrRuntime, "this method takes no arguments")
			}
			pairs := dictPairs(self)
			out := make([]any, len(pairs))
			for i, p := range pairs {
				out[i] = pick(p[0], p[1])
			}
			return out, nil
		}
	}
	set["keys"] = view(func(k, _ *exec.Value) any { return k.Interface() })
	set["values"] = view(func(_, v *exec.Value) any { return v.Interface() })
	set["items"] = view(func(k, v *exec.Value) any { return []any{k.Interface(), v.Interface()} })
	baseUpdate := set["update"]
	set["update"] = func(m map[string]any, self *exec.Value, args *exec.VarArgs) (any, error) {
		d, ok := unwrapValue(self).(*exec.Dict)
		if !ok {
			if baseUpdate == nil {
				return nil, newTplErr(ErrRuntime, "update is not supported here")
			}
			return baseUpdate(m, self, args)
		}
		var src [][2]*exec.Value
		for _, a := range args.Args {
			if !a.IsDict() {
				return nil, newTplErr(ErrRuntime, "update: a %s is not a mapping", typeName(a))
			}
			src = append(src, dictPairs(a)...)
		}
		for k, v := range args.KwArgs {
			src = append(src, [2]*exec.Value{exec.AsValue(k), v})
		}
	next:
		for _, p := range src {
			for _, have := range d.Pairs {
				if have.Key.EqualValueTo(p[0]) {
					have.Value = p[1]
					continue next
				}
			}
			d.Pairs = append(d.Pairs, &exec.Pair{Key: p[0], Value: p[1]})
		}
		return nil, nil
	}
	// setdefault, pop, copy and clear change (or copy) a dict in place, as
	// update does: a dict literal, or an object of the order body (ordered.go).
	inPlace := func(name string, f func(d *exec.Dict, args *exec.VarArgs) (any, error)) {
		base := set[name]
		set[name] = func(m map[string]any, self *exec.Value, args *exec.VarArgs) (any, error) {
			d, ok := unwrapValue(self).(*exec.Dict)
			if !ok {
				if base == nil {
					return nil, newTplErr(ErrRuntime, "%s is not supported here", name)
				}
				return base(m, self, args)
			}
			return f(d, args)
		}
	}
	find := func(d *exec.Dict, k *exec.Value) int {
		for i, p := range d.Pairs {
			if p.Key.EqualValueTo(k) {
				return i
			}
		}
		return -1
	}
	inPlace("setdefault", func(d *exec.Dict, args *exec.VarArgs) (any, error) {
		if len(args.Args) < 1 || len(args.Args) > 2 || len(args.KwArgs) > 0 {
			return nil, newTplErr(ErrRuntime, "setdefault expects setdefault(key[, default])")
		}
		if i := find(d, args.Args[0]); i >= 0 {
			return d.Pairs[i].Value.Interface(), nil
		}
		v := exec.AsValue(nil)
		if len(args.Args) == 2 {
			v = args.Args[1]
		}
		d.Pairs = append(d.Pairs, &exec.Pair{Key: args.Args[0], Value: v})
		return v.Interface(), nil
	})
	inPlace("pop", func(d *exec.Dict, args *exec.VarArgs) (any, error) {
		if len(args.Args) < 1 || len(args.Args) > 2 || len(args.KwArgs) > 0 {
			return nil, newTplErr(ErrRuntime, "pop expects pop(key[, default])")
		}
		if i := find(d, args.Args[0]); i >= 0 {
			v := d.Pairs[i].Value
			d.Pairs = append(d.Pairs[:i:i], d.Pairs[i+1:]...)
			return v.Interface(), nil
		}
		if len(args.Args) == 2 {
			return args.Args[1].Interface(), nil
		}
		return nil, newTplErr(ErrRuntime, "pop: the key %s is not in the mapping", clip(textOf(args.Args[0]), 80))
	})
	inPlace("copy", func(d *exec.Dict, args *exec.VarArgs) (any, error) {
		if len(args.Args) > 0 || len(args.KwArgs) > 0 {
			return nil, newTplErr(ErrRuntime, "copy takes no arguments")
		}
		c := &exec.Dict{Pairs: make([]*exec.Pair, len(d.Pairs))}
		for i, p := range d.Pairs {
			c.Pairs[i] = &exec.Pair{Key: p.Key, Value: p.Value}
		}
		return c, nil
	})
	inPlace("clear", func(d *exec.Dict, args *exec.VarArgs) (any, error) {
		if len(args.Args) > 0 || len(args.KwArgs) > 0 {
			return nil, newTplErr(ErrRuntime, "clear takes no arguments")
		}
		d.Pairs = nil
		return nil, nil
	})
	return exec.NewMethodSet(set)
}

var (
	reHTMLComment = regexp.MustCompile(`(?s)<!--.*?-->`)
	reHTMLTag     = regexp.MustCompile(`(?s)<[^>]*>`)
	reWord        = regexp.MustCompile(`[\p{L}\p{N}_]+`)
)

// filterStriptags is Jinja2's striptags: tags and comments removed, white
// space collapsed, entities (&amp;) turned back into text.
func filterStriptags(_ *exec.Evaluator, in *exec.Value, _ *exec.VarArgs) *exec.Value {
	if in.IsError() {
		return in
	}
	s := reHTMLComment.ReplaceAllString(textOf(in), "")
	s = reHTMLTag.ReplaceAllString(s, "")
	return exec.AsValue(html.UnescapeString(strings.Join(strings.Fields(s), " ")))
}

// filterWordcount counts words as Jinja2 does (runs of \w: "are-you" is two).
func filterWordcount(_ *exec.Evaluator, in *exec.Value, _ *exec.VarArgs) *exec.Value {
	if in.IsError() {
		return in
	}
	return exec.AsValue(len(reWord.FindAllStringIndex(textOf(in), -1)))
}

// filterIntCompat is gonja's int with Jinja2's answer for booleans (1, 0).
func filterIntCompat(orig exec.FilterFunction) exec.FilterFunction {
	return func(e *exec.Evaluator, in *exec.Value, params *exec.VarArgs) *exec.Value {
		if in.IsBool() {
			return exec.AsValue(intOf(in))
		}
		return orig(e, in, params)
	}
}

// filterLengthCompat is gonja's length, except that none (a name that exists
// and holds none) has no length in Jinja2: an error, where an undefined name
// has length 0.
func filterLengthCompat(orig exec.FilterFunction) exec.FilterFunction {
	return func(e *exec.Evaluator, in *exec.Value, params *exec.VarArgs) *exec.Value {
		if in.IsNil() {
			if _, ok := params.KwArgs[pathKwarg]; ok && definedness(e, in, params) {
				return errValue(newTplErr(ErrRuntime, "length: none has no length"))
			}
			return exec.AsValue(0)
		}
		delete(params.KwArgs, pathKwarg)
		return orig(e, in, params)
	}
}
