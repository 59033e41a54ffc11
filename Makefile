# The README's two commands: `make dev` runs the product, `make test` tests it.
GO ?= go

.PHONY: dev test vet deps build build-nodev

dev: deps
	$(GO) run ./cmd/orderintake dev

test: deps vet
	$(GO) test -count=1 -timeout 60m ./...

# PostgreSQL server binaries for the private clusters of dev and the tests.
deps:
	@./scripts/ensure-postgres.sh

vet:
	@test -z "$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))" || { echo "gofmt needed:"; gofmt -l .; exit 1; }
	$(GO) vet ./...

build:
	$(GO) build -o bin/orderintake ./cmd/orderintake

# The production binary: no embedded Temporal server or Web UI.
build-nodev:
	$(GO) build -tags nodev -o bin/orderintake ./cmd/orderintake
