# The two commands: `make demo` (the main job) and `make test` (everything CI runs).
# Both create .venv and install every dependency from this repository's own files.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PY := $(BIN)/python
BUF := node_modules/.bin/buf
INSTALLED := $(VENV)/.installed

PACKAGES := generated/python/pyproject.toml server/pyproject.toml \
            clients/python/pyproject.toml conformance/pyproject.toml
# The compiled front of the server (Rust, built by maturin with the toolchain's cargo, which
# rustup puts in ~/.cargo/bin: on the PATH here even where no login shell set it).
export PATH := $(HOME)/.cargo/bin:$(PATH)
CRATE := server/dataplane/Cargo.toml
DATAPLANE := server/dataplane/pyproject.toml server/dataplane/Cargo.toml \
             server/dataplane/Cargo.lock $(wildcard server/dataplane/src/*.rs)

GHZ := .tools/bin/ghz
GHZ_VERSION := v0.120.0
# The Go code generators buf.gen.yaml runs (.tools/bin/protoc-gen-go{,-grpc}), pinned; a
# stamp per version reinstalls them when a pin moves. TypeScript's, protoc-gen-es, is in
# package.json.
PROTOC_GEN_GO_VERSION := v1.36.12
PROTOC_GEN_GO_GRPC_VERSION := v1.6.2
PROTOC_GEN_GO := .tools/protoc-gen-go-$(PROTOC_GEN_GO_VERSION).stamp
PROTOC_GEN_GO_GRPC := .tools/protoc-gen-go-grpc-$(PROTOC_GEN_GO_GRPC_VERSION).stamp
CODEGEN := $(INSTALLED) $(BUF) $(PROTOC_GEN_GO) $(PROTOC_GEN_GO_GRPC)
GO_CLIENT := clients/go
TS_CLIENT := clients/typescript
TS_INSTALLED := $(TS_CLIENT)/node_modules/.installed

.PHONY: all install demo test lint format generate check-generated buf-lint buf-breaking pytest fuzz soak bench bench-data bench-annotation \
        bench-registry bench-training bench-edge bench-encryption clean \
        interop interop-install

all: test

$(INSTALLED): pyproject.toml $(PACKAGES) $(DATAPLANE)
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade "pip>=25.1"
	$(PY) -m pip install --quiet -e generated/python -e "server[ray]" -e clients/python -e conformance \
		./server/dataplane
	$(PY) -m pip install --quiet --group dev
	touch $@

$(BUF): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

# Label Studio's SDK (a numpy older than .venv's) gets its own virtualenv, built by the
# $(INTEROP)/%/.installed rule below from interop/requirements-interchange.txt, for the
# Label Studio read-back in tests/server/data/test_annotation_formats.py.
INTERCHANGE_INSTALLED := .venv-interop/interchange/.installed

$(TS_INSTALLED): $(TS_CLIENT)/package.json $(TS_CLIENT)/package-lock.json
	cd $(TS_CLIENT) && npm ci --no-audit --no-fund --loglevel=error
	touch $@

install: $(INSTALLED) $(BUF) $(INTERCHANGE_INSTALLED) $(TS_INSTALLED)

demo: install
	$(BIN)/lepton demo

test: install buf-lint buf-breaking check-generated lint pytest

buf-lint: $(BUF)
	$(BUF) lint
	$(BUF) format --diff --exit-code

buf-breaking: $(BUF)
	@tag=$$(git describe --tags --abbrev=0 2>/dev/null); \
	if [ -z "$$tag" ]; then \
		echo "buf breaking: SKIPPED - no release tag yet, so there is no baseline to compare against"; \
	else \
		echo "buf breaking: comparing against $$tag"; \
		$(BUF) breaking --against ".git#tag=$$tag"; \
	fi

check-generated: $(CODEGEN)
	$(PY) tools/codegen.py --check

generate: $(CODEGEN)
	$(PY) tools/codegen.py

$(PROTOC_GEN_GO):
	GOBIN=$(abspath .tools/bin) go install google.golang.org/protobuf/cmd/protoc-gen-go@$(PROTOC_GEN_GO_VERSION)
	touch $@

$(PROTOC_GEN_GO_GRPC):
	GOBIN=$(abspath .tools/bin) go install google.golang.org/grpc/cmd/protoc-gen-go-grpc@$(PROTOC_GEN_GO_GRPC_VERSION)
	touch $@

lint: $(INSTALLED)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	cargo fmt --manifest-path $(CRATE) --check
	cargo clippy --quiet --manifest-path $(CRATE) --release --locked -- -D warnings
	@test -z "$$(gofmt -l $(GO_CLIENT))" || { gofmt -l $(GO_CLIENT); echo "gofmt: the files above are not formatted"; exit 1; }
	cd $(GO_CLIENT) && go vet ./...
	cd generated/go && go vet ./...

format: $(INSTALLED) $(BUF)
	$(BIN)/ruff format .
	cargo fmt --manifest-path $(CRATE)
	gofmt -w $(GO_CLIENT)
	$(BIN)/ruff check --fix .
	$(BUF) format --write

# Triton's virtualenv (~1 min) lets tests/interop certify a real Triton at the `oip` level.
# Two workers per CPU: most tests wait on servers, agents and timers rather than compute (one
# worker per CPU kept the CPUs 40% busy; two, 68%, and the run took 24 minutes instead of 37).
WORKERS = $(shell $(PY) -c 'import os; print(2 * len(os.sched_getaffinity(0)) \
	if hasattr(os, "sched_getaffinity") else 2 * os.cpu_count())')
pytest: $(INSTALLED) .venv-interop/triton/.installed $(INTERCHANGE_INSTALLED) $(TS_INSTALLED)
	$(BIN)/pytest -n $(WORKERS) --dist worksteal

# 100,000 generated requests to every RPC of a server with every layer (tests/support/rpc_fuzz.py;
# `make test` runs a slice of 1,500).
fuzz: install
	PYTHONPATH=tests $(PY) -m support.rpc_fuzz --examples 100000

# An hour of mixed load (inference at concurrency 64, dataset writes and reads, import jobs):
# errors, p99 latency per 10 s window and RSS growth (goal: under 5%). `make test` runs 2 minutes.
soak: install
	PYTHONPATH=tests $(PY) -m support.soak --seconds 3600 --report soak-report.json

# Side-by-side benchmarks (not part of `make test`: shared machines are too noisy for timing).
$(GHZ):
	GOBIN=$(abspath .tools/bin) go install github.com/bojand/ghz/cmd/ghz@$(GHZ_VERSION)

bench: install interop-install $(GHZ)
	$(PY) benchmarks/inference.py --ghz $(GHZ) --workers 2
	$(PY) benchmarks/data.py
	$(PY) benchmarks/registry.py
	$(PY) benchmarks/training.py
	$(PY) benchmarks/edge.py
	$(PY) benchmarks/annotation.py
	$(PY) benchmarks/encryption.py

bench-encryption: install
	$(PY) benchmarks/encryption.py

bench-edge: install
	$(PY) benchmarks/edge.py

bench-training: install
	$(PY) benchmarks/training.py

bench-registry: install
	$(PY) benchmarks/registry.py

bench-data: install
	$(PY) benchmarks/data.py

bench-annotation: install
	$(PY) benchmarks/annotation.py

# Real third-party OIP servers (Triton 2.51 from nvidia-pytriton, MLServer 1.7.1), each in its
# own virtualenv so their pins never touch .venv (whose protobuf stays < 7 for tritonclient).
# interop/servers.py starts each on a free 127.0.0.1 port with the conformance model set and
# writes the suite's reports under docs/certification/<server>/.
INTEROP := .venv-interop
INTEROP_SERVERS := triton mlserver
INTEROP_INSTALLED := $(foreach s,$(INTEROP_SERVERS),$(INTEROP)/$(s)/.installed)
# The profiles an OIP server can take; the data profiles do not apply to it. Each server's
# known-failing file lists the failures its report explains, so `make interop` fails when one
# of them changes.
INTEROP_PROFILES := --profile general --profile oip --profile inference-core \
                    --profile inference-extended

$(INTEROP)/%/.installed: interop/requirements-%.txt
	$(PYTHON) -m venv $(INTEROP)/$*
	$(INTEROP)/$*/bin/python -m pip install --quiet --upgrade "pip>=25.1"
	$(INTEROP)/$*/bin/python -m pip install --quiet -r $<
	touch $@

interop-install: $(INSTALLED) $(INTEROP_INSTALLED)

interop: interop-install
	@for server in $(INTEROP_SERVERS); do \
		$(PY) interop/servers.py run $$server --venv $(INTEROP)/$$server \
			--report-dir docs/certification/$$server $(INTEROP_PROFILES) \
			--known-failing docs/certification/$$server/known-failing.txt || exit 1; \
	done

clean:
	rm -rf $(VENV) $(INTEROP) node_modules .tools
