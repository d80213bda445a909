# stowage: build, lab, demo and tests. See README.md.
SHELL := bash
.SHELLFLAGS := -eo pipefail -c

# go-ceph against Ceph 16 (Pacific) headers builds only with this tag; every
# go command here gets it. `make build-noceph` builds without Ceph at all.
export GOFLAGS := -tags=pacific
GO ?= go
BIN := bin/stowage

.PHONY: build build-noceph demo test test-fast bench bench-go lab-up lab-down lab-status lab-hypervisor vet clean

build:
	$(GO) build -o $(BIN) .

# A binary for hypervisors without Ceph's libraries: no cgo, RBD features
# say they are unavailable.
build-noceph:
	CGO_ENABLED=0 GOFLAGS=-tags=noceph $(GO) build -o bin/stowage-noceph .

lab-up:
	lab/up

lab-down:
	lab/down

lab-status:
	lab/status

# The nested hypervisor for LVM on iSCSI (builds its image on first use).
lab-hypervisor: lab-up
	lab/hypervisor up

# The newcomer's first command: the lab, then the console on it.
demo: lab-up build
	$(BIN) --uri qemu:///system

# Everything, on the real lab: brought up (and installed) first, required by
# the tests (STOWAGE_LAB=require turns "skip without the lab" into a
# failure), then lab/down checked to leave no process behind (and the lab
# brought back up, so a second `make test` reuses it). Packages run one at a
# time (-p 1): they share one lab VM and one libvirtd, and a test comparing
# stowage's view with virsh's must not race another package's drive. The
# suite runs under the race detector; lab/test-summary fails the run on a
# data race, a failure, or a skip that lab/skip-allow does not list.
# -timeout 45m: go test's default 10 minutes is per package, and package
# cli's lab tests alone come near it on a loaded 2-core machine; CI's own
# limit (90 minutes) stays the bound.
test: lab-up
	@mkdir -p bin
	@echo "== go vet, gofmt"
	$(GO) vet ./...
	gofmt -l . | (! grep .)
	@echo "== nested hypervisor (LVM on iSCSI; the tests fail if it cannot start)"
	lab/hypervisor up
	@echo "== go test -race (integration tests required, nested-hypervisor tests on)"
	STOWAGE_NESTED=1 STOWAGE_LAB=require $(GO) test -race -p 1 -count=1 -timeout 45m -v ./... 2>&1 | tee bin/test.log | lab/test-summary
	@echo "== noceph build"
	CGO_ENABLED=0 GOFLAGS=-tags=noceph $(GO) test -count=1 ./ceph/ ./model/
	@echo "== lab/down leaves nothing running; lab/up brings it back"
	STOWAGE_LAB=require STOWAGE_LAB_CYCLE=1 $(GO) test -count=1 -run TestLabDownLeavesNothing -v ./lab/ 2>&1 | lab/test-summary

# Unit tests only: no lab needed, integration tests skip (the nested-
# hypervisor ones too: they run only with STOWAGE_NESTED=1).
test-fast:
	$(GO) test ./...

# Benchmarks, not tests: bench/run runs every part (inventory against
# virsh and libvirtd's own CPU, the console, a fleet of ssh hosts, the
# encryption engines) side by side on the lab and writes bench/REPORT.md and
# bench/results.json. BENCH_QUICK=1 for a short smoke run; BENCH_PARTS="…"
# for some parts only. Nothing here can fail `make test`.
bench: lab-up build
	bench/run

# Every Go benchmark of every package (the lab ones need the lab).
bench-go:
	$(GO) test -run '^$$' -bench . -benchmem ./...

vet:
	$(GO) vet ./...
	gofmt -l . | (! grep .)

clean:
	rm -rf bin
