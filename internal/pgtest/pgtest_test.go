package pgtest

import (
	"context"
	"errors"
	"testing"

	"github.com/jackc/pgx/v5"
)

func TestMain(m *testing.M) { Main(m) }

func TestURLGivesFreshDatabaseAndDropsIt(t *testing.T) {
	ctx := context.Background()
	var name string
	t.Run("use", func(t *testing.T) {
		u := URL(t)
		conn, err := pgx.Connect(ctx, u)
		if err != nil {
			t.Fatal(err)
		}
		// Left open on purpose: the drop must end it (FORCE).
		var tables int
		if err := conn.QueryRow(ctx, "SELECT current_database(), count(*) FROM pg_tables WHERE schemaname = 'public'").Scan(&name, &tables); err != nil {
			t.Fatal(err)
		}
		if tables != 0 {
			t.Fatalf("fresh database has %d tables", tables)
		}
		if _, err := conn.Exec(ctx, "CREATE TABLE x (id int)"); err != nil {
			t.Fatal(err)
		}
	})

	admin, err := server()
	if err != nil {
		t.Fatal(err)
	}
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = conn.Close(ctx) }()
	var exists bool
	if err := conn.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", name).Scan(&exists); err != nil {
		t.Fatal(err)
	}
	if exists {
		t.Fatalf("database %s still exists after its test ended", name)
	}
}

func TestParallelDatabasesAreDistinct(t *testing.T) {
	seen := make(chan string, 4)
	t.Run("group", func(t *testing.T) {
		for range 4 {
			t.Run("p", func(t *testing.T) {
				t.Parallel()
				seen <- URL(t)
			})
		}
	})
	close(seen)
	urls := map[string]bool{}
	for u := range seen {
		if urls[u] {
			t.Fatalf("URL %s handed out twice", u)
		}
		urls[u] = true
	}
}

func TestFromTemplateRunsSetupOncePerKey(t *testing.T) {
	ctx := context.Background()
	key := "k" + randomHex(4) // a key no earlier run left on a shared server
	setups := 0
	setup := func(ctx context.Context, url string) error {
		setups++
		conn, err := pgx.Connect(ctx, url)
		if err != nil {
			return err
		}
		defer conn.Close(ctx)
		_, err = conn.Exec(ctx, "CREATE TABLE marker (v text); INSERT INTO marker VALUES ('"+key+"')")
		return err
	}
	for i := range 3 {
		u := FromTemplate(t, key, setup)
		conn, err := pgx.Connect(ctx, u)
		if err != nil {
			t.Fatal(err)
		}
		var v string
		if err := conn.QueryRow(ctx, "SELECT v FROM marker").Scan(&v); err != nil {
			t.Fatalf("clone %d: %v", i, err)
		}
		// A clone is the test's own: writing to it leaves the template as it was.
		if _, err := conn.Exec(ctx, "DELETE FROM marker"); err != nil {
			t.Fatal(err)
		}
		_ = conn.Close(ctx)
		if v != key {
			t.Fatalf("clone %d has marker %q, want %q", i, v, key)
		}
	}
	if setups != 1 {
		t.Fatalf("setup ran %d times for one key, want 1", setups)
	}
	other := 0
	FromTemplate(t, key+"x", func(ctx context.Context, url string) error { other++; return nil })
	if other != 1 {
		t.Fatalf("a new key (changed migrations) ran setup %d times, want 1", other)
	}
}

func TestFromTemplateFailedSetupLeavesNoTemplate(t *testing.T) {
	key := "f" + randomHex(4)
	ctx := context.Background()
	admin, err := server()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := template(ctx, admin, key, func(context.Context, string) error { return errors.New("migration 3 failed") }); err == nil {
		t.Fatal("a failing setup gave a template")
	}
	ran := false
	FromTemplate(t, key, func(context.Context, string) error { ran = true; return nil })
	if !ran {
		t.Fatal("after a failed setup the next test reused the half-made template")
	}
}

// A database handed back is emptied for the next test: no rows of the test
// before, sequences restarted, the kept table untouched.
func TestFromTemplateReusesEmptiedDatabases(t *testing.T) {
	ctx := context.Background()
	key := "r" + randomHex(4)
	setup := func(ctx context.Context, url string) error {
		conn, err := pgx.Connect(ctx, url)
		if err != nil {
			return err
		}
		defer conn.Close(ctx)
		_, err = conn.Exec(ctx, "CREATE TABLE rows (id bigserial primary key, v text); CREATE TABLE version (n int); INSERT INTO version VALUES (7)")
		return err
	}
	var first string
	t.Run("writes", func(t *testing.T) {
		first = FromTemplate(t, key, setup, "version")
		conn, err := pgx.Connect(ctx, first)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, "INSERT INTO rows (v) VALUES ('a'), ('b')"); err != nil {
			t.Fatal(err)
		}
		// Left open on purpose: handing the database back must end it.
		_, _ = pgx.Connect(ctx, first)
	})
	t.Run("reuses", func(t *testing.T) {
		u := FromTemplate(t, key, setup, "version")
		if u != first {
			t.Fatalf("got %s, want the emptied %s again", u, first)
		}
		conn, err := pgx.Connect(ctx, u)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close(ctx)
		var n, version int
		var id int64
		if err := conn.QueryRow(ctx, "SELECT (SELECT count(*) FROM rows), (SELECT n FROM version)").Scan(&n, &version); err != nil {
			t.Fatal(err)
		}
		if err := conn.QueryRow(ctx, "INSERT INTO rows (v) VALUES ('c') RETURNING id").Scan(&id); err != nil {
			t.Fatal(err)
		}
		if n != 0 || version != 7 || id != 1 {
			t.Fatalf("reused database: %d old rows, kept table %d, next id %d; want 0, 7, 1", n, version, id)
		}
	})
}
