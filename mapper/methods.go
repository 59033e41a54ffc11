package mapper

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/nikolalohinski/gonja/v2/exec"
)

// Python string methods where gonja's differ from Python's (arity, defaults
// or results): name.replace(a, b) without a count, strip() without an
// argument, split() on white space, split/rsplit with maxsplit, count of a
// substring, ljust/rjust/center with the default fill, str.format. Each
// checks the size of its result before building it.
func pyStrMethods(maxValue int) map[string]exec.Method[string] {
	tooBig := func(name string) error {
		return newTplErr(ErrLimit, "%s: the result would be larger than %d bytes", name, maxValue)
	}
	argc := func(name string, args *exec.VarArgs, min, max int) error {
		if len(args.KwArgs) > 0 {
			for k := range args.KwArgs {
				return newTplErr(ErrRuntime, "%s() takes no keyword argument %q", name, k)
			}
		}
		if n := len(args.Args); n < min || n > max {
			return newTplErr(ErrRuntime, "%s() takes %d to %d arguments (%d given)", name, min, max, n)
		}
		return nil
	}
	optText := func(args *exec.VarArgs, i int) (string, bool) {
		if i < len(args.Args) && !args.Args[i].IsNil() {
			return textOf(args.Args[i]), true
		}
		return "", false
	}
	strip := func(name string, f func(string, string) string, fs func(string, func(rune) bool) string) exec.Method[string] {
		return func(self string, _ *exec.Value, args *exec.VarArgs) (any, error) {
			if err := argc(name, args, 0, 1); err != nil {
				return nil, err
			}
			if chars, ok := optText(args, 0); ok {
				return f(self, chars), nil
			}
			return fs(self, unicode.IsSpace), nil
		}
	}
	split := func(name string, right bool) exec.Method[string] {
		return func(self string, _ *exec.Value, args *exec.VarArgs) (any, error) {
			sep, hasSep := optText(args, 0)
			max := -1
			if v, ok := argOrKw(args, 1, "maxsplit"); ok {
				max = v.Integer()
			}
			if v, ok := args.KwArgs["sep"]; ok && !v.IsNil() {
				sep, hasSep = textOf(v), true
			}
			if hasSep && sep == "" {
				return nil, newTplErr(ErrRuntime, "%s: empty separator", name)
			}
			var parts []string
			switch {
			case !hasSep:
				parts = splitSpace(self, max, right)
			case max < 0:
				parts = strings.Split(self, sep)
			case right:
				parts = rsplitN(self, sep, max)
			default:
				parts = strings.SplitN(self, sep, max+1)
			}
			out := make([]any, len(parts))
			for i, p := range parts {
				out[i] = p
			}
			return out, nil
		}
	}
	pad := func(name string) exec.Method[string] {
		return func(self string, _ *exec.Value, args *exec.VarArgs) (any, error) {
			if err := argc(name, args, 1, 2); err != nil {
				return nil, err
			}
			width := args.Args[0].Integer()
			fill := " "
			if f, ok := optText(args, 1); ok {
				if utf8.RuneCountInString(f) != 1 {
					return nil, newTplErr(ErrRuntime, "%s: the fill character must be exactly one character long", name)
				}
				fill = f
			}
			n := utf8.RuneCountInString(self)
			if width <= n {
				return self, nil
			}
			if width > maxValue || len(self)+(width-n)*len(fill) > maxValue {
				return nil, tooBig(name)
			}
			p := width - n
			switch name {
			case "ljust":
				return self + strings.Repeat(fill, p), nil
			case "rjust":
				return strings.Repeat(fill, p) + self, nil
			}
			// CPython's split of an odd padding: left = pad/2 + (pad & width & 1)
			l := p/2 + (p & width & 1)
			return strings.Repeat(fill, l) + self + strings.Repeat(fill, p-l), nil
		}
	}
	return map[string]exec.Method[string]{
		"replace": func(self string, _ *exec.Value, args *exec.VarArgs) (any, error) {
			if err := argc("replace", args, 2, 3); err != nil {
				return nil, err
			}
			old, repl := textOf(args.Args[0]), textOf(args.Args[1])
			n := -1
			if len(args.Args) == 3 {
				n = args.Args[2].Integer()
			}
			if replacedSize(self, old, repl, n) > maxValue {
				return nil, tooBig("replace")
			}
			return strings.Replace(self, old, repl, n), nil
		},
		"strip":  strip("strip", strings.Trim, strings.TrimFunc),
		"lstrip": strip("lstrip", strings.TrimLeft, strings.TrimLeftFunc),
		"rstrip": strip("rstrip", strings.TrimRight, strings.TrimRightFunc),
		"split":  split("split", false),
		"rsplit": split("rsplit", true),
		"count": func(self string, _ *exec.Value, args *exec.VarArgs) (any, error) {
			if err := argc("count", args, 1, 1); err != nil {
				return nil, err
			}
			sub := textOf(args.Args[0])
			if sub == "" {
				return utf8.RuneCountInString(self) + 1, nil
			}
			return strings.Count(self, sub), nil
		},
		"ljust":  pad("ljust"),
		"rjust":  pad("rjust"),
		"center": pad("center"),
		"format": func(self string, _ *exec.Value, args *exec.VarArgs) (any, error) {
			return strFormat(self, args, maxValue)
		},
		"format_map": func(self string, _ *exec.Value, args *exec.VarArgs) (any, error) {
			if err := argc("format_map", args, 1, 1); err != nil {
				return nil, err
			}
			kw := map[string]*exec.Value{}
			args.Args[0].Iterate(func(_, _ int, k, v *exec.Value) bool {
				kw[textOf(k)] = v
				return true
			}, func() {})
			return strFormat(self, &exec.VarArgs{KwArgs: kw}, maxValue)
		},
	}
}

