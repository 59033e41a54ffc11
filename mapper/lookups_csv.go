package mapper

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"
)

// Limits of lookup tables, checked on every import so that a table always
// fits in memory at render time.
const (
	MaxLookupRows     = 10000   // rows in one table (and so in one import)
	MaxLookupKey      = 200     // characters in a key
	MaxLookupValue    = 2000    // characters in a value
	MaxLookupCSVBytes = 1 << 20 // bytes of one CSV import
)

// LookupRow is one key -> value mapping of a lookup table.
type LookupRow struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// LookupRowError says which row of an import is wrong: Line (1-based) for
// CSV, Index (0-based, into rows) for JSON.
type LookupRowError struct {
	Line    int // 0 when the rows came as JSON
	Column  int // 1-based character column in the CSV line, 0 when unknown
	Index   int // rows[Index] for JSON
	Field   string
	Message string
}

func (e *LookupRowError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("line %d: %s", e.Line, e.Message)
	}
	return fmt.Sprintf("rows[%d].%s: %s", e.Index, e.Field, e.Message)
}

// ParseLookupCSV reads the rows of a lookup import: one "key,value" record a
// line, RFC 4180 quoting ("a, b" keeps its comma, "" is a quote). A first
// line "key,value" is a header and skipped. Fields are trimmed of surrounding
// white space; empty lines are skipped. A key that appears twice refuses the
// whole import (the error names both lines): in a spreadsheet export that is
// almost always a mistake, and picking one silently would hide it.
// Errors are *LookupRowError with the line.
func ParseLookupCSV(data []byte) ([]LookupRow, error) {
	if len(data) > MaxLookupCSVBytes {
		return nil, &LookupRowError{Message: fmt.Sprintf("the CSV is larger than %d bytes", MaxLookupCSVBytes)}
	}
	data = bytes.TrimPrefix(data, []byte("\xEF\xBB\xBF")) // spreadsheets write a BOM
	if !utf8.Valid(data) {
		off := invalidUTF8(data)
		line, col := lineCol(string(data), off)
		return nil, &LookupRowError{Line: line, Column: col, Message: "the CSV is not valid UTF-8 (save it as UTF-8)"}
	}
	r := csv.NewReader(bytes.NewReader(data))
	r.FieldsPerRecord = -1 // counted below, for a clearer message
	r.ReuseRecord = true
	var rows []LookupRow
	seen := map[string]int{} // key -> line
	first := true
	for {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, csvError(data, err)
		}
		line, col := r.FieldPos(0) // col in bytes: charColumn converts it, on errors only
		if first {
			first = false
			if len(rec) == 2 && strings.EqualFold(strings.TrimSpace(rec[0]), "key") && strings.EqualFold(strings.TrimSpace(rec[1]), "value") {
				continue
			}
		}
		if len(rec) == 1 && strings.TrimSpace(rec[0]) == "" {
			continue // a line of spaces
		}
		if len(rec) != 2 {
			msg := fmt.Sprintf("has %d fields; each line is key,value", len(rec))
			if len(rec) == 1 && strings.Contains(rec[0], ";") {
				msg += " (separated by a comma, not a semicolon)"
			} else if len(rec) > 2 {
				msg += ` (quote a value that contains commas: key,"a, b")`
			}
			return nil, &LookupRowError{Line: line, Column: charColumn(data, line, col), Message: msg}
		}
		row := LookupRow{Key: strings.TrimSpace(newlines(rec[0])), Value: strings.TrimSpace(newlines(rec[1]))}
		if msg, field := checkLookupRow(row); msg != "" {
			fl, fc := r.FieldPos(0)
			if field == "value" {
				fl, fc = r.FieldPos(1)
			}
			return nil, &LookupRowError{Line: fl, Column: charColumn(data, fl, fc), Field: field, Message: msg}
		}
		if prev, dup := seen[row.Key]; dup {
			return nil, &LookupRowError{Line: line, Column: charColumn(data, line, col), Field: "key",
				Message: fmt.Sprintf("key %s appears again (first on line %d); each key may appear once", quoteClip(row.Key), prev)}
		}
		if len(rows) == MaxLookupRows {
			return nil, &LookupRowError{Line: line, Message: fmt.Sprintf("a lookup table holds at most %d rows", MaxLookupRows)}
		}
		seen[row.Key] = line
		rows = append(rows, row)
	}
	return rows, nil
}

