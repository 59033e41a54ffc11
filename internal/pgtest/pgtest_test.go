package pgtest

import (
	"context"
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
