// Package mapper renders customer templates (Jinja syntax, via gonja) into the
// JSON, XML or text payloads we send to printers and postback receivers, and
// parses the JSON/XML request bodies those templates read.
//
// # Environment
//
// One gonja environment per Engine, built here: templates are compiled from
// memory only; include, import, from and extends are syntax errors
// ("templates cannot include, import or extend other templates", reported by
// Check) and the loader could not serve them anyway, so a template never
// reads the file system or another customer's template. No
// state is shared between renders: each render gets its own context, output
// buffer and limits.
//
// # Writing values
//
// "##{{ x }}" (as the help-centre pages write it) means "{{ x }}"; reported
// columns still refer to the text as written. Lines and columns are 1-based
// and count characters, not bytes.
//
// In a json template a {{ }} inside a JSON string literal ("name": "{{ name }}")
// writes the value escaped for that string, without quotes; anywhere else
// ("n": {{ count }}) it writes a JSON literal: strings quoted, numbers,
// true/false, null for none/undefined, lists and maps as JSON. Whether a tag is
// inside a string is decided from the template text alone, top to bottom,
// counting the double quotes (and backslash escapes) of the literal text
// between tags; loops and branches do not change a tag's mode. Safe values
// (| safe, | tojson, macro results, {% set %} blocks) are written as they are.
// So punctuation belongs in the text: {% if not loop.last %},{% endif %}
// writes a comma, while {{ "," }} outside a string writes the JSON string ",".
// In xml templates values are XML-escaped; in text templates written plainly.
// Everywhere, booleans print true/false, integers never get ".0", floats print
// as Python (Jinja2, json.dumps) writes them (8 / 2 prints 4.0, 1e+16, 1e-05)
// and none prints "" (null in JSON). JSON has no NaN or infinity: such a value
// in a JSON template is a template error (in a JSON string it is the text inf).
//
// JSON output must be one well-formed value without duplicate keys; XML output
// one well-formed document with a single root. Failures are *Error with Kind
// ErrOutput and the line/column in the output.
//
// # Data
//
// Template data comes from ParseInputOrdered (or IntakeContext over it): its
// objects (*Object) keep the body's key order, and a render reads each as a
// gonja dict in that order, built for that render only, so a template that
// changes one ({% set _ = d.update(...) %}) changes neither the parsed body
// nor another render. Lists are likewise copied into the render, as shared
// lists (lists.go): as in Jinja2 a list or mapping is one object under all
// its names (set b = a, a macro argument, an item of another list), so
// b.append(x) changes a; a list or mapping may not be made to hold itself.
// ParseInput gives the same values as plain maps, for code that reads a
// body itself. As in Jinja2, an attribute or item of none
// is undefined (empty, a warning; an error in a strict template), and
// reading on from an undefined value is an error.
//
// # Functions and filters
//
// lookups({"<lookup name>": value, ...}, strict=False, default="") maps a value
// through the customer's lookup tables (see lookupsFunc). Jinja filters work as
// usual (tojson, default, upper, lower, replace, round, join, length, first,
// last, ...) plus date (see filterDate). Arithmetic follows Python: integer
// results stay integers, / always divides as floats, x/0 and x%0 are errors.
//
// # Sandbox
//
// A render stops with ErrLimit when it exceeds Options.Timeout, writes more
// than MaxOutputBytes, builds a string over max(MaxOutputBytes, 1 MiB), builds
// more than 16 times that in total, asks range() for more than 100 000 items,
// runs more than 500 000 tags, loop iterations and range() items, or nests tags (macro
// recursion) more than 200 deep. A panic inside gonja becomes an ErrRuntime.
//
// Sizes are checked before a value is built, by what it would take to write
// it out (its weight, see budget.go): [s] * 2000 of a 1 MB string is refused
// as 2 GB, not admitted as 2000 pointers. Lists and mappings a template
// builds (by *, +, literals, append, update, dict(), namespace(), set
// obj.attr, filters) may weigh at most 4 times the largest string; '%…' %
// args, |format and .format are sized from their widths (nested ones
// resolved) and arguments first. A render past its deadline is stopped at its
// next tag, loop iteration, filter call or long filter step, and Render waits
// for that before it returns. Block tags may nest 100 deep at most (checked
// before gonja's parser runs, which is superlinear in that nesting).
// None of these errors is worth retrying: the same template and input fail
// the same way. The one exception is a render ended by the caller's context,
// which wraps ctx.Err().
package mapper