// CheckLookupRows validates rows given as JSON, with the same rules as CSV
// (but no trimming: JSON says exactly what it means).
func CheckLookupRows(rows []LookupRow) error {
	if len(rows) > MaxLookupRows {
		return &LookupRowError{Index: MaxLookupRows, Field: "key", Message: fmt.Sprintf("a lookup table holds at most %d rows", MaxLookupRows)}
	}
	seen := make(map[string]int, len(rows))
	for i, row := range rows {
		if msg, field := checkLookupRow(row); msg != "" {
			return &LookupRowError{Index: i, Field: field, Message: msg}
		}
		if prev, dup := seen[row.Key]; dup {
			return &LookupRowError{Index: i, Field: "key",
				Message: fmt.Sprintf("key %s appears again (first in rows[%d]); each key may appear once", quoteClip(row.Key), prev)}
		}
		seen[row.Key] = i
	}
	return nil
}

func checkLookupRow(row LookupRow) (msg, field string) {
	switch {
	case row.Key == "":
		return "the key is empty", "key"
	case utf8.RuneCountInString(row.Key) > MaxLookupKey:
		return fmt.Sprintf("the key is longer than %d characters", MaxLookupKey), "key"
	case utf8.RuneCountInString(row.Value) > MaxLookupValue:
		return fmt.Sprintf("the value is longer than %d characters", MaxLookupValue), "value"
	case strings.ContainsRune(row.Key, 0):
		return "the key contains a NUL character", "key"
	case strings.ContainsRune(row.Value, 0):
		return "the value contains a NUL character", "value"
	case !utf8.ValidString(row.Key) || !utf8.ValidString(row.Value):
		return "the row is not valid UTF-8", "key"
	}
	return "", ""
}

// csvError turns encoding/csv's error into one naming the line.
func csvError(data []byte, err error) error {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		msg := pe.Err.Error()
		switch {
		case errors.Is(pe.Err, csv.ErrQuote):
			msg = `a quoted field is not closed, or has a stray quote (write a quote inside a quoted field as "")`
		case errors.Is(pe.Err, csv.ErrBareQuote):
			msg = `a quote appears inside an unquoted field (quote the whole field and double the quote: "a ""b""")`
		}
		line, col := pe.Line, charColumn(data, pe.Line, pe.Column)
		if pe.StartLine < pe.Line && errors.Is(pe.Err, csv.ErrQuote) {
			line, col = pe.StartLine, 0 // where the unclosed field's record begins
		}
		return &LookupRowError{Line: line, Column: col, Message: msg}
	}
	return &LookupRowError{Message: "the CSV cannot be read"}
}

// charColumn turns encoding/csv's 1-based byte column on a line into a
// character column, as every other position we report counts characters.
func charColumn(data []byte, line, byteCol int) int {
	start := 0
	for l := 1; l < line; l++ {
		i := bytes.IndexByte(data[start:], '\n')
		if i < 0 {
			return byteCol
		}
		start += i + 1
	}
	end := min(start+byteCol-1, len(data))
	if end < start {
		return byteCol
	}
	return utf8.RuneCount(data[start:end]) + 1
}

// csvNewlines turns every line break inside a field into "\n": encoding/csv
// folds "\r\n" but keeps a lone "\r", so without this a value would change
// when the table is exported and imported again.
var csvNewlines = strings.NewReplacer("\r\n", "\n", "\r", "\n")

func newlines(s string) string { return csvNewlines.Replace(s) }