// replacedSize is the length of strings.Replace(s, old, repl, n), computed
// without building it.
func replacedSize(s, old, repl string, n int) int {
	count := 0
	if old == "" {
		count = utf8.RuneCountInString(s) + 1
	} else {
		count = strings.Count(s, old)
	}
	if n >= 0 && n < count {
		count = n
	}
	return len(s) + count*(len(repl)-len(old))
}

// splitSpace is Python's str.split() / rsplit() without a separator.
func splitSpace(s string, max int, right bool) []string {
	if max < 0 {
		return strings.Fields(s)
	}
	var out []string
	if !right {
		rest := strings.TrimLeftFunc(s, unicode.IsSpace)
		for rest != "" && len(out) < max {
			i := strings.IndexFunc(rest, unicode.IsSpace)
			if i < 0 {
				break
			}
			out = append(out, rest[:i])
			rest = strings.TrimLeftFunc(rest[i:], unicode.IsSpace)
		}
		if rest != "" {
			out = append(out, rest)
		}
		return out
	}
	rest := strings.TrimRightFunc(s, unicode.IsSpace)
	for rest != "" && len(out) < max {
		i := strings.LastIndexFunc(rest, unicode.IsSpace)
		if i < 0 {
			break
		}
		_, size := utf8.DecodeRuneInString(rest[i:])
		out = append(out, rest[i+size:])
		rest = strings.TrimRightFunc(rest[:i], unicode.IsSpace)
	}
	if rest != "" {
		out = append(out, rest)
	}
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return out
}

func rsplitN(s, sep string, max int) []string {
	var out []string
	for len(out) < max {
		i := strings.LastIndex(s, sep)
		if i < 0 {
			break
		}
		out = append(out, s[i+len(sep):])
		s = s[:i]
	}
	out = append(out, s)
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return out
}

// listMethods adds Python's list.count and list.index to gonja's list methods.
func listMethods(base *exec.MethodSet[[]any]) *exec.MethodSet[[]any] {
	set := map[string]exec.Method[[]any]{}
	for _, name := range []string{"append", "reverse", "copy"} {
		if m, ok := base.Get(name); ok {
			set[name] = m
		}
	}
	set["count"] = func(_ []any, self *exec.Value, args *exec.VarArgs) (any, error) {
		if len(args.Args) != 1 {
			return nil, newTplErr(ErrRuntime, "count() takes exactly one argument")
		}
		n := 0
		self.Iterate(func(_, _ int, item, _ *exec.Value) bool {
			if item.EqualValueTo(args.Args[0]) {
				n++
			}
			return true
		}, func() {})
		return n, nil
	}
	set["index"] = func(_ []any, self *exec.Value, args *exec.VarArgs) (any, error) {
		if len(args.Args) != 1 {
			return nil, newTplErr(ErrRuntime, "index() takes exactly one argument")
		}
		found := -1
		self.Iterate(func(idx, _ int, item, _ *exec.Value) bool {
			if item.EqualValueTo(args.Args[0]) {
				found = idx
				return false
			}
			return true
		}, func() {})
		if found < 0 {
			return nil, newTplErr(ErrRuntime, "index(): the value is not in the list")
		}
		return found, nil
	}
	return exec.NewMethodSet(set)
}
