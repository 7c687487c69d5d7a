# Tiski: the two commands of the README are `make demo` and `make test`.
GO ?= go
BIN := bin/tiski
VERSION ?= $(shell git describe --always --dirty 2>/dev/null || echo dev)
GOFLAGS_BUILD := -trimpath -ldflags "-s -w -X main.version=$(VERSION)"

.PHONY: all build web demo serve test test-unit test-long test-pg test-web test-browser vet fmt-check fuzz clean bench bench-quick bench-browser

all: build

# Front-end tools come from package-lock.json; reinstalled when it changes.
node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund

# The widget and the console, built into web/dist and embedded in the binary.
web: node_modules/.package-lock.json
	node web/build.mjs

build: web
	CGO_ENABLED=0 $(GO) build $(GOFLAGS_BUILD) -o $(BIN) ./cmd/tiski

# Run Tiski on its embedded database with a demo shop on a second origin.
demo: build
	./$(BIN) demo

serve: build
	./$(BIN) serve

# The whole test suite: formatting, vet, unit and store tests with the race
# detector, the realtime, process-kill and fuzz-seed tests, the front-ends'
# type check and the browser tests in headless Chromium.
test: fmt-check vet build test-unit test-long test-pg test-web test-browser

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet ./...

# Fast packages run under the race detector.
test-unit:
	$(GO) test -race -count=1 -timeout 10m $$($(GO) list ./... | grep -v -e /internal/realtime$$ -e /e2e$$)

# Long scenario tests (many clients, killed processes) run without -race,
# which would slow them tenfold.
test-long:
	$(GO) test -count=1 -timeout 15m ./internal/realtime/ ./e2e/

# The store, API and realtime suites again on the scale-out engines:
# PostgreSQL (a schema per test) and NATS (a subject prefix per test).
# Without -race: the unit run above already races the same code.
# Outside CI a machine without PostgreSQL skips this, loudly.
PG_URL ?= postgres://127.0.0.1:5432/test?sslmode=disable
NATS_URL ?= nats://127.0.0.1:4222
test-pg:
	@if [ "$$CI" != "true" ] && ! bash -c "exec 3<>/dev/tcp/127.0.0.1/5432" 2>/dev/null; then \
		echo "SKIPPING test-pg: no PostgreSQL on 127.0.0.1:5432 (CI always runs it)"; exit 0; fi; \
	TISKI_TEST_DB=postgres TISKI_TEST_PG_URL='$(PG_URL)' TISKI_TEST_BUS=nats TISKI_TEST_NATS_URL='$(NATS_URL)' $(GO) test -count=1 -timeout 10m \
		$$($(GO) list ./internal/... | grep -v -e /internal/bench$$)

# Type-check the front-ends' TypeScript (esbuild only strips the types).
test-web: node_modules/.package-lock.json
	@if ls web/widget/*.ts web/console/*.ts* >/dev/null 2>&1; then npx tsc -p web --noEmit; fi

# Real headless Chromium against the built binary's demo.
test-browser: build
	node --test --test-concurrency=1 e2e/browser/

# Fuzz each decoder for a while (not part of `make test`, which runs the
# seed corpora only).
fuzz:
	$(GO) test -run '^$$' -fuzz FuzzDecodeClientFrame -fuzztime 60s -fuzzminimizetime 2s ./internal/realtime/
	$(GO) test -run '^$$' -fuzz FuzzDecodeStrict -fuzztime 60s -fuzzminimizetime 2s ./internal/httpapi/
	$(GO) test -run '^$$' -fuzz FuzzReadMessage -fuzztime 60s -fuzzminimizetime 2s ./internal/realtime/wsproto/

# Benchmarks (docs/benchmarks.md): the built binary measures its own server,
# run as a child process on loopback; every figure also goes to bin/*.json.
# The cross-node phase uses this PostgreSQL (a schema of its own, dropped
# after) and a NATS server of its own, which it restarts mid-flow; if
# PostgreSQL is not reachable it says so and the rest runs. BENCH_BUS=nats://…
# puts the phase on that NATS server instead, without the restart.
BENCH_PG ?= postgres://127.0.0.1:5432/test?sslmode=disable
BENCH_BUS ?=
BENCH_FLAGS = --pg '$(BENCH_PG)' $(if $(BENCH_BUS),--bus '$(BENCH_BUS)')

bench: build
	./$(BIN) bench --size full --json bin/bench-full.json $(BENCH_FLAGS)
	$(BLOCKING) --runs $(BLOCKING_RUNS) --json bin/bench-blocking.json

bench-quick: build
	./$(BIN) bench --size quick --json bin/bench-quick.json $(BENCH_FLAGS)
	$(BLOCKING) --runs 3 --json bin/bench-blocking-quick.json

# Main-thread blocking of the widget and the console in headless Chromium,
# unthrottled and at 4× CPU slowdown: median and worst of BLOCKING_RUNS
# runs. Without Chromium it says so loudly and does not fail.
BLOCKING := node e2e/browser/blocking.mjs
BLOCKING_RUNS ?= 5
bench-browser: build
	$(BLOCKING) --runs $(BLOCKING_RUNS) --json bin/bench-blocking.json

clean:
	rm -rf bin web/dist/assets web/dist/*.js web/dist/manifest.json
