package api

import (
	"encoding/json"
	"net/http"
	"regexp"
	"strings"
	"sync"

	"github.com/gin-gonic/gin"

	oi "orderintake"
	"orderintake/service"
)

// The OpenAPI 3.1 document served at /openapi.json. Operations are listed
// here by hand, next to nothing that generates them, so a test can hold the
// document and the router to each other (api/openapi_test.go: every route
// documented, every documented route registered, examples valid). Schemas
// are JSON Schema 2020-12 in openAPISchemas below.

var (
	openAPIOnce sync.Once
	openAPIDoc  []byte
)

func (s *Server) openAPI(c *gin.Context) {
	c.Header("Cache-Control", "public, max-age=60")
	c.Data(http.StatusOK, "application/json", OpenAPIDocument())
}

// OpenAPIDocument returns the document as JSON.
func OpenAPIDocument() []byte {
	openAPIOnce.Do(func() {
		var err error
		if openAPIDoc, err = json.MarshalIndent(buildOpenAPI(), "", "  "); err != nil {
			panic("openapi: " + err.Error())
		}
	})
	return openAPIDoc
}

type oaOp = map[string]any
type oaOpt func(oaOp)

func ref(name string) map[string]any { return map[string]any{"$ref": "#/components/schemas/" + name} }

func oaParam(in, name, desc string, schema map[string]any, required bool) oaOpt {
	return func(o oaOp) {
		ps, _ := o["parameters"].([]any)
		o["parameters"] = append(ps, map[string]any{"name": name, "in": in, "description": desc, "required": required, "schema": schema})
	}
}

func query(name, desc string) oaOpt {
	return oaParam("query", name, desc, map[string]any{"type": "string"}, false)
}

func queryEnum(name, desc string, values []string) oaOpt {
	return oaParam("query", name, desc, map[string]any{"type": "string", "enum": values}, false)
}

func header(name, desc string) oaOpt {
	return oaParam("header", name, desc, map[string]any{"type": "string"}, false)
}

// body is a JSON request body.
func body(schema map[string]any, required bool) oaOpt {
	return func(o oaOp) {
		o["requestBody"] = map[string]any{"required": required, "content": map[string]any{"application/json": map[string]any{"schema": schema}}}
	}
}

func content(ctype string, schema map[string]any) map[string]any {
	return map[string]any{ctype: map[string]any{"schema": schema}}
}

func resp(status, desc string, ctypes map[string]any) oaOpt {
	return func(o oaOp) {
		rs, _ := o["responses"].(map[string]any)
		if rs == nil {
			rs = map[string]any{}
			o["responses"] = rs
		}
		r := map[string]any{"description": desc}
		if ctypes != nil {
			r["content"] = ctypes
		}
		rs[status] = r
	}
}

func ok(status, desc string, schema map[string]any) oaOpt {
	return resp(status, desc, content("application/json", schema))
}

var problemText = map[string]string{
	"400": "The body does not parse", "401": "Missing or wrong credentials", "403": "Not allowed for this key",
	"404": "No such resource", "409": "Conflict with the current state", "413": "Body too large",
	"415": "Unsupported content type", "422": "Invalid input: the problem names the field (and line/column for bodies and templates)",
	"503": "A dependency is unavailable; retry after Retry-After",
	"429": "Too many requests, or too many failed authentications from this address; retry after Retry-After",
}

// problems adds application/problem+json answers; 500 is on every operation.
func problems(statuses ...string) oaOpt {
	return func(o oaOp) {
		for _, st := range append(statuses, "500") {
			desc := problemText[st]
			if desc == "" {
				desc = "Internal error (details are logged, never shown)"
			}
			resp(st, desc, content("application/problem+json", ref("Problem")))(o)
		}
	}
}

func secured(scheme string) oaOpt {
	return func(o oaOp) { o["security"] = []any{map[string]any{scheme: []any{}}} }
}

