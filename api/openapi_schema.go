package api

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"time"

	oi "orderintake"
)

// The document's schemas are derived from the Go types the handlers decode
// (request bodies) and encode (answers): a field added to a type is in the
// document, and a field the document lists must exist. Every object schema
// is closed (additionalProperties: false), so the contract test fails on an
// answer carrying a field its type does not declare. What reflection cannot
// know — descriptions, enums, bounds, which input fields are required — is
// in the two tables below, the one place for it.
//
// A small generator of our own rather than kin-openapi's openapi3gen: that
// one writes OpenAPI 3.0 schemas ("nullable", []byte as base64), where this
// document is 3.1 (JSON Schema 2020-12), and it does not read omitempty.

// fieldDoc adds to the schema of one field, named "Component.jsonName".
type fieldDoc struct {
	Desc  string
	Enum  []string
	Extra map[string]any // minimum, maxLength, …
}

var (
	kinds          = oi.TemplateKinds
	formats        = []string{oi.FormatJSON, oi.FormatXML, oi.FormatText}
	printerFormats = []string{oi.FormatJSON, oi.FormatXML}
	methods        = []string{oi.MethodURL, oi.MethodEmail}
	triggerStates  = []string{oi.TriggerTest, oi.TriggerActive, oi.TriggerDisabled}
)

