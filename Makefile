# Garde — `make help` lists the targets.
GO        ?= go
FUZZTIME  ?= 5s
BENCHTIME ?= 20s
export CGO_ENABLED ?= 1

.PHONY: help run build deps test test-short fuzz bench bench-micro bench-load lint check clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-12s %s\n", $$1, $$2}'

build: ## build bin/garde (static, pure Go) and bin/gardeload
	CGO_ENABLED=0 $(GO) build -trimpath -o bin/garde ./cmd/garde
	CGO_ENABLED=0 $(GO) build -trimpath -o bin/gardeload ./cmd/gardeload

run: build ## run Garde on embedded SQLite with the example inventory and sample customers (./garde-demo)
	./bin/garde demo

deps: ## install what the tests need beyond Go (chromium, the IAB TCF npm library)
	./scripts/deps.sh

test: deps ## vet, every test (race detector on), then each fuzz target briefly
	$(GO) vet ./...
	$(GO) test -race -count=1 ./...
	$(MAKE) fuzz

test-short: ## the tests without race detector and fuzzing
	$(GO) test -count=1 ./...

fuzz: ## run each fuzz target for FUZZTIME (default 5s)
	./scripts/fuzz.sh $(FUZZTIME)

bench: bench-micro bench-load ## every benchmark: micro (go test -bench) and the HTTP load test

bench-micro: ## go test benchmarks of the hot paths
	$(GO) test -run='^$$' -bench=. -benchmem -count=1 ./...

bench-load: build ## the collection load test: gardeload against garde serve in a temp dir
	./bench/load.sh $(BENCHTIME)

lint: ## gofmt, go vet and staticcheck
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || (gofmt -l $$(git ls-files '*.go'); echo "gofmt: files above need formatting"; exit 1)
	$(GO) vet ./...
	$(GO) run honnef.co/go/tools/cmd/staticcheck@v0.8.2 ./...

check: lint test ## lint and test

clean: ## remove build output and the demo's data
	rm -rf bin garde-demo
