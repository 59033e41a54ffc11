// Package testenv builds what tests of several packages share: a migrated
// store on a fresh real database, and a customer wired to a printer and a
// webhook receiver that tests run on loopback.
package testenv

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"net/http"
	"sync"
	"testing"

	oi "orderintake"
	"orderintake/delivery"
	"orderintake/internal/apiclient"
	"orderintake/internal/loopback"
	"orderintake/internal/pgtest"
	"orderintake/internal/seal"
	"orderintake/schema"
	"orderintake/store"
)

// MigratedURL returns the URL of an empty database holding the current
// schema: a clone of a template migrated once per server and schema, or
// one an earlier test used, emptied.
func MigratedURL(t testing.TB) string {
	t.Helper()
	// schema_version is tern's record of the migrations applied: kept when
	// a database is emptied for the next test.
	return pgtest.FromTemplate(t, "schema_"+migrationsHash(t), store.Migrate, "schema_version")
}

var (
	hashOnce sync.Once
	hashSum  string
	hashErr  error
)

// migrationsHash names the embedded migrations' content: a template made
// from other migrations has another name and is never reused.
func migrationsHash(t testing.TB) string {
	hashOnce.Do(func() {
		h := sha256.New()
		hashErr = fs.WalkDir(schema.Migrations, ".", func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			b, err := fs.ReadFile(schema.Migrations, path)
			if err != nil {
				return err
			}
			fmt.Fprintf(h, "%s %d\n", path, len(b))
			h.Write(b)
			return nil
		})
		hashSum = hex.EncodeToString(h.Sum(nil))[:16]
	})
	if hashErr != nil {
		t.Fatalf("testenv: hash migrations: %v", hashErr)
	}
	return hashSum
}

// Store returns a store on a fresh, migrated database.
func Store(t testing.TB) *store.Store {
	t.Helper()
	url := MigratedURL(t)
	ctx := context.Background()
	st, err := store.Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	return st
}

// Sealer returns a sealer with a random key.
func Sealer(t testing.TB) *seal.Sealer {
	s, err := seal.New(seal.NewKey())
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// Request is one request a loopback server got.
type Request = loopback.Request

// Server is the loopback printer and webhook receiver (internal/loopback).
type Server = loopback.Server

// NewServer starts a recording server that answers the statuses of script
// in turn (then 200), stopped when the test ends.
func NewServer(t testing.TB, script ...int) *Server {
	t.Helper()
	s, err := loopback.Start(script...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

// IntakeJSON maps {orderReferenceId, items[{sku, quantity}]} to the printer.
const IntakeJSON = `{"externalId": "{{ orderReferenceId }}", "lines": [{% for item in items %}{"sku": "{{ item.sku }}", "copies": {{ item.quantity }}}{% if not loop.last %}, {% endif %}{% endfor %}]}`

// WebhookJSON is a postback template.
const WebhookJSON = `{"event": "{{ event }}", "orderId": "{{ orderId }}", "orderReferenceId": "{{ orderReferenceId }}", "trackingCode": "{{ trackingCode }}"}`

// Fixture is a configured customer.
type Fixture struct {
	Customer *oi.Customer
	Printer  *oi.Printer
	Triggers map[string]*oi.Trigger // by event
	Secret   string                 // signing secret of every trigger
}

// Seed creates a printer at printerURL, an intake template, a customer and
// one active webhook trigger per event in events, pointing at receiverURL.
func Seed(t testing.TB, st *store.Store, sealer *seal.Sealer, printerURL, receiverURL string, events ...string) *Fixture {
	t.Helper()
	ctx := context.Background()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	f := &Fixture{Triggers: map[string]*oi.Trigger{}}
	var err error
	f.Printer, err = st.CreatePrinter(ctx, &oi.Printer{ID: oi.NewID("prn"), Name: "Test printer", URL: printerURL, Format: oi.FormatJSON, TimeoutMs: 5000})
	must(err)
	intake, err := st.CreateTemplate(ctx, &oi.Template{ID: oi.NewID("tpl"), Name: "intake", Kind: oi.KindIntake, Format: oi.FormatJSON, Body: IntakeJSON})
	must(err)
	hook, err := st.CreateTemplate(ctx, &oi.Template{ID: oi.NewID("tpl"), Name: "hook", Kind: oi.KindWebhook, Format: oi.FormatJSON, Body: WebhookJSON})
	must(err)
	f.Customer, err = st.CreateCustomer(ctx, &oi.Customer{ID: oi.NewID("cus"), Name: "Shop", ReferenceID: "shop-" + oi.NewID("r"),
		PrinterID: f.Printer.ID, IntakeTemplateID: intake.ID})
	must(err)
	f.Secret, err = delivery.NewSecret()
	must(err)
	for _, ev := range events {
		tr, err := st.CreateTrigger(ctx, &oi.Trigger{ID: oi.NewID("trg"), CustomerID: f.Customer.ID, Name: ev, Event: ev,
			Method: oi.MethodURL, TemplateID: hook.ID, Format: oi.FormatJSON, URL: receiverURL, RetryOnFailure: true,
			Status: oi.TriggerActive}, sealer.Seal(f.Secret))
		must(err)
		f.Triggers[ev] = tr
	}
	return f
}

// API is the shared test client of the API (internal/apiclient): a
// transport error fails the test.
type API struct {
	T testing.TB
	*apiclient.Client
}

// NewAPI is a client of the API at baseURL.
func NewAPI(t testing.TB, baseURL, adminToken string) *API {
	return &API{T: t, Client: &apiclient.Client{BaseURL: baseURL, AdminToken: adminToken}}
}

func (a *API) must(r *apiclient.Response, err error) *apiclient.Response {
	a.T.Helper()
	if err != nil {
		a.T.Fatal(err)
	}
	return r
}

// Call makes one request and decodes a JSON answer.
func (a *API) Call(method, path string, hdr map[string]string, body string) (int, map[string]any, http.Header) {
	a.T.Helper()
	r := a.must(a.Do(context.Background(), method, path, hdr, []byte(body)))
	return r.Status, r.JSON(), r.Header
}

// MustAdmin is an admin call that must answer want.
func (a *API) MustAdmin(method, path string, body any, want int) map[string]any {
	a.T.Helper()
	r := a.must(a.Admin(context.Background(), method, path, body))
	if r.Status != want {
		a.T.Fatalf("%s %s = %d %s, want %d", method, path, r.Status, r.Body, want)
	}
	return r.JSON()
}

// Submit posts an order with a customer key.
func (a *API) Submit(customerKey, contentType, body string, hdr map[string]string) (int, map[string]any) {
	a.T.Helper()
	r := a.must(a.SubmitOrder(context.Background(), customerKey, contentType, []byte(body), hdr))
	return r.Status, r.JSON()
}

// Event reports an event as a printer.
func (a *API) Event(printerKey, orderID string, ev any) (int, map[string]any) {
	a.T.Helper()
	r := a.must(a.SendEvent(context.Background(), printerKey, orderID, ev))
	return r.Status, r.JSON()
}