var fieldDocs = map[string]fieldDoc{
	"Health.status":                     {Enum: []string{"ok"}},
	"Ready.status":                      {Enum: []string{"ready", "unready"}},
	"ReadyChecks.postgres":              {Enum: []string{"ok", "unreachable"}},
	"ReadyChecks.temporal":              {Enum: []string{"ok", "unreachable"}},
	"OrderAccepted.status":              {Enum: oi.OrderStatuses},
	"OrderLinks.workflow":               {Desc: "the order's workflow in the Temporal Web UI"},
	"OrderStatus.status":                {Enum: oi.OrderStatuses},
	"TimelineEvent.status":              {Enum: oi.Events},
	"PrinterEventInput.eventId":         {Desc: "the printer's id of this event; repeats have no second effect", Extra: map[string]any{"maxLength": 200}},
	"PrinterEventInput.status":          {Enum: oi.PrinterEvents},
	"PrinterEventInput.timestamp":       {Desc: "RFC 3339; default: when it arrived", Extra: map[string]any{"format": "date-time"}},
	"PrinterEventInput.message":         {Extra: map[string]any{"maxLength": 4000}},
	"EventAccepted.result":              {Desc: "queued: sent to the order's workflow; duplicate: an event already recorded for an order whose workflow ended", Enum: []string{"queued", "duplicate"}},
	"CustomerInput.referenceExpression": {Desc: "template expression that pulls the order reference out of the body"},
	"Customer.referenceExpression":      {Desc: "template expression that pulls the order reference out of the body"},
	"APIKey.ownerKind":                  {Enum: []string{oi.OwnerCustomer, oi.OwnerPrinter}},
	"APIKey.key":                        {Desc: "the key itself: only in the answer that created it"},
	"Printer.format":                    {Enum: printerFormats},
	"Printer.headers":                   {Desc: "sent with every call; values shown masked (write-only)"},
	"PrinterInput.url":                  {Desc: "absolute http(s) URL"},
	"PrinterInput.cancelUrl": {Desc: "where cancels go: a template string such as " +
		"https://psp.example/orders/{{ printerOrderId }}/cancel; checked when saved; empty: the printer takes no cancels"},
	"PrinterInput.orderIdExpression": {Desc: "one expression over the printer's answer to an order (id, data.order.id) " +
		"giving the order's printerOrderId; checked when saved"},
	"CustomerInput.submitResponseTemplateId": {Desc: "a submit_response template: our answer to POST /v1/orders in the merchant's format"},
	"CustomerInput.cancelResponseTemplateId": {Desc: "a cancel_response template: our answer to a cancel in the merchant's format"},
	"CustomerInput.delayedAfter": {Desc: "fire the delayed event when the printer has not shipped this long after it took " +
		"the order: 48h, 90m, 30s; empty: never"},
	"OrderStatus.printerOrderId":       {Desc: "the printer's own id of the order (empty until it gave one)"},
	"OrderStatus.try":                  {Desc: "the submit try: 2 and up after a resubmit"},
	"CancelAnswer.printerCalled":       {Desc: "false when the cancel stopped the submission before the printer took the order"},
	"OrderSummary.status":              {Enum: oi.OrderStatuses},
	"PrinterInput.format":              {Enum: printerFormats},
	"PrinterInput.timeoutMs":           {Extra: map[string]any{"minimum": 100, "maximum": 120000}},
	"Template.kind":                    {Enum: kinds},
	"Template.format":                  {Enum: formats},
	"TemplateInput.kind":               {Desc: "required on create; cannot change", Enum: kinds},
	"TemplateInput.format":             {Enum: formats},
	"TemplateVersion.format":           {Enum: formats},
	"RenderInput.body":                 {Desc: "a template text (or templateId)"},
	"RenderInput.templateId":           {Desc: "a stored template (or body)"},
	"RenderInput.version":              {Desc: "version of templateId (default: current)", Extra: map[string]any{"minimum": 0}},
	"RenderInput.format":               {Desc: "required with body; with templateId overrides the stored format", Enum: formats},
	"RenderInput.kind":                 {Desc: "default: the stored template's; for body intake, or webhook when event is given", Enum: kinds},
	"RenderInput.customerId":           {Desc: "whose lookup tables lookups() reads (and customer.* for intake)"},
	"RenderInput.input":                {Desc: "intake/cancel: the order body as a JSON value, or the raw request as a string with contentType; webhook/email: the postback context"},
	"RenderInput.contentType":          {Desc: "with a string input: parse it as this request type (application/json, application/xml)"},
	"RenderInput.event":                {Enum: oi.Events},
	"RenderOutput.format":              {Enum: formats},
	"RenderOutput.kind":                {Enum: kinds},
	"RenderOutput.templateVersion":     {Desc: "the stored version rendered; null for a body"},
	"RenderOutput.subject":             {Desc: "an e-mail template's rendered subject"},
	"RollbackInput.version":            {Desc: "the version whose body becomes the new current version", Extra: map[string]any{"minimum": 1}},
	"LookupRow.key":                    {Extra: map[string]any{"minLength": 1, "maxLength": 200}},
	"LookupRow.value":                  {Extra: map[string]any{"maxLength": 2000}},
	"Lookup.rows":                      {Desc: "sorted by key"},
	"Lookup.imported":                  {Desc: "rows in this import (rows route)"},
	"LookupInput.customerId":           {Desc: "required on create; cannot change"},
	"LookupInput.name":                 {Extra: map[string]any{"maxLength": 100}},
	"LookupInput.default":              {Desc: "what a lenient lookups() gives for a value without a row"},
	"LookupInput.rows":                 {Desc: "on replace, absent keeps the rows", Extra: map[string]any{"maxItems": 10000}},
	"Trigger.event":                    {Enum: oi.Events},
	"Trigger.method":                   {Enum: methods},
	"Trigger.format":                   {Enum: formats},
	"Trigger.status":                   {Enum: triggerStates},
	"Trigger.secret":                   {Desc: "whsec_ signing secret: only when created or rotated"},
	"TriggerInput.event":               {Enum: oi.Events},
	"TriggerInput.method":              {Enum: methods},
	"TriggerInput.format":              {Enum: printerFormats},
	"TriggerInput.status":              {Enum: triggerStates},
	"TestPostbackInput.event":          {Desc: "whose documented sample to send (default: the trigger's event)", Enum: oi.Events},
	"SMTPInput.port":                   {Extra: map[string]any{"minimum": 1, "maximum": 65535}},
	"SMTPInput.password":               {Desc: "write-only: absent keeps the stored one, empty removes it"},
	"SMTPInput.allowPlainAuth":         {Desc: "AUTH over a connection without TLS (a relay on a trusted network); default false"},
	"SMTPSettings.allowPlainAuth":      {Desc: "AUTH over a connection without TLS is allowed"},
	"RenderInput.orderId":              {Desc: "render against this real order instead of input: its original request (intake/cancel; customerId defaults to its customer), or the postback context of its event (webhook/email; event, default its latest)"},
	"AlertSettings.secret":             {Desc: "the operator webhook's signing secret (whsec_…): only in the answer that made it"},
	"AlertSettings.hasWebhookSecret":   {Desc: "a signing secret is set (it is never shown again)"},
	"AlertInput.webhookUrl":            {Desc: "http(s) URL; signed like triggers' webhooks (Standard Webhooks)"},
	"AlertInput.emails":                {Desc: "sent through the SMTP work settings"},
	"AlertInput.triggerFailures":       {Desc: "failed attempts in a row before an alert (default 5); a 410 or an exhausted schedule alerts at once", Extra: map[string]any{"minimum": 1, "maximum": 1000}},
	"AlertInput.printerFailures":       {Desc: "failed sends in a row before an alert (default 5)", Extra: map[string]any{"minimum": 1, "maximum": 1000}},
	"AlertInput.rotateSecret":          {Desc: "make a new signing secret (returned once)"},
	"RequestSummary.status":            {Enum: oi.OrderStatuses},
	"RequestDetail.status":             {Enum: oi.OrderStatuses},
	"RequestDetail.originalRequest":    {Desc: "1. what the customer's system sent, as received"},
	"RequestDetail.templateProcessing": {Desc: "2. the intake template's output or error, with the template version"},
	"RequestDetail.finalRequest":       {Desc: "3. what went to the printer (null: nothing was sent)"},
	"RequestDetail.systemResponse":     {Desc: "4. the printer's answer to the last attempt, with latency"},
	"RequestDetail.rejection":          {Desc: "the problem the client was told, for a request the API refused"},
	"OrderEvent.status":                {Enum: oi.Events},
	"OrderEvent.source":                {Enum: []string{"printer", "system"}},
	"PostbackView.event":               {Enum: oi.Events},
	"PostbackView.method":              {Enum: methods},
	"PostbackView.status":              {Enum: oi.PostbackStatuses},
	"PostbackView.body":                {Desc: "the rendered payload"},
	"PostbackView.attempts":            {Desc: "attempts made so far"},
	"PostbackDetail.event":             {Enum: oi.Events},
	"PostbackDetail.method":            {Enum: methods},
	"PostbackDetail.status":            {Enum: oi.PostbackStatuses},
	"PostbackDetail.body":              {Desc: "the rendered payload"},
	"PostbackDetail.attemptCount":      {Desc: "attempts made so far"},
	"AttemptView.trigger":              {Enum: []string{"scheduled", "manual"}},
	"AttemptView.requestHeaders":       {Desc: "secrets redacted"},
	"AttemptView.responseBody":         {Desc: "first 64 KiB"},
	"AttemptView.errorKind":            {Desc: "dns, connect, tls, timeout, http or smtp"},
	"BulkResendInput.from":             {Extra: map[string]any{"format": "date-time"}},
	"BulkResendInput.to":               {Extra: map[string]any{"format": "date-time"}},
	"BulkResendInput.status":           {Desc: "default: failed and exhausted", Enum: []string{oi.PostbackFailed, oi.PostbackExhausted, oi.PostbackAborted, oi.PostbackDelivered}},
	"BulkResendAccepted.notQueued":     {Desc: "postbacks Temporal could not take now: send again"},
	"SeriesAccepted.status":            {Enum: []string{oi.PostbackPending}},
	"TestPostbackAccepted.series":      {Desc: "the attempt series (1 for a test)"},
	"TestPostbackAccepted.workflowId":  {Desc: "the series' workflow"},
}

