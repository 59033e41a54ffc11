# The README's two commands: `make dev` runs the product, `make test` tests it.
GO ?= go

.PHONY: dev test vet deps test-deps build build-nodev faults fuzz bench bench-goals bench-history bench-go editor-bundle

dev: deps
	$(GO) run ./cmd/orderintake dev

# Deterministic: each Fuzz target runs its seed corpus only (plain `go test`
# does that); time-based fuzzing is `make fuzz`, for developers.
test: test-deps vet
	$(GO) test -count=1 -timeout 60m ./...
	$(MAKE) faults

# Faults, load and bad input against the real binaries (build tag faults):
# worker killed, Postgres stopped, printer down, Temporal unreachable,
# SIGTERM, slow clients; FAULTS_LOAD_ORDERS sizes the load (default 300).
faults: test-deps
	$(GO) test -tags faults -count=1 -timeout 30m ./faults/

# Every Fuzz function of the tree, FUZZTIME each (found by name, so new ones
# are picked up without editing this file).
FUZZTIME ?= 20s
fuzz:
	@set -e; for dir in $$(grep -rl --include='*_test.go' '^func Fuzz' . | xargs -n1 dirname | sort -u); do \
		for fn in $$(grep -h '^func Fuzz' $$dir/*_test.go | sed 's/^func \(Fuzz[A-Za-z0-9_]*\).*/\1/'); do \
			echo "fuzz $$dir $$fn for $(FUZZTIME)"; \
			$(GO) test -run '^$$' -fuzz "^$$fn$$" -fuzztime $(FUZZTIME) $$dir; \
		done; \
	done

# Performance (README, Performance): the journey against the bare-Temporal
# floor, the admin queries over a million synthetic orders, and the pure-Go
# hot paths. `make test` runs the first two small, for completion and zero
# loss only (e2e TestBenchSmoke, internal/bench TestHistorySmoke).
BENCH_FLAGS ?=
bench: deps
	$(GO) run ./cmd/orderintake bench $(BENCH_FLAGS)

# Issue 14's goals: unpaced capacity, the sustained (paced) capacity search,
# paced at 80 % of the sustained one, 10 and 100 triggers per event; one
# table of figure, target, measured, met (~5-6 min quiet).
bench-goals: deps
	$(GO) run ./cmd/orderintake bench goals $(BENCH_FLAGS)

bench-history: deps
	$(GO) run ./cmd/orderintake bench history $(BENCH_FLAGS)

bench-go:
	$(GO) test -run '^$$' -bench . -benchmem ./mapper/ ./delivery/

# What running needs: PostgreSQL server binaries for dev's private cluster.
deps:
	@./scripts/ensure-postgres.sh

# What the tests need besides: Chromium for the HQ browser test, Python's
# jinja2 for the template compatibility tests (when that script exists).
test-deps: deps
	@./scripts/ensure-chromium.sh
	@if [ -x scripts/ensure-jinja2.sh ]; then ./scripts/ensure-jinja2.sh; fi

vet:
	@test -z "$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))" || { echo "gofmt needed:"; gofmt -l .; exit 1; }
	$(GO) vet ./...
	$(GO) vet -tags faults ./faults/

build:
	$(GO) build -o bin/orderintake ./cmd/orderintake

# The production binary: no embedded Temporal server or Web UI.
build-nodev:
	$(GO) build -tags nodev -o bin/orderintake ./cmd/orderintake

# The HQ template editor's bundle (CodeMirror 6 + a Jinja overlay): built
# from web/editor/src with the versions of web/editor/package-lock.json into
# web/editor/dist, which is committed and embedded (CI and `make dev` need
# no npm). Run after changing web/editor/src or package.json.
editor-bundle:
	cd web/editor && npm ci --no-audit --no-fund && node build.mjs
