package api_test

import (
	"testing"

	"orderintake/internal/pgtest"
)

// Every test of package api gets its own database on one private cluster.
func TestMain(m *testing.M) { pgtest.Main(m) }
