# towerbot — the commands a newcomer reaches for. `make help` lists them.

GO          ?= go
BIN         ?= bin/towerbot
# Extra flags for `go test`, e.g. make test GOTESTFLAGS='-race -count=1'.
GOTESTFLAGS ?=
# How long `make fuzz` fuzzes each target (the message parser, the masker,
# the WeCom callbacks' crypto and decoders).
FUZZTIME    ?= 30s
# The shared folder beside the repository (corpus and tools).
SHARED      ?= ../shared

.PHONY: help build run services test cover bench lint fuzz corpus clean

help: ## list the targets
	@grep -E '^[a-z]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/' | expand -t 10

build: ## build bin/towerbot
	$(GO) build -o $(BIN) .

run: build ## start towerbot with the embedded set-up: SQLite in ./data, demo roster, sandbox at http://127.0.0.1:8080/
	./$(BIN) serve

# go test prints nothing of a passing package, skipped tests included, so
# the test targets first say which MariaDB and Redis the tests will use and
# whether they answer (see README, "Tests and the services they use").
services: ## say whether the MariaDB and Redis the tests use answer (TOWERBOT_TEST_MYSQL_DSN, TOWERBOT_TEST_REDIS_ADDR)
	@$(GO) run ./internal/servicecheck

test: services ## run every test (MySQL/Redis tests skip when those are down, as `services` says; TOWERBOT_REQUIRE_SERVICES=1 fails instead)
	$(GO) test $(GOTESTFLAGS) ./...

cover: services ## run the tests with coverage into coverage.out and print the total
	$(GO) test $(GOTESTFLAGS) -coverprofile=coverage.out ./...
	$(GO) tool cover -func=coverage.out | tail -n 1

# The MariaDB database `make bench` seeds with a city (once: later runs
# time the city already there) to time the daily digest and the ranking.
BENCH_DB    ?= towerbot_bench
BENCH_DSN   ?= root@tcp(127.0.0.1:3306)/$(BENCH_DB)

bench: services build ## run the benchmarks, then time the digest and the ranking of a city in MariaDB (BENCH_DSN)
	$(GO) test -run '^$$' -bench . -benchmem ./...
	mysql -h 127.0.0.1 -u root -e 'CREATE DATABASE IF NOT EXISTS $(BENCH_DB)'
	TOWERBOT_DB_DRIVER=mysql TOWERBOT_DB_DSN='$(BENCH_DSN)' TOWERBOT_DEMO=false ./$(BIN) seed --scale city --bench

lint: ## gofmt check and go vet
	@files=$$(gofmt -l .); if [ -n "$$files" ]; then echo "gofmt would change:"; echo "$$files"; exit 1; fi
	$(GO) vet ./...

fuzz: ## fuzz the message parser, the personal-number masker, the text splitter and the WeCom and DingTalk callbacks for FUZZTIME each (default 30s)
	$(GO) test -run '^$$' -fuzz '^FuzzParse$$' -fuzztime $(FUZZTIME) ./bot/parse
	$(GO) test -run '^$$' -fuzz '^FuzzMask$$' -fuzztime $(FUZZTIME) ./pii
	for f in FuzzDecrypt FuzzVerify FuzzEnvelopes FuzzMessages; do \
		$(GO) test -run '^$$' -fuzz "^$$f\$$" -fuzztime $(FUZZTIME) ./bot/wecom || exit 1; done
	$(GO) test -run '^$$' -fuzz '^FuzzCallback$$' -fuzztime $(FUZZTIME) ./bot/dingtalk
	$(GO) test -run '^$$' -fuzz '^FuzzSplitText$$' -fuzztime $(FUZZTIME) ./bot

corpus: build ## check `towerbot parse` against the shared corpus of worked examples
	python3 $(SHARED)/tools/corpuscheck.py --bin $(BIN) $(SHARED)/corpus/messages.jsonl

clean: ## remove build and coverage output (never ./data, which holds your database)
	rm -rf bin coverage.out coverage.html