const referenceExpressionDoc = "one template expression that pulls the order reference out of the body, written order.ref or {{ order.ref }}; " +
	"checked when saved (422 with line and column); an order it gives no reference for is refused"

// typeDoc describes a component.
type typeDoc struct {
	Desc string
	// Required lists an input's required fields (an answer's are those
	// without omitempty).
	Required []string
}

var typeDocs = map[string]typeDoc{
	"PrinterEventInput": {Required: []string{"eventId", "status"}},
	"TemplateInput":     {Required: []string{"name", "format", "body"}},
	"RollbackInput":     {Required: []string{"version"}},
	"SMTPInput":         {Required: []string{"fromAddress", "host"}},
	"BulkResendInput":   {Required: []string{"from", "to"}},
	"LookupRowsInput":   {Required: []string{"rows"}},
	"LookupRow":         {Required: []string{"key", "value"}},
	"PostbackDetail":    {Desc: "a postback with its attempts themselves in attempts (their count in attemptCount)"},
	"RequestDetail":     {Desc: "the Requests view of one order: four stages, the event timeline and its postbacks"},
}

// componentNames renames Go types in the document where the Go name is not
// the contract's (the printer event body, the alert settings' view).
var componentNames = map[string]string{
	"eventBody": "PrinterEventInput", "EventTaken": "EventAccepted", "AlertSettingsView": "AlertSettings",
}