func describe(d string) oaOpt { return func(o oaOp) { o["description"] = d } }

func op(tag, summary string, opts ...oaOpt) oaOp {
	o := oaOp{"tags": []string{tag}, "summary": summary}
	for _, f := range opts {
		f(o)
	}
	return o
}

// admin is an admin-token operation with the problems every admin call may answer.
func admin(summary string, opts ...oaOpt) oaOp {
	return op("Admin", summary, append([]oaOpt{secured("adminToken"), problems("401", "429")}, opts...)...)
}

var listParams = []oaOpt{
	query("from", "RFC 3339 time; rows at or after it (inclusive)"),
	query("to", "RFC 3339 time; rows before it (exclusive)"),
	query("customerId", "only this customer's rows"),
	oaParam("query", "limit", "page size, 1 to 500 (default 50)", map[string]any{"type": "string", "pattern": "^[0-9]+$"}, false),
	query("cursor", "the nextCursor of the previous page"),
}

var (
	orderStatusEnum    = oi.OrderStatuses
	postbackStatusEnum = oi.PostbackStatuses
	pathParam          = regexp.MustCompile(`\{([A-Za-z]+)\}`)
)

func buildOpenAPI() map[string]any {
	g := newSchemaSet()
	paths := map[string]map[string]any{}
	add := func(method, path string, o oaOp) {
		if paths[path] == nil {
			paths[path] = map[string]any{}
		}
		// Path parameters are strings named in the template.
		for _, m := range pathParam.FindAllStringSubmatch(path, -1) {
			oaParam("path", m[1], "", map[string]any{"type": "string"}, true)(o)
		}
		o["operationId"] = strings.ToLower(method) + operationName(path)
		paths[path][strings.ToLower(method)] = o
	}

	// ---- operations
	add("GET", "/healthz", op("Operations", "Liveness: the process answers", ok("200", "Alive", g.ref(Health{}))))
	add("GET", "/readyz", op("Operations", "Readiness: PostgreSQL and Temporal reachable",
		ok("200", "Ready", g.ref(Ready{})), ok("503", "Not ready; checks say which dependency is down", g.ref(Ready{}))))
	add("GET", "/metrics", op("Operations", "Prometheus metrics",
		describe("HTTP requests by route and status, orders by status, postback attempts by outcome, and the Temporal SDK's client metrics."),
		resp("200", "Prometheus text exposition", content("text/plain", map[string]any{"type": "string"}))))
	add("GET", "/openapi.json", op("Operations", "This document", ok("200", "OpenAPI 3.1 document", map[string]any{"type": "object"})))

	// ---- customers' and printers' API
	add("POST", "/v1/orders", op("Orders", "Submit an order",
		describe("JSON or XML body up to 1 MiB. The order key is the Idempotency-Key, else the order reference, else a fresh ULID. "+
			"A customer with a reference expression never gets the ULID: an order for which it gives nothing (undefined, none, "+
			"empty) or fails is refused with 422 naming the expression and why (referenceExpression; line and column when known)."),
		secured("apiKey"), header("Idempotency-Key", "makes repeats safe: same key and body answers 200 with the existing order"),
		func(o oaOp) {
			o["requestBody"] = map[string]any{"required": true, "content": map[string]any{
				"application/json": map[string]any{"schema": map[string]any{"type": "object"}},
				"application/xml":  map[string]any{"schema": map[string]any{"type": "string"}}}}
		},
		ok("202", "Accepted: the order's workflow started", g.ref(OrderAccepted{})),
		ok("200", "A repeat of an order already accepted", g.ref(OrderAccepted{})),
		problems("400", "401", "403", "409", "413", "415", "422", "429", "503")))
	add("GET", "/v1/orders/{id}", op("Orders", "An order's status, printerOrderId, cancels and event timeline (own orders only)",
		secured("apiKey"), ok("200", "The order", g.ref(OrderStatus{})), problems("401", "403", "404", "429")))
	add("GET", "/v1/orders", op("Orders", "The customer's own orders, newest first, in keyset pages",
		secured("apiKey"), query("reference", "order reference (prefix)"), queryEnum("status", "one status", oi.OrderStatuses),
		query("from", "received at or after (RFC 3339)"), query("to", "received before (RFC 3339)"),
		oaParam("query", "limit", "page size, 1 to 500 (default 50)", map[string]any{"type": "string", "pattern": "^[0-9]+$"}, false),
		query("cursor", "nextCursor of the page before"),
		ok("200", "A page of orders", g.ref(service.OrderPage{})), problems("401", "403", "422", "429")))
	add("POST", "/v1/orders/{id}/cancel", op("Orders", "Cancel an order (a workflow Update)",
		describe("Optional JSON or XML body: the cancel template's input. Before the printer took the order the submission "+
			"stops (no printer call); after, the cancel template goes to the printer's cancelUrl. 200 canceled; 202 "+
			"cancel_pending when the printer's verdict is not in within 30 s (GET the order for the outcome); 409 once "+
			"shipped or ended (orderStatus), or when the printer refused (printerStatus, printerAnswer). With the customer's "+
			"cancel_response template the answer is rendered in its format."),
		secured("apiKey"), ok("200", "Canceled", g.ref(service.CancelAnswer{})),
		ok("202", "The printer's verdict is pending", g.ref(service.CancelAnswer{})),
		problems("400", "401", "403", "404", "409", "413", "415", "422", "429", "503")))
	add("POST", "/v1/printer/orders/{id}/events", op("Printers", "Report a status event", secured("apiKey"),
		body(g.input(eventBody{}), true),
		ok("202", "Queued for the order's workflow", g.ref(service.EventTaken{})),
		ok("200", "A repeat of an event already recorded", g.ref(service.EventTaken{})),
		problems("400", "401", "403", "404", "409", "413", "422", "429", "503")))

	// ---- admin: customers and keys
	add("POST", "/v1/admin/customers", admin("Create a customer", body(g.input(service.CustomerInput{}), true),
		ok("201", "Created", g.ref(oi.Customer{})), problems("400", "409", "422")))
	add("GET", "/v1/admin/customers", admin("List customers (all of them: a small configuration table, nextCursor is always null)",
		ok("200", "Customers by name", g.list(oi.Customer{}))))
	add("GET", "/v1/admin/customers/{id}", admin("A customer", ok("200", "The customer", g.ref(oi.Customer{})), problems("404")))
	add("PATCH", "/v1/admin/customers/{id}", admin("Change a customer (fields left out keep their value)",
		body(g.input(service.CustomerInput{}), true), ok("200", "Changed", g.ref(oi.Customer{})), problems("400", "404", "409", "422")))
	add("POST", "/v1/admin/customers/{id}/keys", admin("Create a customer API key (returned once, stored hashed)",
		ok("201", "The key, with its secret this once", g.ref(oi.APIKey{})), problems("404")))
	add("GET", "/v1/admin/customers/{id}/keys", admin("List a customer's keys (prefixes only)",
		ok("200", "Keys, newest first", g.list(oi.APIKey{})), problems("404")))
	add("DELETE", "/v1/admin/customers/{id}/keys/{keyId}", admin("Revoke a customer key",
		resp("204", "Revoked", nil), problems("404")))

	// ---- admin: printers and keys
	add("POST", "/v1/admin/printers", admin("Create a printer", body(g.input(service.PrinterInput{}), true),
		ok("201", "Created", g.ref(oi.Printer{})), problems("400", "422")))
	add("GET", "/v1/admin/printers", admin("List printers (all of them; nextCursor is always null)",
		ok("200", "Printers by name", g.list(oi.Printer{}))))
	add("GET", "/v1/admin/printers/{id}", admin("A printer", ok("200", "The printer", g.ref(oi.Printer{})), problems("404")))
	add("PATCH", "/v1/admin/printers/{id}", admin("Change a printer", body(g.input(service.PrinterInput{}), true),
		ok("200", "Changed", g.ref(oi.Printer{})), problems("400", "404", "422")))
	add("POST", "/v1/admin/printers/{id}/keys", admin("Create a printer API key (returned once)",
		ok("201", "The key, with its secret this once", g.ref(oi.APIKey{})), problems("404")))
	add("GET", "/v1/admin/printers/{id}/keys", admin("List a printer's keys (prefixes only)",
		ok("200", "Keys, newest first", g.list(oi.APIKey{})), problems("404")))
	add("DELETE", "/v1/admin/printers/{id}/keys/{keyId}", admin("Revoke a printer key",
		resp("204", "Revoked", nil), problems("404")))

	// ---- admin: templates
	add("POST", "/v1/admin/templates", admin("Create a template (syntax checked)", body(g.input(service.TemplateInput{}), true),
		ok("201", "Created at version 1", g.ref(oi.Template{})), problems("400", "422")))
	add("GET", "/v1/admin/templates", admin("List templates at their current version (all; nextCursor is always null)",
		ok("200", "Templates by name", g.list(oi.Template{}))))
	add("GET", "/v1/admin/templates/{id}", admin("A template at its current version",
		ok("200", "The template", g.ref(oi.Template{})), problems("404")))
	add("PUT", "/v1/admin/templates/{id}", admin("Save a new version", body(g.input(service.TemplateInput{}), true),
		ok("200", "The template at its new version", g.ref(oi.Template{})), problems("400", "404", "422")))
	add("GET", "/v1/admin/templates/{id}/versions", admin("Every version, newest first",
		ok("200", "Versions", g.list(oi.TemplateVersion{})), problems("404")))
	add("GET", "/v1/admin/templates/{id}/versions/{version}", admin("One saved version",
		ok("200", "The version", g.ref(oi.TemplateVersion{})), problems("404")))
	add("POST", "/v1/admin/templates/{id}/rollback", admin("Save a new version whose body is an old version's (history stays append-only)",
		body(g.input(service.RollbackInput{}), true), ok("200", "The template at its new version", g.ref(oi.Template{})), problems("400", "404", "422")))
	add("POST", "/v1/admin/templates/render", admin("Render a template over a sample input",
		describe("Renders body, or a stored template (templateId, optional version; default current), over input: for intake "+
			"and cancel kinds the input is an order body (a JSON value, or the raw request as a string with contentType); for "+
			"webhook and email kinds the postback context, else the documented sample of event (default shipped). "+
			"customerId supplies the customer's lookup tables. The output is validated. A template failure is a 422 "+
			"problem with kind (syntax, runtime, lookup, output, limit), where (template or output), line, column and excerpt."),
		body(g.input(service.RenderInput{}), true), ok("200", "The output", g.ref(service.RenderOutput{})), problems("400", "404", "422")))

	// ---- admin: lookups
	add("POST", "/v1/admin/lookups", admin("Create a lookup table", body(g.input(service.LookupInput{}), true),
		ok("201", "Created", g.ref(service.Lookup{})), problems("400", "409", "422")))
	add("GET", "/v1/admin/lookups", admin("List lookup tables (all; nextCursor is always null)", query("customerId", "one customer's tables"),
		ok("200", "Lookup tables", g.list(service.LookupSummary{}))))
	add("GET", "/v1/admin/lookups/{id}", admin("A lookup table with its rows", ok("200", "The table", g.ref(service.Lookup{})), problems("404")))
	add("PUT", "/v1/admin/lookups/{id}", admin("Replace a lookup table", body(g.input(service.LookupInput{}), true),
		ok("200", "Replaced", g.ref(service.Lookup{})), problems("400", "404", "409", "422")))
	add("POST", "/v1/admin/lookups/{id}/rows", admin("Import rows (CSV key,value or JSON); keys already there take the new value",
		describe("text/csv: one key,value per line, an optional header line key,value, RFC 4180 quoting, fields trimmed; "+
			"or application/json {rows: [{key, value}]}. A key twice in one import refuses the import (the problem names the line). "+
			"At most 10000 rows per table, 1 MiB per import, keys up to 200 and values up to 2000 characters."),
		func(o oaOp) {
			rows := g.input(service.LookupRowsInput{})
			o["requestBody"] = map[string]any{"required": true, "content": map[string]any{
				"text/csv":         map[string]any{"schema": map[string]any{"type": "string"}},
				"application/json": map[string]any{"schema": rows}}}
		},
		ok("200", "The table with its rows", g.ref(service.Lookup{})), problems("400", "404", "415", "422")))

	// ---- admin: triggers
	add("POST", "/v1/admin/triggers", admin("Create a postback trigger (its signing secret is returned once)",
		body(g.input(service.TriggerInput{}), true), ok("201", "Created, with secret", g.ref(oi.Trigger{})), problems("400", "422")))
	add("GET", "/v1/admin/triggers", admin("List triggers (all; nextCursor is always null)", query("customerId", "one customer's triggers"),
		ok("200", "Triggers", g.list(oi.Trigger{}))))
	add("GET", "/v1/admin/triggers/{id}", admin("A trigger", ok("200", "The trigger", g.ref(oi.Trigger{})), problems("404")))
	add("PATCH", "/v1/admin/triggers/{id}", admin("Change a trigger", body(g.input(service.TriggerInput{}), true),
		ok("200", "Changed", g.ref(oi.Trigger{})), problems("400", "404", "422")))
	add("POST", "/v1/admin/triggers/{id}/rotate-secret", admin("Rotate the signing secret (the old one signs for 24 h more)",
		ok("200", "The trigger with its new secret", g.ref(oi.Trigger{})), problems("404")))
	add("POST", "/v1/admin/triggers/{id}/test", admin("Render the trigger on an event's sample and send it once",
		body(g.input(service.TestPostbackInput{}), false),
		ok("202", "The test postback, queued", g.ref(service.TestPostbackAccepted{})), problems("400", "404", "422", "503")))

	// ---- admin: work settings
	add("GET", "/v1/admin/settings/smtp", admin("The outgoing mail server (password never shown)",
		ok("200", "Settings", g.ref(oi.SMTPSettings{}))))
	add("PUT", "/v1/admin/settings/smtp", admin("Replace the outgoing mail server settings", body(g.input(service.SMTPInput{}), true),
		ok("200", "Saved", g.ref(oi.SMTPSettings{})), problems("400", "422")))
	add("GET", "/v1/admin/settings/alerts", admin("Operator alerts: who is told when a trigger or a printer fails",
		ok("200", "Settings", g.ref(service.AlertSettingsView{}))))
	add("PUT", "/v1/admin/settings/alerts", admin("Replace the operator alert settings", body(g.input(service.AlertInput{}), true),
		ok("200", "Saved (with the webhook's signing secret when one was made)", g.ref(service.AlertSettingsView{})), problems("400", "422")))

	// ---- admin: Requests and Postbacks views
	add("GET", "/v1/admin/requests", admin("Requests view: orders newest first",
		append(append([]oaOpt{}, listParams...),
			queryEnum("status", "only orders in this status", orderStatusEnum),
			query("printerId", "only orders routed to this printer"),
			query("reference", "order reference prefix"),
			query("q", "free text: part of the order reference (any case), or an exact order id or idempotency key"),
			ok("200", "A page of orders", g.list(service.RequestSummary{})), problems("422"))...))
	add("GET", "/v1/admin/requests/{id}", admin("One order: the four stages, the event timeline and its postbacks",
		ok("200", "The order", g.ref(service.RequestDetail{})), problems("404")))
	add("POST", "/v1/admin/requests/{id}/cancel", admin("Cancel an order as its customer would (the same service as POST /v1/orders/{id}/cancel)",
		ok("200", "Canceled", g.ref(service.CancelAnswer{})), ok("202", "The printer's verdict is pending", g.ref(service.CancelAnswer{})),
		problems("400", "404", "409", "413", "415", "422", "503")))
	add("POST", "/v1/admin/requests/{id}/resubmit", admin("Send a failed order again (current template version; same order id and workflow)",
		ok("202", "The new try is under way", g.ref(service.ResubmitAnswer{})), problems("404", "409", "503")))
	add("POST", "/v1/admin/requests/resubmit", admin("Send every failed order of a customer received in [from, to) again",
		body(g.input(service.BulkResubmit{}), true),
		ok("202", "What was resubmitted, and what was skipped and why", g.ref(service.BulkResubmitAnswer{})),
		problems("400", "404", "422")))
	add("GET", "/v1/admin/postbacks", admin("Postbacks view: deliveries newest first",
		append(append([]oaOpt{}, listParams...),
			queryEnum("status", "only postbacks in this status", postbackStatusEnum),
			queryEnum("event", "only this event", oi.Events),
			query("triggerId", "only this trigger's postbacks"),
			query("orderId", "only this order's postbacks"),
			query("reference", "order reference prefix"),
			query("q", "free text: part of the order reference, or an exact order, idempotency key or postback id"),
			ok("200", "A page of postbacks", g.list(service.PostbackView{})), problems("422"))...))
	add("GET", "/v1/admin/postbacks/{id}", admin("One postback with every attempt",
		ok("200", "The postback", g.ref(service.PostbackDetail{})), problems("404")))
	add("POST", "/v1/admin/postbacks/{id}/resend", admin("Resend one postback now (a new attempt series)",
		ok("202", "Queued", g.ref(service.SeriesAccepted{})), problems("404", "409", "503")))
	add("POST", "/v1/admin/postbacks/resend", admin("Resend in bulk by time window, status and trigger",
		body(g.input(service.BulkResendInput{}), true), ok("202", "Queued", g.ref(service.BulkResendAccepted{})), problems("400", "422", "503")))

	doc := map[string]any{
		"openapi":           "3.1.0",
		"jsonSchemaDialect": "https://spec.openapis.org/oas/3.1/dialect/base",
		"info": map[string]any{"title": "orderintake", "version": "1",
			"description": "Order intake and postback gateway for print-on-demand. Errors are application/problem+json " +
				"with code, detail and field (line and column for bodies and templates). Lists answer {items, nextCursor}, " +
				"newest first, keyset-paginated: pass nextCursor back as cursor; rows that arrive meanwhile never shift a page."},
		"servers": []any{map[string]any{"url": "/"}},
		"tags": []any{
			map[string]any{"name": "Orders", "description": "customers' systems (X-API-KEY: a customer key)"},
			map[string]any{"name": "Printers", "description": "printers (X-API-KEY: a printer key)"},
			map[string]any{"name": "Admin", "description": "operators (Authorization: Bearer <admin token>)"},
			map[string]any{"name": "Operations", "description": "health, metrics and this document"},
		},
		"paths": paths,
		"components": map[string]any{
			"securitySchemes": map[string]any{
				"adminToken": map[string]any{"type": "http", "scheme": "bearer", "description": "ORDERINTAKE_ADMIN_TOKEN"},
				"apiKey":     map[string]any{"type": "apiKey", "in": "header", "name": "X-API-KEY"},
			},
			"schemas": g.components(),
		},
	}
	return doc
}

// operationName turns /v1/admin/customers/{id}/keys into AdminCustomersIdKeys.
func operationName(path string) string {
	var b strings.Builder
	for _, part := range strings.FieldsFunc(path, func(r rune) bool { return r == '/' || r == '{' || r == '}' || r == '-' || r == '.' }) {
		if part == "v1" {
			continue
		}
		b.WriteString(strings.ToUpper(part[:1]) + part[1:])
	}
	return b.String()
}