// schemaSet collects the component schemas the operations refer to.
type schemaSet struct {
	schemas map[string]any
	names   map[reflect.Type]string
	inputs  map[string]bool
}

func newSchemaSet() *schemaSet {
	return &schemaSet{schemas: map[string]any{}, names: map[reflect.Type]string{}, inputs: map[string]bool{}}
}

var (
	timeType = reflect.TypeOf(time.Time{})
	rawType  = reflect.TypeOf(json.RawMessage(nil))
	// durationType is written as text ("48h"), not as its int64.
	durationType = reflect.TypeOf(oi.Duration(0))
)

// ref is a reference to v's type as an answer.
func (g *schemaSet) ref(v any) map[string]any { return g.schemaOf(reflect.TypeOf(v), false) }

// input is a reference to v's type as a request body.
func (g *schemaSet) input(v any) map[string]any { return g.schemaOf(reflect.TypeOf(v), true) }

// list is the schema of a List of v's type.
func (g *schemaSet) list(v any) map[string]any {
	return map[string]any{"type": "object", "required": []string{"items", "nextCursor"}, "additionalProperties": false,
		"properties": map[string]any{
			"items":      map[string]any{"type": "array", "items": g.ref(v)},
			"nextCursor": map[string]any{"type": []string{"string", "null"}, "description": "opaque; pass as cursor for the next (older) page; null on the last page"},
		}}
}

func componentName(t reflect.Type) string {
	if n, ok := componentNames[t.Name()]; ok {
		return n
	}
	return t.Name()
}

// schemaOf is the schema of t; a named struct becomes a component.
func (g *schemaSet) schemaOf(t reflect.Type, input bool) map[string]any {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch {
	case t == timeType:
		return map[string]any{"type": "string", "format": "date-time"}
	case t == rawType:
		return anyJSON()
	case t == durationType:
		return map[string]any{"type": "string", "description": "a span like 48h, 90m or 30s; empty: none"}
	}
	switch t.Kind() {
	case reflect.String:
		return map[string]any{"type": "string"}
	case reflect.Bool:
		return map[string]any{"type": "boolean"}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return map[string]any{"type": "integer"}
	case reflect.Float32, reflect.Float64:
		return map[string]any{"type": "number"}
	case reflect.Slice, reflect.Array:
		return map[string]any{"type": "array", "items": g.schemaOf(t.Elem(), input)}
	case reflect.Map:
		return map[string]any{"type": "object", "additionalProperties": g.schemaOf(t.Elem(), input)}
	case reflect.Interface:
		return anyJSON()
	case reflect.Struct:
		name := componentName(t)
		if _, done := g.names[t]; !done {
			for other, n := range g.names {
				if n == name {
					// Two Go types under one component name: one would silently
					// describe both, and answers of the other would fail clients.
					panic(fmt.Sprintf("openapi: %s and %s are both component %q", other, t, name))
				}
			}
			g.names[t] = name
			g.inputs[name] = input
			g.schemas[name] = nil // placeholder: a type that refers to itself stops here
			g.schemas[name] = g.object(t, name, input)
		}
		return map[string]any{"$ref": "#/components/schemas/" + name}
	}
	panic("openapi: no schema for " + t.String())
}

// object is the closed object schema of struct t.
func (g *schemaSet) object(t reflect.Type, name string, input bool) map[string]any {
	props := map[string]any{}
	required := []string{}
	g.fields(t, name, input, props, &required)
	td := typeDocs[name]
	if input {
		required = td.Required
	}
	out := map[string]any{"type": "object", "properties": props, "additionalProperties": false}
	if len(required) > 0 {
		out["required"] = required
	}
	if td.Desc != "" {
		out["description"] = td.Desc
	}
	return out
}

func (g *schemaSet) fields(t reflect.Type, name string, input bool, props map[string]any, required *[]string) {
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		tag := f.Tag.Get("json")
		jname, opts, _ := strings.Cut(tag, ",")
		if jname == "-" {
			continue
		}
		if f.Anonymous && jname == "" {
			g.fields(f.Type, name, input, props, required) // embedded: its fields are this object's
			continue
		}
		if jname == "" {
			jname = f.Name
		}
		omitempty := strings.Contains(","+opts+",", ",omitempty,")
		s := g.schemaOf(f.Type, input)
		// An answer's pointer, slice or map without omitempty may be null.
		k := f.Type.Kind()
		if !input && !omitempty && (k == reflect.Pointer || k == reflect.Slice || k == reflect.Map) && f.Type != rawType {
			s = nullable(s)
		}
		if d, ok := fieldDocs[name+"."+jname]; ok {
			s = withDoc(s, d)
		}
		props[jname] = s
		if !omitempty {
			*required = append(*required, jname)
		}
	}
}

// anyJSON is any JSON value, null included (written out: the validator
// reads an empty schema as "not null").
func anyJSON() map[string]any {
	return map[string]any{"type": []string{"object", "array", "string", "number", "boolean", "null"}}
}

// nullable lets s also be null.
func nullable(s map[string]any) map[string]any {
	if _, isRef := s["$ref"]; isRef {
		return map[string]any{"anyOf": []any{s, map[string]any{"type": "null"}}}
	}
	out := map[string]any{}
	for k, v := range s {
		out[k] = v
	}
	if t, ok := s["type"].(string); ok {
		out["type"] = []string{t, "null"}
	}
	return out
}

// withDoc adds a description, an enum and bounds to s.
func withDoc(s map[string]any, d fieldDoc) map[string]any {
	out := map[string]any{}
	if _, isRef := s["$ref"]; isRef {
		out["allOf"] = []any{s} // siblings of $ref are ignored by some tools
	} else {
		for k, v := range s {
			out[k] = v
		}
	}
	if d.Desc != "" {
		out["description"] = d.Desc
	}
	if len(d.Enum) > 0 {
		enum := make([]any, 0, len(d.Enum)+1)
		for _, e := range d.Enum {
			enum = append(enum, e)
		}
		if t, ok := out["type"].([]string); ok && len(t) == 2 && t[1] == "null" {
			enum = append(enum, nil)
		}
		out["enum"] = enum
	}
	for k, v := range d.Extra {
		out[k] = v
	}
	return out
}

// components are the schemas collected, plus Problem: RFC 9457 lets a
// problem carry extension members (line, column, where, excerpt, …), so its
// schema stays open and is written here rather than derived.
func (g *schemaSet) components() map[string]any {
	out := map[string]any{"Problem": map[string]any{"type": "object", "required": []string{"type", "title", "status", "code", "detail"},
		"description": "RFC 9457 problem; extra members (line, column, where, excerpt, ...) say where input was wrong",
		"properties": map[string]any{
			"type": map[string]any{"type": "string"}, "title": map[string]any{"type": "string"}, "status": map[string]any{"type": "integer"},
			"code": map[string]any{"type": "string"}, "detail": map[string]any{"type": "string"}, "instance": map[string]any{"type": "string"},
			"field": map[string]any{"type": "string", "description": "what was wrong, e.g. body.items[0].sku or status"},
			"line":  map[string]any{"type": "integer"}, "column": map[string]any{"type": "integer"}}}}
	for k, v := range g.schemas {
		out[k] = v
	}
	return out
}
